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

// Environment variables of the NATS credentials every service shares.
const (
	// EnvNATSUser supplies the default of --nats-user.
	EnvNATSUser = "SEMROUTER_NATS_USER"
	// EnvNATSPassword is the password of --nats-user when no
	// --nats-password-file is given. There is no password flag: a command
	// line is visible to every user of the host.
	EnvNATSPassword = "SEMROUTER_NATS_PASSWORD"
)

// natsAuthFlags are the credential and TLS flags of the NATS connection.
type natsAuthFlags struct {
	user, passwordFile, creds string
	tlsCA, tlsCert, tlsKey    string
}

// addNATSAuthFlags registers the NATS credential and TLS flags on fs.
func addNATSAuthFlags(fs *flag.FlagSet, getenv func(string) string) *natsAuthFlags {
	a := &natsAuthFlags{}
	fs.StringVar(&a.user, "nats-user", getenv(EnvNATSUser), "NATS user name; its password comes from --nats-password-file or $"+EnvNATSPassword+" (default: $"+EnvNATSUser+")")
	fs.StringVar(&a.passwordFile, "nats-password-file", "", "file holding the password of --nats-user (wins over $"+EnvNATSPassword+")")
	fs.StringVar(&a.creds, "nats-creds", "", "NATS .creds file (user JWT and NKey seed) for decentralized auth; excludes --nats-user")
	fs.StringVar(&a.tlsCA, "nats-tls-ca", "", "PEM file of the CA that signed the NATS server's certificate (turns TLS on)")
	fs.StringVar(&a.tlsCert, "nats-tls-cert", "", "PEM client certificate for NATS TLS (mutual TLS; needs --nats-tls-key)")
	fs.StringVar(&a.tlsKey, "nats-tls-key", "", "PEM private key of --nats-tls-cert")
	return a
}

// options turns the flags into nats.Options, reading the password (never
// logged or put in an error). rawURL is checked for embedded credentials,
// which conflict with --nats-user and --nats-creds.
func (a *natsAuthFlags) options(rawURL string, getenv func(string) string) ([]nats.Option, error) {
	var opts []nats.Option
	var errs []error
	password := getenv(EnvNATSPassword)
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
	return opts, errors.Join(errs...)
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
// (credentials and TLS) for a connection to rawURL. Errors name the flag;
// none holds the password.
func (f *ServiceFlags) NATSOptions(rawURL string) ([]nats.Option, error) {
	return f.nats.options(rawURL, f.getenv)
}

// NATSUser is the user name the connection authenticates as ("" when
// none: a .creds file, credentials in the URL, or no authentication), for
// startup logs.
func (f *ServiceFlags) NATSUser() string { return f.nats.user }

// ConnectNATS dials rawURL as name with the parsed credential and TLS
// flags, then extra. The error redacts the URL's credentials.
func (f *ServiceFlags) ConnectNATS(rawURL, name string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := f.NATSOptions(rawURL)
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
