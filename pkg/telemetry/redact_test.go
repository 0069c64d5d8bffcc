package telemetry_test

import (
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

func TestRedactURL(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"no credentials", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"user and password", "nats://svc:s3cret-pass@nats:4222", "nats://redacted@nats:4222"},
		{"token", "tls://tok3n-secret@nats.example:4222", "tls://redacted@nats.example:4222"},
		{"list", "nats://a:pw-one@n1:4222, nats://n2:4222", "nats://redacted@n1:4222,nats://n2:4222"},
		{"unparseable with credentials", "nats://us er:pw-x@%zz", "redacted"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := telemetry.RedactURL(c.in)
			if got != c.want {
				t.Fatalf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
			}
			for _, secret := range []string{"s3cret", "tok3n", "pw-"} {
				if strings.Contains(got, secret) {
					t.Fatalf("RedactURL(%q) = %q keeps %q", c.in, got, secret)
				}
			}
		})
	}
}
