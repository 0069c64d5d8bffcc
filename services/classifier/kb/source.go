package kb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Manifest is the JSON document at the root of a knowledge-base directory
// (source.manifest, default labels.json). It names every label and where
// its example texts are:
//
//	{
//	  "labels": {
//	    "billing": {"files": ["billing.txt"]},
//	    "chit_chat": {"files": ["chat.txt"], "examples": ["how are you today?"]}
//	  }
//	}
//
// Each file is UTF-8 text, relative to the directory and inside it, with
// one example per line; blank lines and lines starting with '#' are
// skipped. Inline examples are added after the files' examples. A label
// needs at least one example.
type Manifest struct {
	Labels map[string]ManifestLabel `json:"labels"`
}

// ManifestLabel lists one label's example sources.
type ManifestLabel struct {
	Description string   `json:"description,omitempty"`
	Files       []string `json:"files,omitempty"`
	Examples    []string `json:"examples,omitempty"`
}

// Source is a loaded knowledge base: its labels (sorted by name) and their
// example texts.
type Source struct {
	Labels []Label
}

// Label is one label and its example texts.
type Label struct {
	Name     string
	Examples []string
}

// Texts lists every example text of every label, in order.
func (s *Source) Texts() []string {
	var out []string
	for _, l := range s.Labels {
		out = append(out, l.Examples...)
	}
	return out
}

// Load reads the knowledge base in dir whose manifest is the file named
// manifest ("" means labels.json). Every problem of the manifest and its
// files is reported together.
func Load(dir, manifest string) (*Source, error) {
	if manifest == "" {
		manifest = "labels.json"
	}
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("knowledge base directory %q does not exist: %w", dir, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open knowledge base directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("knowledge base path %q is not a directory", dir)
	}
	mpath := filepath.Join(dir, manifest)
	data, err := os.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest %q (want {\"labels\": {\"<label>\": {\"files\": [...], \"examples\": [...]}}}): %w", mpath, err)
	}
	if len(m.Labels) == 0 {
		return nil, fmt.Errorf("manifest %q names no labels", mpath)
	}
	names := make([]string, 0, len(m.Labels))
	for n := range m.Labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	src := &Source{}
	for _, n := range names {
		ml := m.Labels[n]
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Errorf("manifest %q: a label has an empty name", mpath))
			continue
		}
		l := Label{Name: n}
		for _, f := range ml.Files {
			ex, err := readExamples(dir, f)
			if err != nil {
				errs = append(errs, fmt.Errorf("label %q: %w", n, err))
				continue
			}
			l.Examples = append(l.Examples, ex...)
		}
		for _, x := range ml.Examples {
			if x = strings.TrimSpace(x); x != "" {
				l.Examples = append(l.Examples, x)
			}
		}
		if len(l.Examples) == 0 {
			errs = append(errs, fmt.Errorf("label %q has no examples (manifest %q)", n, mpath))
			continue
		}
		src.Labels = append(src.Labels, l)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return src, nil
}

// readExamples reads one example per line of dir/name.
func readExamples(dir, name string) ([]string, error) {
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("example file %q must be a relative path inside the knowledge base directory", name)
	}
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read examples %q: %w", path, err)
	}
	return out, nil
}
