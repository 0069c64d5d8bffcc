package kb_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/kb"
)

func TestLoadSupport(t *testing.T) {
	src, err := kb.Load(supportDir, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range src.Labels {
		names = append(names, l.Name)
		if len(l.Examples) < 9 {
			t.Errorf("label %s has %d examples", l.Name, len(l.Examples))
		}
		for _, x := range l.Examples {
			if strings.HasPrefix(x, "#") || x == "" {
				t.Errorf("label %s kept comment or blank %q", l.Name, x)
			}
		}
	}
	if want := []string{"billing", "chit_chat", "security_incident"}; !slices.Equal(names, want) {
		t.Errorf("labels %v, want %v", names, want)
	}
	// Inline examples follow the file's.
	chat := src.Labels[1].Examples
	if chat[len(chat)-1] != "Thanks so much, have a lovely evening!" {
		t.Errorf("inline example missing: %q", chat[len(chat)-1])
	}
	if n := len(src.Texts()); n != 30 {
		t.Errorf("Texts has %d examples, want 30", n)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name     string
		files    map[string]string // relative path → content; nil dir: not created
		manifest string
		want     []string
	}{
		{name: "missing directory", want: []string{"knowledge base directory", "does not exist"}},
		{name: "missing manifest", files: map[string]string{"a.txt": "x\n"}, want: []string{"read manifest", "labels.json"}},
		{name: "custom manifest missing", files: map[string]string{"labels.json": `{"labels":{"a":{"examples":["x"]}}}`}, manifest: "kb.json", want: []string{"read manifest", "kb.json"}},
		{name: "malformed json", files: map[string]string{"labels.json": `{"labels": [`}, want: []string{"decode manifest", "want {\"labels\""}},
		{name: "unknown field", files: map[string]string{"labels.json": `{"labels":{"a":{"file":"a.txt"}}}`}, want: []string{"decode manifest", `unknown field "file"`}},
		{name: "no labels", files: map[string]string{"labels.json": `{"labels":{}}`}, want: []string{"names no labels"}},
		{name: "missing example file", files: map[string]string{"labels.json": `{"labels":{"a":{"files":["a.txt"]}}}`}, want: []string{`label "a"`, "a.txt", "no such file"}},
		{name: "file outside directory", files: map[string]string{"labels.json": `{"labels":{"a":{"files":["../a.txt"]}}}`}, want: []string{`label "a"`, "inside the knowledge base directory"}},
		{name: "label without examples", files: map[string]string{"labels.json": `{"labels":{"a":{"files":["a.txt"]},"b":{"examples":["  "]}}}`, "a.txt": "# only a comment\n\n"}, want: []string{`label "a" has no examples`, `label "b" has no examples`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "kb")
			if tc.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for p, c := range tc.files {
					if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			_, err := kb.Load(dir, tc.manifest)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Load(f, ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Load(file) = %v", err)
	}
}
