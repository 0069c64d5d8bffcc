package gateway

import "testing"

func TestHistoryEmbeddedInOneBatch(t *testing.T) {
	spec := testSpec()
	spec.HistoryTurns = 2
	emb, cls := &fakeEmbedder{}, &fakeClassifier{dec: &Decision{Name: "complex"}}
	g := newGateway(t, spec, Stages{Embedder: emb, Classifier: cls})
	_, imm, _ := chat(g, noHeaders, `{"model":"auto","messages":[
		{"role":"user","content":"a"},{"role":"assistant","content":"x"},
		{"role":"user","content":"bb"},{"role":"assistant","content":"y"},
		{"role":"user","content":"ccc"},{"role":"assistant","content":"z"},
		{"role":"user","content":"dddd"}]}`)
	if imm != nil {
		t.Fatalf("immediate %s", imm.Body)
	}
	if emb.calls != 1 {
		t.Fatalf("%d embed calls, want one batch", emb.calls)
	}
	rr := cls.last()
	// The fake embeds a text as [len(text), 1]: query "dddd", then "ccc", "bb".
	if rr.Embedding[0] != 4 || len(rr.History) != 2 || rr.History[0][0] != 3 || rr.History[1][0] != 2 {
		t.Fatalf("embedding %v history %v", rr.Embedding, rr.History)
	}
}
