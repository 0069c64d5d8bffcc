package telemetry

import (
	"net/url"
	"strings"
)

// RedactURL returns raw, a URL or a comma-separated list of them (as NATS
// takes), with the user information of each replaced by "redacted", so
// that it can be logged or put in an error: nats://user:pass@host and
// nats://token@host carry credentials. An entry that does not parse as a
// URL but holds an '@' is replaced whole.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "@") {
			parts[i] = p
			continue
		}
		u, err := url.Parse(p)
		if err != nil || u.Host == "" {
			parts[i] = "redacted"
			continue
		}
		if u.User != nil {
			u.User = url.User("redacted")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
