package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startDevllm runs `semrouter devllm` with args on a free loopback port and
// returns its base URL; the command stops when the test ends.
func startDevllm(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, append([]string{"devllm", "--addr", "127.0.0.1:0"}, args...), io.Discard, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("devllm: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("devllm did not announce its address: %v (%q)", err, line)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, rest, ok := strings.Cut(line, "listening on ")
	if !ok {
		t.Fatalf("unexpected first line %q", line)
	}
	url, _, _ := strings.Cut(rest, " ")
	return url
}

func chatBody(t *testing.T, size int) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"model":    "small-chat",
		"messages": []map[string]string{{"role": "user", "content": strings.Repeat("a ", size/2)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDevllmBodyLimit(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		size   int
		status int
	}{
		// The router accepts up to 10 MiB by default; the development
		// backend behind `make run` must not refuse what it forwards.
		{"default accepts what the router accepts", nil, 9 << 20, http.StatusOK},
		{"--max-body lowers the bound", []string{"--max-body", "1024"}, 4096, http.StatusRequestEntityTooLarge},
		{"--max-body keeps small bodies", []string{"--max-body", "1024"}, 100, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := startDevllm(t, tc.args...)
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(chatBody(t, tc.size)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
		})
	}
}

func TestDevllmRejectsNonPositiveMaxBody(t *testing.T) {
	_, _, code := runHere(t, "devllm", "--max-body", "0")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
}

func TestHelpShowsDefaults(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{
			name: "devllm names its listen address and body bound",
			args: []string{"devllm", "--help"},
			want: []string{"listen address (default 127.0.0.1:8809)", "(default 33554432)", "(default devllm)"},
		},
		{
			name: "a usage text that already names a default gets no second one",
			args: []string{"serve", "--help"},
			want: []string{"(default 127.0.0.1:9190; off disables)"},
			// zero defaults are not printed
			notWant: []string{"(default 0)", "(default 0s)", "(default false)", "(default )"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, code := runHere(t, tc.args...)
			if code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("help has %q:\n%s", w, out)
				}
			}
			if strings.Count(out, "default 127.0.0.1:9190") > 1 {
				t.Errorf("a default is printed twice:\n%s", out)
			}
		})
	}
}
