package routes

import "testing"

func TestWithAPIVersion(t *testing.T) {
	tests := []struct {
		name, target, version, want string
	}{
		{"unset leaves the target", "/v1/chat/completions?a=1", "", "/v1/chat/completions?a=1"},
		{"path", "/v1/chat/completions", "2024-10-21", "/v1/chat/completions?api-version=2024-10-21"},
		{"url with a query", "https://x.example/chat?tenant=a", "v1", "https://x.example/chat?api-version=v1&tenant=a"},
		{"replaces the client's", "/v1/chat/completions?api-version=old", "new", "/v1/chat/completions?api-version=new"},
		{"escapes", "/c", "a b&c", "/c?api-version=a+b%26c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WithAPIVersion(tc.target, tc.version); got != tc.want {
				t.Errorf("WithAPIVersion(%q, %q) = %q, want %q", tc.target, tc.version, got, tc.want)
			}
		})
	}
}
