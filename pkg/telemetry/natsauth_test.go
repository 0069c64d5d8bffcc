package telemetry

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/natstest"
)

// parseNATSFlags registers the service flags with env and parses args.
func parseNATSFlags(t *testing.T, env map[string]string, args ...string) *ServiceFlags {
	t.Helper()
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("nats-url", "", "")
	f := AddServiceFlags(fs, "svc", func(k string) string { return env[k] })
	if ok, err := f.Parse(fs, args); !ok || err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNATSOptionsValidation(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "pw", "s3cret-from-file\n")
	empty := writeFile(t, dir, "empty", "\n")
	creds := writeFile(t, dir, "svc.creds", "not checked before connecting")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		url      string
		wantOpts int
		wantErr  []string
	}{
		// Every connection also gets the inbox prefix option (_INBOX_svc).
		{name: "no credentials", url: "nats://n:4222", wantOpts: 1},
		{name: "user and password file", args: []string{"--nats-user", "gw", "--nats-password-file", pwFile}, wantOpts: 2},
		{name: "user and password from env", env: map[string]string{EnvNATSUser: "gw", EnvNATSPassword: "pw-env"}, wantOpts: 2},
		{name: "creds", args: []string{"--nats-creds", creds}, wantOpts: 2},
		{name: "nats.go default inbox", args: []string{"--nats-inbox-prefix="}},
		{name: "inbox prefix with dots", args: []string{"--nats-inbox-prefix", "_INBOX.tenant-a.gw"}, wantOpts: 1},
		{name: "user without password", args: []string{"--nats-user", "gw"}, wantErr: []string{"needs a password"}},
		{name: "empty password file", args: []string{"--nats-user", "gw", "--nats-password-file", empty}, wantErr: []string{"is empty"}},
		{name: "missing password file", args: []string{"--nats-user", "gw", "--nats-password-file", missing}, wantErr: []string{"read --nats-password-file"}},
		{name: "password file without user", args: []string{"--nats-password-file", pwFile}, wantErr: []string{"needs --nats-user"}},
		{name: "user and creds", args: []string{"--nats-user", "gw", "--nats-password-file", pwFile, "--nats-creds", creds}, wantErr: []string{"exclude each other"}},
		{name: "url credentials and user", args: []string{"--nats-user", "gw", "--nats-password-file", pwFile}, url: "nats://a:url-secret@n:4222",
			wantErr: []string{"carries credentials"}},
		{name: "missing creds", args: []string{"--nats-creds", missing}, wantErr: []string{"--nats-creds"}},
		{name: "cert without key", args: []string{"--nats-tls-cert", pwFile}, wantErr: []string{"go together"}},
		{name: "missing ca", args: []string{"--nats-tls-ca", missing}, wantErr: []string{"--nats-tls-ca"}},
		{name: "wildcard inbox prefix", args: []string{"--nats-inbox-prefix", "_INBOX.>"}, wantErr: []string{`--nats-inbox-prefix`, `"_INBOX.>"`, "no wildcard"}},
		{name: "inbox prefix with a trailing dot", args: []string{"--nats-inbox-prefix", "_INBOX_gw."}, wantErr: []string{`--nats-inbox-prefix`, `"_INBOX_gw."`}},
		{name: "bad inbox prefix from env", env: map[string]string{EnvNATSInboxPrefix: "my inbox"}, wantErr: []string{EnvNATSInboxPrefix, `"my inbox"`}},
		{name: "all problems at once", args: []string{"--nats-user", "gw", "--nats-tls-key", missing, "--nats-inbox-prefix", "*"},
			wantErr: []string{"needs a password", "go together", "--nats-tls-key", "--nats-inbox-prefix"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parseNATSFlags(t, tc.env, tc.args...)
			opts, err := f.NATSOptions(tc.url)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(opts) != tc.wantOpts {
					t.Fatalf("%d options, want %d", len(opts), tc.wantOpts)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, secret := range []string{"s3cret-from-file", "pw-env", "url-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a password", err)
				}
			}
		})
	}
}

// TestConnectNATSWithUser connects to a real server that requires a user.
func TestConnectNATSWithUser(t *testing.T) {
	srv := natstest.RunServer(t, natstest.WithOptions(func(o *server.Options) {
		o.Users = []*server.User{{Username: "gw", Password: "right-password"}}
	}))
	dir := t.TempDir()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr error
	}{
		{name: "password file", args: []string{"--nats-user", "gw", "--nats-password-file", writeFile(t, dir, "pw", "right-password")}},
		{name: "environment", env: map[string]string{EnvNATSUser: "gw", EnvNATSPassword: "right-password"}},
		{name: "flag wins over env user", env: map[string]string{EnvNATSUser: "other", EnvNATSPassword: "right-password"}, args: []string{"--nats-user", "gw"}},
		{name: "wrong password", env: map[string]string{EnvNATSUser: "gw", EnvNATSPassword: "wrong-password"}, wantErr: nats.ErrAuthorization},
		{name: "anonymous", wantErr: nats.ErrAuthorization},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := parseNATSFlags(t, tc.env, tc.args...)
			nc, err := f.ConnectNATS(srv.ClientURL(), "test", nats.NoReconnect())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "wrong-password") {
					t.Fatalf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
		})
	}
}

// TestConnectNATSWithTLS connects over TLS to a server whose certificate a
// test CA signed, with and without --nats-tls-ca, and with a client
// certificate when the server verifies clients.
func TestConnectNATSWithTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caPEM := newCA(t)
	writeFile(t, dir, "ca.pem", string(caPEM))
	srvCert := newLeaf(t, ca, caKey, "server", dir)
	newLeaf(t, ca, caKey, "client", dir)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := natstest.RunServer(t, natstest.WithOptions(func(o *server.Options) {
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
		o.TLS, o.TLSVerify, o.TLSTimeout = true, true, 2
	}))
	caFile := filepath.Join(dir, "ca.pem")
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	cases := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{name: "ca and client certificate", args: []string{"--nats-tls-ca", caFile, "--nats-tls-cert", certFile, "--nats-tls-key", keyFile}},
		{name: "no client certificate", args: []string{"--nats-tls-ca", caFile}, wantErr: true},
		{name: "no ca", args: []string{"--nats-tls-cert", certFile, "--nats-tls-key", keyFile}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := parseNATSFlags(t, nil, tc.args...)
			nc, err := f.ConnectNATS(srv.ClientURL(), "test", nats.NoReconnect(), nats.Timeout(3*time.Second))
			if tc.wantErr {
				if err == nil {
					nc.Close()
					t.Fatal("connected, want a TLS failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if !nc.TLSRequired() {
				t.Fatal("connection is not TLS")
			}
		})
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// newLeaf issues a certificate for 127.0.0.1 (server and client use),
// writes <name>.pem and <name>-key.pem into dir and returns the pair.
func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name, dir string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	writeFile(t, dir, name+".pem", string(certPEM))
	writeFile(t, dir, name+"-key.pem", string(keyPEM))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestNATSFlagsUsage: every NATS flag is listed, and the password has no
// flag (a command line is visible to every local user).
func TestNATSFlagsUsage(t *testing.T) {
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	AddServiceFlags(fs, "svc", nil)
	fs.PrintDefaults()
	for _, want := range []string{"-nats-user", "-nats-password-file", "-nats-creds", "-nats-tls-ca", "-nats-tls-cert", "-nats-tls-key", "-nats-inbox-prefix"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %s", want)
		}
	}
	if fs.Lookup("nats-password") != nil {
		t.Error("a --nats-password flag would put the password on the command line")
	}
}
