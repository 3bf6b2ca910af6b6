// Package tlsfront puts a TLS-terminating, credential-checking front before an Elasticsearch
// that runs with security off (the test server, see elastic/estest), so tests can see the
// plugin's TLS and authentication meet what a secured cluster does: certificates from a CA made
// for the test (a good one, an expired one, one for the wrong host), API keys and users that can
// be wrong or expire, and refusals shaped like Elasticsearch's own (401, security_exception,
// X-Elastic-Product). Requests that pass are forwarded, without their credentials.
package tlsfront

import (
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Front is a running front. Its credentials and certificate may be changed while it runs.
type Front struct {
	// URL is https://127.0.0.1:<port>.
	URL string

	srv   *http.Server
	proxy *httputil.ReverseProxy

	mu    sync.Mutex
	cert  tls.Certificate
	keys  map[string]*credential // API key id -> key
	users map[string]*credential // user name -> password
	echo  bool

	forwarded, refused, handshakeErrors atomic.Int64
}

type credential struct {
	secret  string
	expired bool
}

// Start starts a front on 127.0.0.1 serving cert and forwarding to upstream (an http:// URL); it
// is closed when the test ends.
func Start(t testing.TB, upstream string, cert tls.Certificate) *Front {
	t.Helper()
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	f := &Front{cert: cert, keys: map[string]*credential{}, users: map[string]*credential{}}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Header.Del("Authorization") // the server behind has security off
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.URL = "https://" + ln.Addr().String()
	// Refused handshakes are what many tests are about; count them instead of logging them.
	f.srv = &http.Server{Handler: f, ErrorLog: log.New(handshakeCounter{f}, "", 0)}
	tlsLn := tls.NewListener(ln, &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Called for every handshake, with or without SNI: clients reaching an IP send none.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			c := f.cert
			return &c, nil
		},
	})
	go f.srv.Serve(tlsLn)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// URLFor returns the front's URL with host in place of 127.0.0.1 (which must resolve to it).
func (f *Front) URLFor(host string) string {
	return strings.Replace(f.URL, "127.0.0.1", host, 1)
}

// SetCertificate changes the certificate served from the next handshake on.
func (f *Front) SetCertificate(c tls.Certificate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cert = c
}

// SetAPIKey accepts the API key id:key from now on (replacing any key of that id).
func (f *Front) SetAPIKey(id, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = &credential{secret: key}
}

// ExpireAPIKey makes the key of id expired: it is refused as Elasticsearch refuses one.
func (f *Front) ExpireAPIKey(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[id]; k != nil {
		k.expired = true
	}
}

// SetUser accepts user with password from now on.
func (f *Front) SetUser(user, password string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[user] = &credential{secret: password}
}

// EchoAuthorization makes refusals repeat the request's Authorization header in their reason, as
// a misconfigured proxy might: what the client logs of a refusal must then still hold no
// credential.
func (f *Front) EchoAuthorization(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.echo = on
}

// Forwarded counts the requests that passed; Refused those answered 401.
func (f *Front) Forwarded() int64 { return f.forwarded.Load() }

// Refused counts the requests answered 401.
func (f *Front) Refused() int64 { return f.refused.Load() }

// HandshakeErrors counts the TLS handshakes that failed (a client refusing the certificate).
func (f *Front) HandshakeErrors() int64 { return f.handshakeErrors.Load() }

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	header := r.Header.Get("Authorization")
	reason, extra := f.check(header, r.URL.Path)
	if reason == "" {
		f.forwarded.Add(1)
		f.proxy.ServeHTTP(w, r)
		return
	}
	f.refused.Add(1)
	f.mu.Lock()
	echo := f.echo
	f.mu.Unlock()
	if echo {
		reason += " [" + header + "]"
	}
	cause := map[string]any{
		"type":   "security_exception",
		"reason": reason,
		"header": map[string]any{"WWW-Authenticate": challenges},
	}
	if extra != "" {
		cause["additional_unsuccessful_credentials"] = extra
	}
	body := map[string]any{"status": http.StatusUnauthorized, "error": merge(cause, map[string]any{"root_cause": []any{cause}})}
	for _, c := range challenges {
		w.Header().Add("WWW-Authenticate", c)
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(body)
}

var challenges = []string{`Basic realm="security", charset="UTF-8"`, `Bearer realm="security"`, "ApiKey"}

// check returns "" for good credentials, else Elasticsearch's reason for the refusal and its
// additional_unsuccessful_credentials.
func (f *Front) check(header, path string) (reason, extra string) {
	const anonymous = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
	if header == "" {
		return fmt.Sprintf("missing authentication credentials for REST request [%s]", path), ""
	}
	scheme, value, _ := strings.Cut(header, " ")
	raw, err := base64.StdEncoding.DecodeString(value)
	name, secret, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		return anonymous, "malformed credentials"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.EqualFold(scheme, "ApiKey"):
		k := f.keys[name]
		switch {
		case k == nil || subtle.ConstantTimeCompare([]byte(k.secret), []byte(secret)) != 1:
			return anonymous, fmt.Sprintf("API key: unable to find apikey with id %s", name)
		case k.expired:
			return anonymous, fmt.Sprintf("API key: api key is expired [id=%s]", name)
		}
	case strings.EqualFold(scheme, "Basic"):
		u := f.users[name]
		if u == nil || u.expired || subtle.ConstantTimeCompare([]byte(u.secret), []byte(secret)) != 1 {
			return fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", name, path), ""
		}
	default:
		return anonymous, "unsupported authentication scheme"
	}
	return "", ""
}

func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// handshakeCounter is the server's error log: it counts failed TLS handshakes.
type handshakeCounter struct{ f *Front }

func (h handshakeCounter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "TLS handshake error") {
		h.f.handshakeErrors.Add(1)
	}
	return len(p), nil
}
