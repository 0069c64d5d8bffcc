package quality

import (
	"image"
	"image/color"
	"strings"
)

// A 5×7 bitmap font for plot labels: upper-case letters, digits and some
// punctuation. Lower-case letters are drawn upper-case; unknown runes as
// '?'. Each glyph is 7 rows of 5 columns ('#' = ink).
const (
	glyphW = 5
	glyphH = 7
)

func glyph(r rune) [glyphH]string {
	if r >= 'a' && r <= 'z' {
		r -= 'a' - 'A'
	}
	i := strings.IndexRune(fontChars, r)
	if i < 0 {
		i = strings.IndexRune(fontChars, '?')
	}
	var g [glyphH]string
	for row := range g {
		off := i*glyphW*glyphH + row*glyphW
		g[row] = fontBits[off : off+glyphW]
	}
	return g
}

// fontChars lists the glyphs of fontBits, in order.
const fontChars = " ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-+=_/()%<>?#@'"

// fontBits holds 35 cells per glyph (7 rows of 5, '#' = ink).
const fontBits = "" +
	"..................................." + // ' '
	".###.#...##...#######...##...##...#" + // 'A'
	"####.#...##...#####.#...##...#####." + // 'B'
	".###.#...##....#....#....#...#.###." + // 'C'
	"####.#...##...##...##...##...#####." + // 'D'
	"######....#....####.#....#....#####" + // 'E'
	"######....#....####.#....#....#...." + // 'F'
	".###.#...##....#.####...##...#.####" + // 'G'
	"#...##...##...#######...##...##...#" + // 'H'
	".###...#....#....#....#....#...###." + // 'I'
	"..###...#....#....#....#.#..#..##.." + // 'J'
	"#...##..#.#.#..##...#.#..#..#.#...#" + // 'K'
	"#....#....#....#....#....#....#####" + // 'L'
	"#...###.###.#.##.#.##...##...##...#" + // 'M'
	"#...##...###..##.#.##..###...##...#" + // 'N'
	".###.#...##...##...##...##...#.###." + // 'O'
	"####.#...##...#####.#....#....#...." + // 'P'
	".###.#...##...##...##.#.##..#..##.#" + // 'Q'
	"####.#...##...#####.#.#..#..#.#...#" + // 'R'
	".#####....#.....###.....#....#####." + // 'S'
	"#####..#....#....#....#....#....#.." + // 'T'
	"#...##...##...##...##...##...#.###." + // 'U'
	"#...##...##...##...##...#.#.#...#.." + // 'V'
	"#...##...##...##.#.##.#.##.#.#.#.#." + // 'W'
	"#...##...#.#.#...#...#.#.#...##...#" + // 'X'
	"#...##...#.#.#...#....#....#....#.." + // 'Y'
	"#####....#...#...#...#...#....#####" + // 'Z'
	".###.#...##..###.#.###..##...#.###." + // '0'
	"..#...##....#....#....#....#...###." + // '1'
	".###.#...#....#...#...#...#...#####" + // '2'
	"#####...#...#.....#.....##...#.###." + // '3'
	"...#...##..#.#.#..#.#####...#....#." + // '4'
	"######....####.....#....##...#.###." + // '5'
	"..##..#...#....####.#...##...#.###." + // '6'
	"#####....#...#...#...#....#....#..." + // '7'
	".###.#...##...#.###.#...##...#.###." + // '8'
	".###.#...##...#.####....#...#..##.." + // '9'
	"..........................##...##.." + // '.'
	".....................##....#...#..." + // ','
	"......##...##........##...##......." + // ':'
	"...............#####..............." + // '-'
	".......#....#..#####..#....#......." + // '+'
	"..........#####.....#####.........." + // '='
	"..............................#####" + // '_'
	".........#...#...#...#...#........." + // '/'
	"...#...#...#....#....#.....#.....#." + // '('
	".#.....#.....#....#....#...#...#..." + // ')'
	"##...##..#...#...#...#...#..##...##" + // '%'
	"...#...#...#...#.....#.....#.....#." + // '<'
	".#.....#.....#.....#...#...#...#..." + // '>'
	".###.#...#....#...#...#.........#.." + // '?'
	".#.#..#.#.#####.#.#.#####.#.#..#.#." + // '#'
	".###.#...##.####.#.##.####.....###." + // '@'
	"..#....#..........................." // '\''

// textWidth is the width in pixels of s at scale.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*(glyphW+1) - 1) * scale
}

// drawText draws s with its top-left corner at (x, y).
func drawText(img *image.RGBA, x, y int, s string, c color.Color, scale int) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			for col := 0; col < glyphW; col++ {
				if g[row][col] != '#' {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.Set(x+col*scale+dx, y+row*scale+dy, c)
					}
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}

// drawTextVertical draws s rotated 90° counter-clockwise (reading bottom to
// top) with its bottom-left corner at (x, y).
func drawTextVertical(img *image.RGBA, x, y int, s string, c color.Color, scale int) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			for col := 0; col < glyphW; col++ {
				if g[row][col] != '#' {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.Set(x+row*scale+dx, y-col*scale-dy, c)
					}
				}
			}
		}
		y -= (glyphW + 1) * scale
	}
}

// shorten cuts s to at most n runes, ending with '.' when cut.
func shorten(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "."
}
