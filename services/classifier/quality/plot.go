package quality

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// Palette is the line colours used in order by the plots.
func Palette() []color.RGBA {
	return []color.RGBA{
		{31, 119, 180, 255},  // blue
		{214, 39, 40, 255},   // red
		{44, 160, 44, 255},   // green
		{148, 103, 189, 255}, // purple
		{255, 127, 14, 255},  // orange
		{23, 190, 207, 255},  // cyan
		{127, 127, 127, 255}, // grey
	}
}

// gridGrey is the colour of the grid lines.
func gridGrey() color.RGBA { return color.RGBA{225, 225, 225, 255} }

// Series is one line of a LineChart.
type Series struct {
	Name   string
	X, Y   []float64
	Color  color.RGBA
	Dashed bool
	// Markers draws a small square at every point.
	Markers bool
}

// LineChart is an x–y plot of one or more series.
type LineChart struct {
	Title, XLabel, YLabel string
	// XMin..XMax and YMin..YMax are the axis ranges; when a range is empty
	// (min ≥ max) it is taken from the data.
	XMin, XMax, YMin, YMax float64
	Series                 []Series
	// LegendLeft puts the legend in the lower-left corner (default lower-right).
	LegendLeft bool
}

const (
	scale      = 2 // font scale
	marginL    = 90
	marginR    = 30
	marginT    = 50
	marginB    = 70
	tickCount  = 5
	lineStroke = 2
)

// Render draws the chart into a w×h image.
func (c LineChart) Render(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	xmin, xmax, ymin, ymax := c.XMin, c.XMax, c.YMin, c.YMax
	if xmin >= xmax {
		xmin, xmax = c.dataRange(func(s Series) []float64 { return s.X })
	}
	if ymin >= ymax {
		ymin, ymax = c.dataRange(func(s Series) []float64 { return s.Y })
	}
	pl, pr, pt, pb := marginL, w-marginR, marginT, h-marginB
	px := func(x float64) int { return pl + int(math.Round((x-xmin)/(xmax-xmin)*float64(pr-pl))) }
	py := func(y float64) int { return pb - int(math.Round((y-ymin)/(ymax-ymin)*float64(pb-pt))) }

	// grid, ticks and tick labels
	for i := 0; i <= tickCount; i++ {
		fx := xmin + float64(i)*(xmax-xmin)/tickCount
		fy := ymin + float64(i)*(ymax-ymin)/tickCount
		x, y := px(fx), py(fy)
		vline(img, x, pt, pb, gridGrey())
		hline(img, pl, pr, y, gridGrey())
		lx := tickLabel(fx, xmax-xmin)
		drawText(img, x-textWidth(lx, scale)/2, pb+8, lx, color.Black, scale)
		ly := tickLabel(fy, ymax-ymin)
		drawText(img, pl-8-textWidth(ly, scale), y-glyphH*scale/2, ly, color.Black, scale)
	}
	// frame
	hline(img, pl, pr, pt, color.Black)
	hline(img, pl, pr, pb, color.Black)
	vline(img, pl, pt, pb, color.Black)
	vline(img, pr, pt, pb, color.Black)
	// titles
	drawText(img, (w-textWidth(c.Title, scale))/2, 14, c.Title, color.Black, scale)
	drawText(img, (pl+pr-textWidth(c.XLabel, scale))/2, h-28, c.XLabel, color.Black, scale)
	drawTextVertical(img, 14, (pt+pb+textWidth(c.YLabel, scale))/2, c.YLabel, color.Black, scale)

	clip := image.Rect(pl, pt, pr+1, pb+1)
	for _, s := range c.Series {
		n := min(len(s.X), len(s.Y))
		dash := 0
		for i := 1; i < n; i++ {
			dash = line(img, clip, px(s.X[i-1]), py(s.Y[i-1]), px(s.X[i]), py(s.Y[i]), s.Color, s.Dashed, dash)
		}
		if s.Markers || n == 1 {
			for i := 0; i < n; i++ {
				fillRect(img, clip, px(s.X[i])-3, py(s.Y[i])-3, 7, 7, s.Color)
			}
		}
	}
	c.legend(img, pl, pr, pb)
	return img
}

