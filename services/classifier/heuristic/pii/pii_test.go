package pii

import (
	"testing"
	"unicode/utf8"
)

func TestDetect(t *testing.T) {
	d := New()
	cases := []struct {
		name     string
		text     string
		wantType string // "" means no entity at all
		wantSpan string
		minScore float64
	}{
		{"email", "write to jane.doe+x@example.co.uk today", Email, "jane.doe+x@example.co.uk", 1},
		{"us phone formatted", "call (415) 555-2671 now", Phone, "(415) 555-2671", 0.9},
		{"us phone dashes", "call 415-555-2671", Phone, "415-555-2671", 0.9},
		{"international phone", "ring +44 20 7946 0958 please", Phone, "+44 20 7946 0958", 0.9},
		{"bare ten digits is weak", "ref 4155552671", Phone, "4155552671", 0.5},
		{"visa spaced", "card 4111 1111 1111 1111 exp", CreditCard, "4111 1111 1111 1111", 1},
		{"amex dashed", "card 3782-822463-10005", CreditCard, "3782-822463-10005", 1},
		{"ssn", "my ssn is 123-45-6789.", SSN, "123-45-6789", 0.95},
		{"ssn bare with cue", "social security number: 123456789", SSN, "123456789", 0.9},
		{"iban spaced", "pay to DE89 3704 0044 0532 0130 00 thanks", IBAN, "DE89 3704 0044 0532 0130 00", 1},
		{"iban compact", "IBAN GB82WEST12345698765432", IBAN, "GB82WEST12345698765432", 1},
		{"ipv4", "server at 192.168.10.254 is down", IP, "192.168.10.254", 0.95},
		{"ipv6", "ping 2001:db8::8a2e:370:7334 now", IP, "2001:db8::8a2e:370:7334", 0.95},
		{"url", "see https://example.com/a?b=c.", URL, "https://example.com/a?b=c", 0.95},
		{"domain", "is openai.com up", Domain, "openai.com", 0.85},
		{"iso date", "born 1990-07-14", DateTime, "1990-07-14", 0.9},
		{"text date", "on March 3rd, 2021 we met", DateTime, "March 3rd, 2021", 0.9},
		{"numeric date", "due 12/31/2024", DateTime, "12/31/2024", 0.85},
		{"person after cue", "Hi, my name is Maria Gonzalez and I need help", Person, "Maria Gonzalez", 0.85},
		// negatives
		{"invalid luhn", "card 4111 1111 1111 1112", "", "", 0},
		{"ssn area 000", "ssn 000-12-3456", "", "", 0},
		{"ssn area 666", "ssn 666-12-3456", "", "", 0},
		{"ssn area 9xx", "ssn 900-12-3456", "", "", 0},
		{"ssn group 00", "ssn 123-00-4567", "", "", 0},
		{"ssn serial 0000", "ssn 123-45-0000", "", "", 0},
		{"invalid iban checksum", "pay DE88 3704 0044 0532 0130 00", "", "", 0},
		{"invalid ipv4", "version 999.1.1.1", "", "", 0},
		{"file name is not a domain", "open main.py and notes.md", "", "", 0},
		{"time is not ipv6", "meet at 12:30:45", "", "", 0},
		{"invalid date", "2024-13-45", "", "", 0},
		{"us phone bad area code", "call 115-555-2671", "", "", 0},
		{"plain number", "I have 3 apples and 42 pears", "", "", 0},
		{"lowercase name is not a person", "my name is nobody", "", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Detect(tc.text, nil)
			if tc.wantType == "" {
				if len(got) != 0 {
					t.Fatalf("want nothing, got %+v", got)
				}
				return
			}
			for _, e := range got {
				if e.Type == tc.wantType && tc.text[e.Start:e.End] == tc.wantSpan {
					if e.Score < tc.minScore {
						t.Fatalf("score %v < %v", e.Score, tc.minScore)
					}
					return
				}
			}
			t.Fatalf("want %s %q, got %+v", tc.wantType, tc.wantSpan, describe(tc.text, got))
		})
	}
}

func TestOverlapResolution(t *testing.T) {
	d := New()
	got := d.Detect("mail bob@mail.example.com or visit https://docs.example.org/x", nil)
	if len(got) != 2 || got[0].Type != Email || got[1].Type != URL {
		t.Fatalf("domains inside e-mail/URL must be dropped: %+v", got)
	}
}

func TestLuhnAndIBAN(t *testing.T) {
	if !luhn([]byte("79927398713")) || luhn([]byte("79927398710")) {
		t.Fatal("luhn")
	}
	if _, ok := validIBAN("NL91ABNA0417164300"); !ok {
		t.Fatal("NL iban should validate")
	}
	if _, ok := validIBAN("NL91ABNA041716430"); ok {
		t.Fatal("wrong length for NL must fail")
	}
}

func describe(text string, es []Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type+":"+text[e.Start:e.End])
	}
	return out
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "call +1 (415) 555-2671", "DE89 3704 0044 0532 0130 00", "a@b.co", "::1", "2001:db8::1", "\xff\xfe", "名字是 123-45-6789", "https://x.y/z?q=1", "1/1/99 12:00"} {
		f.Add(s)
	}
	d := New()
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range d.Detect(s, nil) {
			if e.Start < 0 || e.End > len(s) || e.Start >= e.End || e.Score <= 0 || e.Score > 1 {
				t.Fatalf("bad entity %+v for %q", e, s)
			}
			if utf8.ValidString(s) && !utf8.ValidString(s[e.Start:e.End]) {
				t.Fatalf("entity splits a rune: %+v in %q", e, s)
			}
		}
	})
}

func BenchmarkDetect(b *testing.B) {
	d := New()
	text := "Hi, I'm writing about my account. My email is jane@example.com and my phone is (415) 555-2671. " +
		"I was charged twice on card 4111 1111 1111 1111 on 2024-03-14, see https://bank.example.com/tx/42. " +
		"Please refund to DE89 3704 0044 0532 0130 00. The server 10.0.0.12 logged the request."
	b.ReportAllocs()
	var buf []Entity
	for b.Loop() {
		buf = d.Detect(text, buf[:0])
	}
}
