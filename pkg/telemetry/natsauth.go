package telemetry

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// Environment variables of the NATS settings every service shares.
const (
	// EnvNATSUser supplies the default of --nats-user.
	EnvNATSUser = "SEMROUTER_NATS_USER"
	// EnvNATSPassword is the password of --nats-user when no
	// --nats-password-file is given. There is no password flag: a command
	// line is visible to every user of the host.
	EnvNATSPassword = "SEMROUTER_NATS_PASSWORD"
	// EnvNATSInboxPrefix supplies the default of --nats-inbox-prefix (when
	// unset or empty: DefaultInboxPrefix of the service).
	EnvNATSInboxPrefix = "SEMROUTER_NATS_INBOX_PREFIX"
)

// NATSFlags are the credential, TLS and reply-inbox flags of a NATS
// connection (AddNATSFlags).
type NATSFlags struct {
	user, passwordFile, creds string
	tlsCA, tlsCert, tlsKey    string
	inboxPrefix               string
	getenv                    func(string) string
}

// AddNATSFlags registers --nats-user, --nats-password-file, --nats-creds,
// --nats-tls-ca, --nats-tls-cert, --nats-tls-key and --nats-inbox-prefix
// on fs. The inbox prefix defaults to $SEMROUTER_NATS_INBOX_PREFIX, else
// DefaultInboxPrefix(serviceName) (nats.go's _INBOX for an empty name).
// getenv supplies the environment (nil: none).
func AddNATSFlags(fs *flag.FlagSet, serviceName string, getenv func(string) string) *NATSFlags {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a := &NATSFlags{getenv: getenv}
	fs.StringVar(&a.user, "nats-user", getenv(EnvNATSUser), "NATS user name; its password comes from --nats-password-file or $"+EnvNATSPassword+" (default: $"+EnvNATSUser+")")
	fs.StringVar(&a.passwordFile, "nats-password-file", "", "file holding the password of --nats-user (wins over $"+EnvNATSPassword+")")
	fs.StringVar(&a.creds, "nats-creds", "", "NATS .creds file (user JWT and NKey seed) for decentralized auth; excludes --nats-user")
	fs.StringVar(&a.tlsCA, "nats-tls-ca", "", "PEM file of the CA that signed the NATS server's certificate (turns TLS on)")
	fs.StringVar(&a.tlsCert, "nats-tls-cert", "", "PEM client certificate for NATS TLS (mutual TLS; needs --nats-tls-key)")
	fs.StringVar(&a.tlsKey, "nats-tls-key", "", "PEM private key of --nats-tls-cert")
	prefix := getenv(EnvNATSInboxPrefix)
	if prefix == "" {
		prefix = DefaultInboxPrefix(serviceName)
	}
	fs.StringVar(&a.inboxPrefix, "nats-inbox-prefix", prefix,
		"subject prefix of this process's reply inboxes (requests, JetStream API answers, KV watches); the NATS user must be allowed to subscribe to PREFIX.> (empty: nats.go's _INBOX; default: $"+EnvNATSInboxPrefix+", else _INBOX_<service>)")
	return a
}

