package vectorstore

import (
	"errors"
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors the API maps to status codes.
var (
	// ErrUnsupportedFormat: the file's extension is not accepted (415).
	ErrUnsupportedFormat = errors.New("unsupported file format")
	// ErrTooLarge: the upload exceeds max_file_size_mb (413).
	ErrTooLarge = errors.New("file too large")
	// ErrNotFound: no such file or vector store for this caller (404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a request the store cannot act on (400).
	ErrInvalid = errors.New("invalid request")
)

// Extension is the lower-case extension of name, with the dot.
func Extension(name string) string { return strings.ToLower(filepath.Ext(name)) }

var (
	reScriptStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	reBlockTag    = regexp.MustCompile(`(?i)</?(p|div|br|h[1-6]|li|ul|ol|tr|table|section|article|header|footer|blockquote|pre)\b[^>]*>`)
	reTag         = regexp.MustCompile(`(?s)<[^>]*>`)
	reBlankLines  = regexp.MustCompile(`\n[ \t]*\n(\s*\n)*`)
)

// ExtractText returns the text of a file with extension ext: text-like
// formats as they are (valid UTF-8 required), HTML with its tags,
// scripts and styles removed and block elements turned into paragraph
// breaks. PDF and every other binary format is refused.
func ExtractText(ext string, data []byte) (string, error) {
	switch ext {
	case ".pdf":
		return "", fmt.Errorf("%w: %s: PDF text extraction is not available in semrouter; upload the document as .txt, .md or .html", ErrUnsupportedFormat, ext)
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%w: %s: the file is not UTF-8 text", ErrUnsupportedFormat, ext)
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	if ext == ".html" || ext == ".htm" {
		s = reScriptStyle.ReplaceAllString(s, " ")
		s = reBlockTag.ReplaceAllString(s, "\n\n")
		s = reTag.ReplaceAllString(s, " ")
		s = html.UnescapeString(s)
	}
	return strings.TrimSpace(s), nil
}

// Chunker splits text into overlapping passages. Tokens are counted as
// whitespace-separated words (close to sub-word tokens for English
// prose, and independent of the embedding model).
type Chunker struct {
	// MaxTokens is the most words of one chunk (0: DefaultChunkTokens).
	MaxTokens int
	// OverlapTokens is how many words of whole sentences at a chunk's end
	// the next chunk starts with (0: DefaultOverlapTokens; negative: none).
	OverlapTokens int
}

// unit is a sentence (or a window of a sentence too long for a chunk).
type unit struct {
	text  string
	words int
	// para: the unit starts a paragraph.
	para bool
}

// Chunk splits text: paragraphs (blank-line separated) are packed whole
// into chunks of at most MaxTokens words; a longer paragraph is split at
// sentence ends, and a sentence longer than MaxTokens into word windows.
// Each chunk after the first repeats the last sentences of the previous
// one, up to OverlapTokens words.
func (c Chunker) Chunk(text string) []string {
	maxT, overlap := c.MaxTokens, c.OverlapTokens
	if maxT <= 0 {
		maxT = DefaultChunkTokens
	}
	if overlap == 0 {
		overlap = DefaultOverlapTokens
	}
	if overlap >= maxT {
		overlap = maxT / 2
	}
	units := splitUnits(text, maxT)
	var out []string
	var b strings.Builder
	start := 0
	for start < len(units) {
		n, end := 0, start
		for end < len(units) && (end == start || n+units[end].words <= maxT) {
			n += units[end].words
			end++
		}
		b.Reset()
		for i := start; i < end; i++ {
			if i > start {
				if units[i].para {
					b.WriteString("\n\n")
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteString(units[i].text)
		}
		out = append(out, b.String())
		if end >= len(units) {
			break
		}
		// The next chunk starts with the tail sentences that fit in the
		// overlap, always making progress.
		next, w := end, 0
		for next-1 > start && overlap > 0 && w+units[next-1].words <= overlap {
			next--
			w += units[next].words
		}
		start = next
	}
	return out
}

// splitUnits cuts text into sentences (paragraph starts marked), with
// sentences longer than maxT words cut into windows of maxT words.
func splitUnits(text string, maxT int) []unit {
	var units []unit
	for _, para := range reBlankLines.Split(text, -1) {
		para = strings.Join(strings.Fields(para), " ")
		if para == "" {
			continue
		}
		first := true
		for _, s := range sentences(para) {
			words := strings.Fields(s)
			for len(words) > 0 {
				n := min(len(words), maxT)
				units = append(units, unit{text: strings.Join(words[:n], " "), words: n, para: first})
				words, first = words[n:], false
			}
		}
	}
	return units
}

// sentences splits a single-spaced paragraph after '.', '!' or '?'
// followed by a space and an upper-case letter, digit or quote.
func sentences(p string) []string {
	var out []string
	last := 0
	for i := 0; i+2 < len(p); i++ {
		switch p[i] {
		case '.', '!', '?':
		default:
			continue
		}
		if p[i+1] != ' ' {
			continue
		}
		r, _ := utf8.DecodeRuneInString(p[i+2:])
		if unicode.IsUpper(r) || unicode.IsDigit(r) || r == '"' || r == '\'' {
			out = append(out, p[last:i+1])
			last = i + 2
		}
	}
	return append(out, p[last:])
}
