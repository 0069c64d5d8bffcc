package quality

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
)

// Report is a Markdown report with PNG figures, written to a folder as
// report.md next to its images.
type Report struct {
	title  string
	body   strings.Builder
	images []reportImage
}

type reportImage struct {
	file string
	img  image.Image
}

// NewReport starts a report.
func NewReport(title string) *Report { return &Report{title: title} }

// Heading adds a second-level heading.
func (r *Report) Heading(s string) { fmt.Fprintf(&r.body, "## %s\n\n", s) }

// Para adds a paragraph.
func (r *Report) Para(format string, args ...any) {
	fmt.Fprintf(&r.body, format, args...)
	r.body.WriteString("\n\n")
}

// Table adds a table; cells are escaped for '|'.
func (r *Report) Table(header []string, rows [][]string) {
	esc := func(cells []string) string {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		return "| " + strings.Join(out, " | ") + " |\n"
	}
	r.body.WriteString(esc(header))
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	r.body.WriteString("|" + strings.Join(sep, "|") + "|\n")
	for _, row := range rows {
		r.body.WriteString(esc(row))
	}
	r.body.WriteString("\n")
}

// Image adds a figure stored as file (a PNG name without folders).
func (r *Report) Image(file, alt string, img image.Image) {
	r.images = append(r.images, reportImage{file: file, img: img})
	fmt.Fprintf(&r.body, "![%s](%s)\n\n", alt, file)
}

// Markdown returns the report text.
func (r *Report) Markdown() string {
	return "# " + r.title + "\n\n" + r.body.String()
}

// Write creates dir and writes report.md and the images into it.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, im := range r.images {
		if filepath.Base(im.file) != im.file {
			return fmt.Errorf("write report: image name %q must not contain a folder", im.file)
		}
		if err := WritePNG(filepath.Join(dir, im.file), im.img); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// F formats a figure with 4 decimals.
func F(v float64) string { return fmt.Sprintf("%.4f", v) }