func (c LineChart) dataRange(get func(Series) []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, v := range get(s) {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return 0, 1
	}
	if lo == hi {
		return lo - 0.5, hi + 0.5
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

// legend draws the series names in a box in a lower corner.
func (c LineChart) legend(img *image.RGBA, left, right, bottom int) {
	if len(c.Series) == 0 {
		return
	}
	wide := 0
	for _, s := range c.Series {
		wide = max(wide, textWidth(s.Name, scale))
	}
	rowH := glyphH*scale + 8
	bw, bh := wide+50, len(c.Series)*rowH+10
	x0, y0 := right-bw-10, bottom-bh-10
	if c.LegendLeft {
		x0 = left + 10
	}
	all := img.Bounds()
	fillRect(img, all, x0, y0, bw, bh, color.White)
	hline(img, x0, x0+bw, y0, color.Black)
	hline(img, x0, x0+bw, y0+bh, color.Black)
	vline(img, x0, y0, y0+bh, color.Black)
	vline(img, x0+bw, y0, y0+bh, color.Black)
	for i, s := range c.Series {
		y := y0 + 8 + i*rowH
		line(img, all, x0+8, y+glyphH, x0+36, y+glyphH, s.Color, s.Dashed, 0)
		drawText(img, x0+42, y, s.Name, color.Black, scale)
	}
}

func tickLabel(v, span float64) string {
	switch {
	case span >= 50:
		return fmt.Sprintf("%.0f", v)
	case span >= 2:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

func fillRect(img *image.RGBA, clip image.Rectangle, x, y, w, h int, c color.Color) {
	draw.Draw(img, image.Rect(x, y, x+w, y+h).Intersect(clip), &image.Uniform{c}, image.Point{}, draw.Src)
}

// line draws a Bresenham line lineStroke pixels thick inside clip. For a
// dashed line, dash carries the pattern position between segments and is
// returned updated.
func line(img *image.RGBA, clip image.Rectangle, x0, y0, x1, y1 int, c color.Color, dashed bool, dash int) int {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		if !dashed || dash%12 < 7 {
			for ox := 0; ox < lineStroke; ox++ {
				for oy := 0; oy < lineStroke; oy++ {
					if p := (image.Point{X: x0 + ox, Y: y0 + oy}); p.In(clip) {
						img.Set(p.X, p.Y, c)
					}
				}
			}
		}
		dash++
		if x0 == x1 && y0 == y1 {
			return dash
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// Heatmap is a matrix plot (a confusion matrix): cell shade by Values
// (0..1), the count printed in each cell.
type Heatmap struct {
	Title        string
	XLabel       string // under the columns
	YLabel       string // beside the rows
	RowLabels    []string
	ColLabels    []string
	Values       [][]float64
	Counts       [][]int
	LabelLetters int // label length cut (default 11)
}

// ConfusionHeatmap builds the heatmap of a confusion matrix, each row
// shaded by its share of the true class.
func ConfusionHeatmap(title string, c Classification) Heatmap {
	h := Heatmap{Title: title, XLabel: "PREDICTED", YLabel: "TRUE", RowLabels: c.Labels, ColLabels: c.Labels, Counts: c.Confusion}
	for _, row := range c.Confusion {
		sum := 0
		for _, v := range row {
			sum += v
		}
		vals := make([]float64, len(row))
		for j, v := range row {
			vals[j] = ratio(v, sum)
		}
		h.Values = append(h.Values, vals)
	}
	return h
}

// Render draws the heatmap; the image size follows from the matrix size.
func (h Heatmap) Render() *image.RGBA {
	letters := h.LabelLetters
	if letters <= 0 {
		letters = 11
	}
	rows, cols := len(h.Values), 0
	if rows > 0 {
		cols = len(h.Values[0])
	}
	const cell = 44
	labelW := textWidth(string(make([]rune, letters)), scale) + 16
	left, top := labelW+30, 60+labelW
	w, hh := left+cols*cell+30, top+rows*cell+30
	img := image.NewRGBA(image.Rect(0, 0, w, hh))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	drawText(img, (w-textWidth(h.Title, scale))/2, 8, h.Title, color.Black, scale)
	drawTextVertical(img, 6, top+(rows*cell+textWidth(h.YLabel, scale))/2, h.YLabel, color.Black, scale)
	drawText(img, left+(cols*cell-textWidth(h.XLabel, scale))/2, 34, h.XLabel, color.Black, scale)
	for i := 0; i < rows; i++ {
		l := shorten(label(h.RowLabels, i), letters)
		drawText(img, left-8-textWidth(l, scale), top+i*cell+(cell-glyphH*scale)/2, l, color.Black, scale)
	}
	for j := 0; j < cols; j++ {
		l := shorten(label(h.ColLabels, j), letters)
		drawTextVertical(img, left+j*cell+(cell-glyphH*scale)/2, top-8, l, color.Black, scale)
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols && j < len(h.Values[i]); j++ {
			v := math.Max(0, math.Min(1, h.Values[i][j]))
			shade := color.RGBA{uint8(255 - 224*v), uint8(255 - 136*v), uint8(255 - 75*v), 255}
			fillRect(img, img.Bounds(), left+j*cell, top+i*cell, cell-1, cell-1, shade)
			if i < len(h.Counts) && j < len(h.Counts[i]) && h.Counts[i][j] > 0 {
				s := fmt.Sprint(h.Counts[i][j])
				ink := color.Color(color.Black)
				if v > 0.55 {
					ink = color.White
				}
				drawText(img, left+j*cell+(cell-textWidth(s, scale))/2, top+i*cell+(cell-glyphH*scale)/2, s, ink, scale)
			}
		}
	}
	return img
}

func label(ls []string, i int) string {
	if i < len(ls) {
		return ls[i]
	}
	return fmt.Sprint(i)
}

// WritePNG encodes img as a PNG file.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}
