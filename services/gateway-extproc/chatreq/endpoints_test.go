package chatreq

import (
	"errors"
	"testing"
)

func TestParseCompletionsPromptText(t *testing.T) {
	cases := []struct {
		name, body, text string
		stream           bool
	}{
		{"string", `{"model":"m","prompt":"say hi"}`, "say hi", false},
		{"strings joined", `{"model":"m","prompt":["one","two"],"stream":true}`, "one\ntwo", true},
		{"token ids", `{"model":"m","prompt":[1,2,3]}`, "", false},
		{"token id arrays", `{"model":"m","prompt":[[1,2],[3]]}`, "", false},
		{"empty array", `{"model":"m","prompt":[]}`, "", false},
		{"messages key is not chat", `{"model":"m","prompt":"p","messages":3}`, "p", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseCompletions([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.LastUser != 0 || len(r.Messages) != 1 || r.Messages[0].Role != "user" || r.LastUserText() != tc.text || r.Stream != tc.stream {
				t.Fatalf("view %+v", r)
			}
			out, _, err := r.Apply(&Rewrite{Model: "up"})
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseCompletions(out)
			if err != nil || again.Model != "up" || again.LastUserText() != tc.text {
				t.Fatalf("rewritten %s: %v", out, err)
			}
		})
	}
}

func TestParseEndpointErrors(t *testing.T) {
	cases := []struct {
		name, body  string
		embeddings  bool
		param, code string
	}{
		{"empty body", ``, true, "", "invalid_json"},
		{"not an object", `"x"`, true, "", "invalid_json"},
		{"no model", `{"input":"x"}`, true, "model", "missing_required_parameter"},
		{"model a number", `{"model":1,"input":"x"}`, true, "model", "invalid_type"},
		{"no input", `{"model":"m"}`, true, "input", "missing_required_parameter"},
		{"input null", `{"model":"m","input":null}`, true, "input", "invalid_type"},
		{"input object", `{"model":"m","input":{}}`, true, "input", "invalid_type"},
		{"input empty", `{"model":"m","input":[]}`, true, "input", "empty_array"},
		{"input mixed", `{"model":"m","input":["a",[1]]}`, true, "input", "invalid_type"},
		{"input nested strings", `{"model":"m","input":[["a"]]}`, true, "input", "invalid_type"},
		{"duplicate input", `{"model":"m","input":"a","input":"b"}`, true, "input", "duplicate_key"},
		{"no prompt", `{"model":"m"}`, false, "prompt", "missing_required_parameter"},
		{"prompt bool", `{"model":"m","prompt":true}`, false, "prompt", "invalid_type"},
		{"prompt mixed", `{"model":"m","prompt":[1,"a"]}`, false, "prompt", "invalid_type"},
		{"stream a string", `{"model":"m","prompt":"a","stream":"yes"}`, false, "stream", "invalid_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseCompletions
			if tc.embeddings {
				parse = ParseEmbeddings
			}
			_, err := parse([]byte(tc.body))
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != tc.param || ae.Code != tc.code {
				t.Fatalf("err = %#v, want param %q code %q", err, tc.param, tc.code)
			}
		})
	}
}

// Embeddings never stream: a stream member is left to the backend.
func TestParseEmbeddingsNeverStreams(t *testing.T) {
	r, err := ParseEmbeddings([]byte(`{"model":"m","input":"x","stream":true}`))
	if err != nil || r.Stream || len(r.Messages) != 0 || r.LastUser != -1 {
		t.Fatalf("view %+v, %v", r, err)
	}
}
