package grounding

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	weather := `{"city":"Paris","temperature_c":18,"conditions":"light rain","wind_kmh":12,"updated":"2026-03-04"}`
	report := "Acme Corp reported revenue of $12 million for fiscal 2023, up from 9.5 million in 2022. " +
		"Chief executive Maria Lopez said the Berlin plant opened on March 3, 2021."
	for _, tc := range []struct {
		name       string
		in         Input
		detected   bool
		unverified bool
		checked    bool
		reasons    []string // reasons of the spans, in order
		missing    []string // every missing specific, in order
	}{
		{name: "supported numbers and names", checked: true,
			in: Input{Sources: []string{weather}, Answer: "It is 18°C in Paris with light rain and wind at 12 km/h."}},
		{name: "invented number", checked: true, detected: true, reasons: []string{ReasonNumber}, missing: []string{"23"},
			in: Input{Sources: []string{weather}, Answer: "Paris is at 23°C right now. Expect light rain."}},
		{name: "number from the user's question", checked: true,
			in: Input{Sources: []string{weather}, Supporting: []string{"Is it warmer than 15 degrees in Paris?"},
				Answer: "Yes, at 18°C it is warmer than 15 degrees."}},
		{name: "normalised numbers", checked: true,
			in: Input{Sources: []string{report}, Answer: "Revenue reached twelve million dollars in 2023, against 9.5 million in 2022."}},
		{name: "scale suffix", checked: true,
			in: Input{Sources: []string{report}, Answer: "Acme Corp made $12M in 2023."}},
		{name: "spelled-out small number is no specific", checked: true,
			in: Input{Sources: []string{report}, Answer: "There are two figures to compare: 2023 and 2022."}},
		{name: "invented name", checked: true, detected: true, reasons: []string{ReasonEntity}, missing: []string{"John Smith"},
			in: Input{Sources: []string{report}, Answer: "The chief executive of Acme Corp is John Smith."}},
		{name: "supported name with possessive", checked: true,
			in: Input{Sources: []string{report}, Answer: "According to the filing, Maria Lopez's company grew in 2023."}},
		{name: "sentence-initial word is no name", checked: true,
			in: Input{Sources: []string{report}, Answer: "Revenue grew strongly in 2023."}},
		{name: "supported date", checked: true,
			in: Input{Sources: []string{report}, Answer: "The Berlin plant opened on 3 March 2021."}},
		{name: "invented date", checked: true, detected: true, reasons: []string{ReasonDate}, missing: []string{"June 3, 2021"},
			in: Input{Sources: []string{report}, Answer: "The Berlin plant opened on June 3, 2021."}},
		{name: "iso date against a spelled date", checked: true,
			in: Input{Sources: []string{report}, Answer: "The Berlin plant opened 2021-03-03."}},
		{name: "supported quote", checked: true,
			in: Input{Sources: []string{`The manual says: "Do not operate the   press without guards."`},
				Answer: `The manual is clear: "do not operate the press without guards".`}},
		{name: "invented quote", checked: true, detected: true, reasons: []string{ReasonQuote}, missing: []string{"guards are optional"},
			in: Input{Sources: []string{`The manual says: "Do not operate the press without guards."`},
				Answer: `The manual says “guards are optional” for trained staff.`}},
		{name: "paraphrase without specifics passes", checked: true,
			in: Input{Sources: []string{weather}, Answer: "It is a wet, mild day, so take an umbrella."}},
		{name: "list markers and citations are no numbers", checked: true,
			in: Input{Sources: []string{report}, Answer: "1. Revenue was $12 million [1].\n2. The Berlin plant opened in 2021 [2]."}},
		{name: "code blocks and headings are skipped", checked: true,
			in: Input{Sources: []string{weather}, Answer: "## Weather Report For Paris 2099\n```\nx = 42\n```\nIt is 18°C in Paris."}},
		{name: "several claims, two flagged", checked: true, detected: true, reasons: []string{ReasonNumber, ReasonEntity},
			missing: []string{"21", "Lyon"},
			in:      Input{Sources: []string{weather}, Answer: "Paris has light rain. The temperature is 21°C. Winds are calm in Lyon too."}},
		{name: "no context, no flag: not checked",
			in: Input{Answer: "The Eiffel Tower is 330 metres tall."}},
		{name: "no context, fact-check flagged: unverified", unverified: true,
			in: Input{FactCheck: true, Answer: "The Eiffel Tower is 330 metres tall."}},
		{name: "fact-check flagged with context is checked", checked: true, detected: true, reasons: []string{ReasonNumber},
			missing: []string{"330"},
			in:      Input{FactCheck: true, Sources: []string{weather}, Answer: "The tower in Paris is 330 metres tall."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Options{}).Check(context.Background(), nil, tc.in)
			if v.Checked != tc.checked || v.HallucinationDetected != tc.detected || v.UnverifiedFactual != tc.unverified {
				t.Fatalf("checked=%v detected=%v unverified=%v, want %v %v %v; spans %+v",
					v.Checked, v.HallucinationDetected, v.UnverifiedFactual, tc.checked, tc.detected, tc.unverified, v.Spans)
			}
			var reasons, missing []string
			for _, s := range v.Spans {
				reasons = append(reasons, s.Reason)
				missing = append(missing, s.Missing...)
				if tc.in.Answer[s.Start:s.End] != s.Text {
					t.Errorf("span %d:%d is %q, text %q", s.Start, s.End, tc.in.Answer[s.Start:s.End], s.Text)
				}
				if s.Score < 0 || s.Score >= 1 {
					t.Errorf("span score %v out of [0,1)", s.Score)
				}
			}
			if !slices.Equal(reasons, tc.reasons) || !slices.Equal(missing, tc.missing) {
				t.Errorf("reasons %q missing %q, want %q %q", reasons, missing, tc.reasons, tc.missing)
			}
		})
	}
}

