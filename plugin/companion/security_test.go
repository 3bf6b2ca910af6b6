package companion

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
)

// withoutCookie returns the test's environment without the companion's magic cookie.
func withoutCookie() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shared.Handshake.MagicCookieKey+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestCompanionRefusesToRunByHand runs the companion (this test binary serving trainer.Serve)
// without the plugin: with no magic cookie, and with a wrong one. It must exit 1 with go-plugin's
// explanation and never print a handshake line (which would offer an RPC endpoint).
func TestCompanionRefusesToRunByHand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, extra := range map[string][]string{
		"no cookie":    nil,
		"wrong cookie": {shared.Handshake.MagicCookieKey + "=not-" + shared.Handshake.MagicCookieValue},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe)
			cmd.Env = append(append(withoutCookie(), envCompanion+"=1"), extra...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("companion run by hand: %v, want exit status 1\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "This binary is a plugin. These are not meant to be executed directly.") {
				t.Errorf("stderr does not say why:\n%s", stderr.String())
			}
			if strings.Contains(stdout.String(), "|netrpc") || strings.Contains(stdout.String(), "|unix|") {
				t.Errorf("the companion offered an endpoint: %s", stdout.String())
			}
		})
	}
}

// TestCompanionConnectionIsMutualTLS starts a companion the way the plugin does and checks its
// RPC endpoint from outside: the companion was handed the host's certificate (AutoMTLS), and its
// socket speaks only TLS and only to a client presenting that certificate. A plain connection,
// a TLS client without a certificate and one with a certificate of its own are all refused.
func TestCompanionConnectionIsMutualTLS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sockets, err := os.MkdirTemp("", "siemscore-sock") // short: a unix socket path is limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	out := &flblogtest.Buffer{}
	l, err := Acquire(Config{
		Path: exe, Env: []string{envCompanion + "=1", plugin.EnvUnixSocketDir + "=" + sockets},
		PingEvery: 200 * time.Millisecond, PollWait: time.Second, StatusEvery: time.Hour,
		Log: hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Debug}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eventually(t, "the companion to start", func() bool { return l.c.pid.Load() != 0 })
	log := out.String()
	for _, side := range []string{"configuring client automatic mTLS", "configuring server automatic mTLS"} {
		if !strings.Contains(log, side) {
			t.Errorf("the log does not show %q:\n%s", side, log)
		}
	}

	socks, _ := filepath.Glob(filepath.Join(sockets, "plugin*"))
	if len(socks) != 1 {
		t.Fatalf("sockets in %s: %v, want the companion's one", sockets, socks)
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("unix", socks[0], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}

	// A plain yamux stream open (what go-plugin's net/rpc sends first without TLS) gets a TLS
	// alert or a closed connection, never a yamux frame back.
	plain := dial()
	if _, err := plain.Write([]byte{0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 1)
	switch n, err := plain.Read(reply); {
	case err == nil && n == 1 && reply[0] == 0x15: // a TLS alert record
	case err != nil && !errors.Is(err, os.ErrDeadlineExceeded): // closed on us
		t.Logf("plain-text client: %v", err)
	default:
		t.Errorf("a plain-text client got %d bytes (%#x), %v: not a TLS refusal", n, reply[:n], err)
	}

	selfSigned := clientCertificate(t)
	for name, cert := range map[string]*tls.Certificate{"no certificate": {}, "a certificate of its own": &selfSigned} {
		c := tls.Client(dial(), &tls.Config{
			InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
			// Sent even though the companion asks for certificates of another authority.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil },
		})
		err := c.Handshake()
		if err == nil {
			// TLS 1.3 reports the server's refusal of the client certificate on the next read.
			_, err = c.Read(reply)
		}
		if err == nil {
			t.Errorf("TLS client with %s was served", name)
			continue
		}
		t.Logf("TLS client with %s: %v", name, err)
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("TLS client with %s: %v, want a certificate refusal", name, err)
		}
	}

}

// clientCertificate makes a valid, self-signed client certificate: one that is not the host's.
func clientCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestBundlesOverRPCAreValidatedLikeFiles serves bundles over the real net/rpc plumbing of
// shared.Models and checks that the host accepts exactly what a model_bundle file reader with
// the same options accepts, with the same reason: a bundle signed with the configured key is
// taken; unsigned, signed with another key, corrupted, truncated and non-bundle bytes are
// refused, even though each arrives with a correct announced checksum.
func TestBundlesOverRPCAreValidatedLikeFiles(t *testing.T) {
	key := []byte("the-trainers-key")
	opt := bundle.DecodeOptions{Key: key}
	at := time.Date(2026, 11, 23, 9, 0, 1, 0, time.UTC)
	b, err := bundle.New(bundle.Header{Version: bundle.Version{Time: at}, TrainedAt: at, WindowStart: at.Add(-24 * time.Hour), WindowEnd: at})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(k []byte) []byte {
		data, err := b.Encode(k)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	signed := encode(key)
	flipped := append([]byte(nil), signed...)
	flipped[len(flipped)/3] ^= 0x40

	c := newCompanion(Config{Decode: opt}.withDefaults(), Metrics)
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		data   []byte
		accept bool
	}{
		{"signed with the key", signed, true},
		{"unsigned", encode(nil), false},
		{"signed with another key", encode([]byte("someone-elses-key")), false},
		{"a flipped bit", flipped, false},
		{"truncated", signed[:len(signed)-7], false},
		{"not a bundle", []byte("SIEMSCORE? no, a text file that is long enough to be read"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := plugin.TestPluginRPCConn(t, shared.Plugins(fakeModels{data: tc.data}), nil)
			raw, err := client.Dispense(shared.PluginName)
			if err != nil {
				t.Fatal(err)
			}
			got, rpcErr := c.fetch(raw.(shared.Models), fakeModels{data: tc.data}.announce(b.VersionString()))

			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".bundle")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, fileErr := bundle.ReadFile(path, opt)

			switch {
			case tc.accept && (rpcErr != nil || got.VersionString() != b.VersionString()):
				t.Errorf("over RPC: %v, %v; want version %s", got, rpcErr, b.VersionString())
			case !tc.accept && rpcErr == nil:
				t.Error("accepted over RPC")
			case (rpcErr == nil) != (fileErr == nil):
				t.Errorf("over RPC: %v; from a file: %v", rpcErr, fileErr)
			case rpcErr != nil && fileErr.Error() != path+": "+rpcErr.Error():
				t.Errorf("reasons differ:\n over RPC:    %v\n from a file: %v", rpcErr, fileErr)
			}
		})
	}
}
