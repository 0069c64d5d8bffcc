package quality

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/domain"
)

func TestReportWritesDecodablePNGs(t *testing.T) {
	c, err := Classify([]string{"biology", "computer science", "law"}, []int{0, 1, 2, 2}, []int{0, 2, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	curve := PRCurve([]float64{0.9, 0.7, 0.4, 0.2}, []bool{true, false, true, false})
	var xs, ys []float64
	for _, b := range curve {
		xs, ys = append(xs, b.Recall), append(ys, b.Precision)
	}
	r := NewReport("Test report")
	r.Heading("Figures")
	r.Para("accuracy %s", F(c.Accuracy))
	r.Table([]string{"a", "b|c"}, [][]string{{"1", "x|y"}})
	r.Image("confusion.png", "confusion", ConfusionHeatmap("CONFUSION", c).Render())
	r.Image("pr.png", "pr", LineChart{Title: "PR", XLabel: "RECALL", YLabel: "PRECISION",
		Series: []Series{{Name: "model", X: xs, Y: ys, Color: Palette()[0]}, {Name: "point", X: []float64{0.5}, Y: []float64{0.5}, Color: Palette()[1], Markers: true, Dashed: true}}}.Render(640, 480))
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Test report", "## Figures", "accuracy 0.7500", `x\|y`, "![confusion](confusion.png)", "![pr](pr.png)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	for _, name := range []string{"confusion.png", "pr.png"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := img.Bounds()
		if b.Dx() < 200 || b.Dy() < 200 {
			t.Errorf("%s is only %v", name, b)
		}
		// something other than the white background was drawn, including
		// the line colour of the first series
		inked, blue := 0, 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				if c != (color.RGBA{255, 255, 255, 255}) {
					inked++
				}
				if c == Palette()[0] {
					blue++
				}
			}
		}
		if inked < 1000 {
			t.Errorf("%s: only %d inked pixels", name, inked)
		}
		if name == "pr.png" && blue < 50 {
			t.Errorf("pr.png: the series line is missing (%d pixels)", blue)
		}
	}
	if err := r.Write(filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	bad := NewReport("bad")
	bad.Image("../escape.png", "x", ConfusionHeatmap("X", c).Render())
	if err := bad.Write(dir); err == nil {
		t.Error("image name with a folder accepted")
	}
}

func TestFontCoversLabels(t *testing.T) {
	if len(fontBits) != len(fontChars)*glyphW*glyphH {
		t.Fatalf("font has %d cells for %d glyphs", len(fontBits), len(fontChars))
	}
	if glyph('a') != glyph('A') {
		t.Error("lower case is not drawn upper case")
	}
	if glyph('~') != glyph('?') {
		t.Error("unknown rune is not '?'")
	}
	if glyph('1') == glyph('7') {
		t.Error("distinct digits share a glyph")
	}
	if got := textWidth("ab", 2); got != (2*6-1)*2 {
		t.Errorf("width %d", got)
	}
	if shorten("computer science", 11) != "computer s." {
		t.Errorf("shorten: %q", shorten("computer science", 11))
	}
}

type fakeEmbedder struct{ calls, texts int }

// Embed is a deterministic fake for the cache test: the vector of a text
// is its length and its first byte.
func (f *fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	f.calls++
	f.texts += len(texts)
	out := make([][]float32, len(texts))
	for i, s := range texts {
		out[i] = []float32{float32(len(s)), float32(s[0])}
	}
	return out, nil
}

func (f *fakeEmbedder) Model() string { return "fake/model" }

func TestEmbedCache(t *testing.T) {
	c := EmbedCache{Dir: t.TempDir(), Chunk: 2}
	texts := []string{"ccc", "a", "bb", "dddd", "e"}
	f := &fakeEmbedder{}
	var last int
	v, cached, err := c.Embed(context.Background(), f, texts, func(done, total int) { last = done })
	if err != nil || cached {
		t.Fatalf("first call: cached %v err %v", cached, err)
	}
	if f.calls != 3 || last != len(texts) {
		t.Errorf("calls %d, progress %d", f.calls, last)
	}
	for i, s := range texts {
		if v[i][0] != float32(len(s)) || v[i][1] != float32(s[0]) {
			t.Errorf("vector %d = %v is not %q's (order lost)", i, v[i], s)
		}
	}
	v2, cached, err := c.Embed(context.Background(), f, texts, nil)
	if err != nil || !cached || f.calls != 3 {
		t.Fatalf("second call: cached %v calls %d err %v", cached, f.calls, err)
	}
	for i := range v {
		if v[i][0] != v2[i][0] || v[i][1] != v2[i][1] {
			t.Errorf("cached vector %d differs", i)
		}
	}
	if _, cached, _ := c.Embed(context.Background(), f, append(texts[:4:4], "changed"), nil); cached {
		t.Error("different texts hit the cache")
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "fake_model")); err != nil {
		t.Errorf("model folder name not sanitised: %v", err)
	}
}

func TestStandardizerFold(t *testing.T) {
	x := [][]float32{{1, 10}, {2, 30}, {3, 20}, {4, 50}}
	y := []int{0, 0, 1, 1}
	s := FitStandardizer(x)
	h, err := domain.Train(context.Background(), s.Apply(x), y, []string{"lo", "hi"}, domain.TrainOptions{Epochs: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	xs := s.Apply(x)
	var before [][]float64
	for _, v := range xs {
		p := make([]float64, 2)
		if _, err := h.Predict(v, p); err != nil {
			t.Fatal(err)
		}
		before = append(before, p)
	}
	s.Fold(h)
	for i, v := range x {
		p := make([]float64, 2)
		if _, err := h.Predict(v, p); err != nil {
			t.Fatal(err)
		}
		if !near32(p[0], before[i][0]) {
			t.Errorf("item %d: folded head gives %v, standardised %v", i, p[0], before[i][0])
		}
	}
}

func near32(a, b float64) bool { return a-b < 1e-4 && b-a < 1e-4 }

func TestTextModes(t *testing.T) {
	tests := []struct {
		mode TextMode
		in   string
		want string
	}{
		{TextRaw, "What is 2+2?", "What is 2+2?"},
		{TextClean, "What is  2+2 in   Base-3?", "what is in base?"},
		{TextTail, "short", "short"},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			if got := tc.mode.Apply(tc.in); got != tc.want {
				t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	long := strings.Repeat("word ", 100) + "the question?"
	if got := TextTail.Apply(long); len(got) > 300 || !strings.HasSuffix(got, "the question?") || strings.HasPrefix(got, "ord") {
		t.Errorf("tail %q", got)
	}
	if _, err := ParseTextMode("nope"); err == nil {
		t.Error("unknown mode accepted")
	}
}