// DefaultInboxPrefix is the reply-inbox prefix of a service: "_INBOX_"
// and the service name without "semrouter-" (semrouter-gateway:
// _INBOX_gateway, the name of its NATS user in deploy/*/nats.conf). A
// character other than a letter, a digit, '_' or '-' becomes '_'. It is
// "" (nats.go's _INBOX) for an empty name.
func DefaultInboxPrefix(serviceName string) string {
	name := strings.TrimPrefix(serviceName, "semrouter-")
	if name == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("_INBOX_")
	for _, r := range name {
		if !inboxRune(r) {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inboxRune reports whether r may appear in an inbox prefix token.
func inboxRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// ErrInboxPrefix marks an inbox prefix that is not a plain subject.
var ErrInboxPrefix = errors.New("want dot-separated tokens of letters, digits, '_' and '-' (no wildcard, space, '$', empty token or leading/trailing dot)")

// ValidateInboxPrefix checks a reply-inbox prefix: dot-separated tokens
// of ASCII letters, digits, '_' and '-'. So a permission PREFIX.> covers
// exactly its inboxes, and nats.go's CustomInboxPrefix accepts it. The
// empty prefix (nats.go's default) is valid.
func ValidateInboxPrefix(p string) error {
	if p == "" {
		return nil
	}
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "" {
			return fmt.Errorf("inbox prefix %q: %w", p, ErrInboxPrefix)
		}
		for _, r := range tok {
			if !inboxRune(r) {
				return fmt.Errorf("inbox prefix %q: %w", p, ErrInboxPrefix)
			}
		}
	}
	return nil
}

// Options turns the flags into nats.Options, reading the password (never
// logged or put in an error). rawURL is checked for embedded credentials,
// which conflict with --nats-user and --nats-creds. All problems are
// returned together, each naming its flag.
func (a *NATSFlags) Options(rawURL string) ([]nats.Option, error) {
	var opts []nats.Option
	var errs []error
	password := a.getenv(EnvNATSPassword)
	if a.passwordFile != "" {
		b, err := os.ReadFile(a.passwordFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("read --nats-password-file: %w", err))
		} else if password = strings.TrimSpace(string(b)); password == "" {
			errs = append(errs, fmt.Errorf("--nats-password-file %s is empty", a.passwordFile))
		}
	}
	urlCreds := urlHasUserInfo(rawURL)
	switch {
	case a.user != "" && a.creds != "":
		errs = append(errs, errors.New("--nats-user and --nats-creds exclude each other"))
	case (a.user != "" || a.creds != "") && urlCreds:
		errs = append(errs, fmt.Errorf("--nats-url %s carries credentials as well as --nats-user/--nats-creds: use one", RedactURL(rawURL)))
	case a.user != "":
		if password == "" {
			errs = append(errs, fmt.Errorf("--nats-user %q needs a password: --nats-password-file or $%s", a.user, EnvNATSPassword))
		}
		opts = append(opts, nats.UserInfo(a.user, password))
	case a.creds != "":
		if _, err := os.Stat(a.creds); err != nil {
			errs = append(errs, fmt.Errorf("--nats-creds: %w", err))
		}
		opts = append(opts, nats.UserCredentials(a.creds))
	case a.passwordFile != "":
		errs = append(errs, errors.New("--nats-password-file needs --nats-user"))
	}
	if (a.tlsCert == "") != (a.tlsKey == "") {
		errs = append(errs, errors.New("--nats-tls-cert and --nats-tls-key go together"))
	}
	for _, f := range []struct{ flag, path string }{{"nats-tls-ca", a.tlsCA}, {"nats-tls-cert", a.tlsCert}, {"nats-tls-key", a.tlsKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.flag, err))
		}
	}
	if a.tlsCA != "" {
		opts = append(opts, nats.RootCAs(a.tlsCA))
	}
	if a.tlsCert != "" && a.tlsKey != "" {
		opts = append(opts, nats.ClientCert(a.tlsCert, a.tlsKey))
	}
	if err := ValidateInboxPrefix(a.inboxPrefix); err != nil {
		errs = append(errs, fmt.Errorf("--nats-inbox-prefix (or $%s): %w", EnvNATSInboxPrefix, err))
	} else if a.inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(a.inboxPrefix))
	}
	return opts, errors.Join(errs...)
}

// User is the user name the connection authenticates as ("" when none: a
// .creds file, credentials in the URL, or no authentication), for startup
// logs.
func (a *NATSFlags) User() string { return a.user }

// InboxPrefix is the reply-inbox prefix of the connection ("": nats.go's
// _INBOX), for startup logs.
func (a *NATSFlags) InboxPrefix() string { return a.inboxPrefix }

// Authenticates reports whether the flags (or their environment
// defaults) set credentials or TLS: --nats-user, --nats-password-file,
// --nats-creds or --nats-tls-*.
func (a *NATSFlags) Authenticates() bool {
	return a.user != "" || a.passwordFile != "" || a.creds != "" || a.tlsCA != "" || a.tlsCert != "" || a.tlsKey != ""
}

// Connect dials rawURL as name with the flags' options, then extra. The
// error redacts the URL's credentials.
func (a *NATSFlags) Connect(rawURL, name string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := a.Options(rawURL)
	if err != nil {
		return nil, err
	}
	opts = append(append(opts, nats.Name(name)), extra...)
	nc, err := nats.Connect(rawURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", RedactURL(rawURL), err)
	}
	return nc, nil
}

// urlHasUserInfo reports whether any URL of a comma-separated NATS URL
// list carries a user, password or token.
func urlHasUserInfo(raw string) bool {
	for _, p := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(p))
		if err == nil && u.User != nil {
			return true
		}
	}
	return false
}

// NATSOptions returns the connection options of the parsed NATS flags
// (credentials, TLS and the reply-inbox prefix) for a connection to
// rawURL. Errors name the flag; none holds the password.
func (f *ServiceFlags) NATSOptions(rawURL string) ([]nats.Option, error) {
	return f.nats.Options(rawURL)
}

// NATSUser is the user name the connection authenticates as ("" when
// none: a .creds file, credentials in the URL, or no authentication), for
// startup logs.
func (f *ServiceFlags) NATSUser() string { return f.nats.User() }

// NATSInboxPrefix is the reply-inbox prefix of the connection, for
// startup logs.
func (f *ServiceFlags) NATSInboxPrefix() string { return f.nats.InboxPrefix() }

// ConnectNATS dials rawURL as name with the parsed credential, TLS and
// inbox flags, then extra. The error redacts the URL's credentials.
func (f *ServiceFlags) ConnectNATS(rawURL, name string, extra ...nats.Option) (*nats.Conn, error) {
	return f.nats.Connect(rawURL, name, extra...)
}