func TestCheckLimits(t *testing.T) {
	src := "The depot in Oslo holds 40 trucks."
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString("The depot in Oslo holds 40 trucks. ")
	}
	b.WriteString("The depot in Bergen holds 77 trucks.")
	long := b.String()
	t.Run("claims beyond MaxClaims are not checked", func(t *testing.T) {
		v := New(Options{}).Check(context.Background(), nil, Input{Sources: []string{src}, Answer: long})
		if !v.Truncated || v.Claims != DefaultLimits().MaxClaims || v.HallucinationDetected {
			t.Errorf("truncated=%v claims=%d detected=%v", v.Truncated, v.Claims, v.HallucinationDetected)
		}
	})
	t.Run("bytes beyond MaxAnswerBytes are not checked", func(t *testing.T) {
		d := New(Options{Limits: Limits{MaxAnswerBytes: 100, MaxClaims: 10000}})
		v := d.Check(context.Background(), nil, Input{Sources: []string{src}, Answer: long})
		if !v.Truncated || v.Claims > 3 {
			t.Errorf("truncated=%v claims=%d", v.Truncated, v.Claims)
		}
	})
	t.Run("context beyond MaxContextBytes is ignored", func(t *testing.T) {
		pad := strings.Repeat("filler text without facts. ", 100)
		d := New(Options{Limits: Limits{MaxContextBytes: 1000}})
		v := d.Check(context.Background(), nil, Input{Sources: []string{pad + src}, Answer: src})
		if !v.HallucinationDetected {
			t.Errorf("the number past the context cap was taken as support: %+v", v)
		}
	})
	t.Run("a long sentence with many numbers", func(t *testing.T) {
		nums := strings.Repeat("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 ", 5)
		v := New(Options{}).Check(context.Background(), nil, Input{Sources: []string{nums}, Answer: "Values " + nums + "and 99."})
		if len(v.Spans) != 1 || !slices.Equal(v.Spans[0].Missing, []string{"99"}) {
			t.Errorf("spans %+v", v.Spans)
		}
	})
}

func TestSplitSentences(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"periods", "One claim here. Another one! A third?", []string{"One claim here.", "Another one!", "A third?"}},
		{"decimals and abbreviations", "It rose 3.5% e.g. in the U.S. market. Dr. Who agreed.", []string{"It rose 3.5% e.g. in the U.S. market.", "Dr. Who agreed."}},
		{"closing quotes", `He said "stop." Then left.`, []string{`He said "stop."`, "Then left."}},
		{"lines", "- first item\n- second item", []string{"- first item", "- second item"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			splitSentences(tc.in, true, 1024, func(a, b int) bool { got = append(got, tc.in[a:b]); return true })
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
