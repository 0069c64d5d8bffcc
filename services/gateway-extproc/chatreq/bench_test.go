package chatreq

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParse measures the one parse every chat request gets (JSON
// validation, UTF-8 validation, the compact view) on the reference-shaped
// request and on a long conversation.
func BenchmarkParse(b *testing.B) {
	full, err := os.ReadFile(filepath.Join("testdata", "request_full.json"))
	if err != nil {
		b.Fatal(err)
	}
	var long strings.Builder
	long.WriteString(`{"model":"auto","messages":[`)
	for i := range 200 {
		if i > 0 {
			long.WriteByte(',')
		}
		long.WriteString(`{"role":"user","content":"` + strings.Repeat("héllo wörld ", 40) + `"}`)
	}
	long.WriteString(`]}`)
	for _, bc := range []struct {
		name string
		body []byte
	}{{"reference", full}, {"long_conversation", []byte(long.String())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				if _, err := Parse(bc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
