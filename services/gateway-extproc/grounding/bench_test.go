package grounding

import (
	"context"
	"strings"
	"testing"
)

func benchInput() Input {
	tool := `{"results":[{"name":"Acme Corp","revenue_usd":12000000,"year":2023,"city":"Berlin"},` +
		`{"name":"Globex","revenue_usd":9500000,"year":2022,"city":"Lyon"}],"source":"annual filings"}`
	doc := strings.Repeat("Acme Corp opened a plant in Berlin on March 3, 2021 and hired 300 workers. ", 20)
	answer := "Acme Corp reported revenue of $12 million in 2023, ahead of Globex at 9.5 million. " +
		"Its Berlin plant opened on March 3, 2021 and employs 300 people. " +
		"Chief executive John Smith expects 15% growth next year, according to \"annual filings\"."
	return Input{Sources: []string{tool, doc}, Supporting: []string{"How did Acme Corp do in 2023?"}, Answer: answer}
}

// BenchmarkCheck is the lexical check of a three-sentence answer against
// a JSON tool result and a 1.5 KB passage.
func BenchmarkCheck(b *testing.B) {
	d := New(Options{})
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if v := d.Check(context.Background(), nil, in); !v.HallucinationDetected {
			b.Fatal("expected a flagged claim")
		}
	}
}

// BenchmarkCheckLong is the lexical check at the limits: a 32 KiB answer
// against 256 KiB of context.
func BenchmarkCheckLong(b *testing.B) {
	d := New(Options{})
	in := benchInput()
	in.Answer = strings.Repeat(in.Answer+" ", 200)
	in.Sources = []string{strings.Repeat(in.Sources[1], 200)}
	b.ReportAllocs()
	for b.Loop() {
		d.Check(context.Background(), nil, in)
	}
}
