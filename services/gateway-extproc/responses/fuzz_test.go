package responses

import (
	"encoding/json"
	"testing"
)

// FuzzParseRequest: any body is refused with a 400 naming its problem or
// accepted, and an accepted one always renders a valid chat request.
func FuzzParseRequest(f *testing.F) {
	f.Add(readTestdata(f, "request_full.json"))
	f.Add([]byte(`{"model":"auto","input":"hi"}`))
	f.Add([]byte(`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"x"}]}]}`))
	f.Add([]byte(`{"model":"m","previous_response_id":"resp_1","tool_choice":{"type":"function","name":"f"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, aerr := ParseRequest(body, counterIDs())
		if aerr != nil {
			if aerr.Status != 400 || aerr.Message == "" || !json.Valid(aerr.Body()) {
				t.Fatalf("refusal %+v", aerr)
			}
			return
		}
		chat, err := req.ChatBody(req.Input)
		if err != nil {
			if _, ok := err.(interface{ Body() []byte }); !ok {
				t.Fatalf("accepted request does not translate: %v", err)
			}
			return
		}
		if !json.Valid(chat) {
			t.Fatalf("invalid chat body %s", chat)
		}
		if _, err := json.Marshal(NewResponse(req, "resp_1", 1)); err != nil {
			t.Fatal(err)
		}
	})
}
