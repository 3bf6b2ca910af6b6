package esclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// fakeES answers like Elasticsearch (the product header go-elasticsearch insists on) and
// records what it received.
type fakeES struct {
	mu       sync.Mutex
	auth     []string
	arrivals []time.Time
	bodies   []string
	encoding []string
	status   func(n int) int // status of the n-th request (0-based)
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	f.mu.Lock()
	n := len(f.arrivals)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.arrivals = append(f.arrivals, time.Now())
	f.bodies = append(f.bodies, string(body))
	f.encoding = append(f.encoding, r.Header.Get("Content-Encoding"))
	f.mu.Unlock()
	status := http.StatusOK
	if f.status != nil {
		status = f.status(n)
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"acknowledged":true}`)
}

func newTestClient(t *testing.T, c Config, log hclog.Logger) *Client {
	t.Helper()
	cl, err := New(c, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

func ping(t *testing.T, cl *Client) (int, error) {
	t.Helper()
	res, err := cl.Indices.Exists([]string{"x"})
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, nil
}

func TestAuthorizationHeaders(t *testing.T) {
	f := &fakeES{}
	srv := httptest.NewServer(f)
	defer srv.Close()

	c := DefaultConfig()
	c.Hosts = []string{srv.URL}
	c.APIKey = "kid:ksecret"
	if _, err := ping(t, newTestClient(t, c, nil)); err != nil {
		t.Fatal(err)
	}
	c.APIKey, c.Username, c.Password = "", "u", "p"
	if _, err := ping(t, newTestClient(t, c, nil)); err != nil {
		t.Fatal(err)
	}
	// The scheme name is case-insensitive (RFC 9110); go-elasticsearch spells it "APIKey".
	want := []string{
		"apikey " + base64.StdEncoding.EncodeToString([]byte("kid:ksecret")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("u:p")),
	}
	if len(f.auth) != 2 || !strings.EqualFold(f.auth[0], want[0]) || f.auth[1] != want[1] {
		t.Errorf("Authorization = %q, want %q", f.auth, want)
	}
}

func TestRetriesWholeRequestWithBackoff(t *testing.T) {
	f := &fakeES{status: func(n int) int {
		return []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusOK}[min(n, 3)]
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := DefaultConfig()
	c.Hosts = []string{srv.URL}
	c.RetryBackoff = Backoff{Min: 40 * time.Millisecond, Max: 40 * time.Millisecond}
	status, err := ping(t, newTestClient(t, c, nil))
	if err != nil || status != http.StatusOK {
		t.Fatalf("status %d, err %v", status, err)
	}
	if len(f.arrivals) != 4 {
		t.Fatalf("%d attempts, want 4 (503, 429, 502 retried, then 200)", len(f.arrivals))
	}
	for i := 1; i < len(f.arrivals); i++ {
		if gap := f.arrivals[i].Sub(f.arrivals[i-1]); gap < 20*time.Millisecond {
			t.Errorf("retry %d came %s after the previous attempt: retries must back off", i, gap)
		}
	}

	f2 := &fakeES{status: func(int) int { return http.StatusServiceUnavailable }}
	srv2 := httptest.NewServer(f2)
	defer srv2.Close()
	c.Hosts, c.MaxRetries = []string{srv2.URL}, 0
	if status, _ := ping(t, newTestClient(t, c, nil)); status != http.StatusServiceUnavailable || len(f2.arrivals) != 1 {
		t.Errorf("MaxRetries 0: status %d after %d attempts, want one 503", status, len(f2.arrivals))
	}
}

func TestFailoverToSecondHost(t *testing.T) {
	f := &fakeES{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	c := DefaultConfig()
	c.Hosts = []string{deadURL, srv.URL}
	c.RetryBackoff = Backoff{Min: time.Millisecond, Max: time.Millisecond}
	cl := newTestClient(t, c, nil)
	for range 4 {
		if status, err := ping(t, cl); err != nil || status != http.StatusOK {
			t.Fatalf("status %d, err %v", status, err)
		}
	}
}

func TestCompression(t *testing.T) {
	f := &fakeES{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := DefaultConfig()
	c.Hosts = []string{srv.URL}
	c.Compress = true
	cl := newTestClient(t, c, nil)
	payload := strings.Repeat(`{"create":{}}`+"\n"+`{"a":1}`+"\n", 50)
	res, err := cl.Bulk(strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if f.encoding[0] != "gzip" || f.bodies[0] != payload {
		t.Errorf("encoding %q, body intact %v", f.encoding[0], f.bodies[0] == payload)
	}
}

// TestLogsNeverCarryCredentials drives every logging path (success, 5xx, connection error)
// with both kinds of credentials and greps the log for every form of the secret.
func TestLogsNeverCarryCredentials(t *testing.T) {
	f := &fakeES{status: func(n int) int {
		if n%2 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	var logBuf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logBuf, Level: hclog.Trace})
	const secret = "topsecret-Value1"
	for _, c := range []Config{
		func() Config { c := DefaultConfig(); c.APIKey = "myid:" + secret; return c }(),
		func() Config { c := DefaultConfig(); c.Username, c.Password = "elastic", secret; return c }(),
	} {
		c.Hosts = []string{srv.URL}
		c.RetryBackoff = Backoff{Min: time.Millisecond, Max: time.Millisecond}
		cl := newTestClient(t, c, log)
		if _, err := ping(t, cl); err != nil {
			t.Fatal(err)
		}
		c.Hosts = []string{deadURL}
		c.MaxRetries = 1
		cl = newTestClient(t, c, log)
		if _, err := ping(t, cl); err == nil {
			t.Fatal("a closed server must fail")
		} else if err := cl.Redactor().Error(err); strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
	out := strings.ToLower(logBuf.String())
	for _, leak := range []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte("myid:" + secret)),
		base64.StdEncoding.EncodeToString([]byte("elastic:" + secret)),
		"Authorization", "ApiKey", "Basic ",
	} {
		if strings.Contains(out, strings.ToLower(leak)) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"status=503", "status=200", "elasticsearch request failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q; the logger must still report requests:\n%s", want, out)
		}
	}
}

func TestTLSVerification(t *testing.T) {
	srv := httptest.NewUnstartedServer(&fakeES{})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// httptest's certificate is issued for 127.0.0.1 and example.com, not "localhost".
	byIP := srv.URL
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	for _, tc := range []struct {
		name   string
		host   string
		edit   func(*Config)
		wantOK bool
	}{
		{"default trusts only the system roots", byIP, func(*Config) {}, false},
		{"CA file", byIP, func(c *Config) { c.CAFile = caFile }, true},
		{"CA file, wrong name", byName, func(c *Config) { c.CAFile = caFile }, false},
		{"CA file, hostname check off", byName, func(c *Config) { c.CAFile = caFile; c.TLSSkipHostnameVerify = true }, true},
		{"hostname check off still checks the chain", byName, func(c *Config) { c.TLSSkipHostnameVerify = true }, false},
		{"verification off", byName, func(c *Config) { c.TLSSkipVerify = true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Hosts = []string{tc.host}
			c.MaxRetries = 0
			tc.edit(&c)
			status, err := ping(t, newTestClient(t, c, nil))
			if ok := err == nil && status == http.StatusOK; ok != tc.wantOK {
				t.Errorf("connected=%v (status %d, err %v), want %v", ok, status, err, tc.wantOK)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	srv := httptest.NewServer(&fakeES{})
	defer srv.Close()
	c := DefaultConfig()
	c.Hosts = []string{srv.URL}
	cl, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ping(t, cl); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := cl.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := ping(t, cl); err == nil {
		t.Error("a closed client must refuse requests")
	}
}
