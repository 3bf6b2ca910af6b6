package plugintest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/esfault/tlsfront"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// Credentials of the security tests: distinctive, so that a leak cannot be a coincidence.
const (
	keyID       = "SiemscoreTestKeyId01"
	apiKey      = "ApiKeySecret-7f3a9c1e"
	wrongAPIKey = "WrongApiKeySecret-d41d8c"
	user        = "siemscore_writer"
	password    = "PasswordSecret-c0ffee42"
	wrongPass   = "WrongPasswordSecret-9e107d"
)

// leakForms are the ways a secret can show up in a log: as written, as the base64 of the
// Authorization header value (id:key, user:password) in either alphabet, and the header itself.
func leakForms() map[string]string {
	forms := map[string]string{}
	for _, s := range []string{apiKey, wrongAPIKey, password, wrongPass} {
		forms[s] = s
	}
	for _, pair := range []string{keyID + ":" + apiKey, keyID + ":" + wrongAPIKey, user + ":" + password, user + ":" + wrongPass} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			forms[enc.EncodeToString([]byte(pair))] = "base64 of " + pair
		}
	}
	return forms
}

// credentialHeader is an Authorization header value: a scheme and its credential.
var credentialHeader = regexp.MustCompile(`\b(Basic|ApiKey|APIKey|Bearer) +[A-Za-z0-9+/_-]{8,}`)

// checkNoSecret fails the test for every credential form, or Authorization header value, in log.
func checkNoSecret(t *testing.T, log string) {
	t.Helper()
	for form, what := range leakForms() {
		if strings.Contains(log, form) {
			t.Errorf("the log shows %s:\n%s", what, excerpt(log, form))
		}
	}
	for _, m := range credentialHeader.FindAllStringSubmatch(log, -1) {
		t.Errorf("the log shows an Authorization header value %q:\n%s", m[0], excerpt(log, m[0]))
	}
}

// excerpt returns the lines of log holding s.
func excerpt(log, s string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestTLSAndCredentialFailuresRetryThenExactlyOnce runs the plugin in flbhost against
// TLS-terminating, credential-checking fronts of the real Elasticsearch, one output per fault: a
// certificate from another CA, one for another host, an expired one, a wrong API key, an expired
// API key and a wrong password. Each output's Init succeeds (Elasticsearch may be unreachable
// while Fluent Bit starts) with a warning naming the problem; every flush returns FLB_RETRY with
// the same reason and nothing is written. Once the operator fixes the cluster's side, the chunks
// Fluent Bit retries arrive, every record exactly once; no log line shows a credential.
func TestTLSAndCredentialFailuresRetryThenExactlyOnce(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ca, otherCA := tlsfront.NewCA(t, "siemscore-test-ca"), tlsfront.NewCA(t, "another-ca")
	caFile := ca.File(t)
	hosts := []string{"127.0.0.1", "localhost"}
	good := ca.Issue(t, tlsfront.Leaf{Hosts: hosts})
	now := time.Now()
	apiKeyAuth := map[string]string{"es_api_key": keyID + ":" + apiKey}

	type output struct {
		alias string
		auth  map[string]string
		fault func(f *tlsfront.Front)
		want  string
		fix   func(f *tlsfront.Front)

		front *tlsfront.Front
		ns    string
	}
	outputs := []*output{
		{alias: "other-ca", auth: apiKeyAuth,
			fault: func(f *tlsfront.Front) { f.SetCertificate(otherCA.Issue(t, tlsfront.Leaf{Hosts: hosts})) },
			want:  "certificate signed by unknown authority",
			fix:   func(f *tlsfront.Front) { f.SetCertificate(good) }},
		{alias: "other-host", auth: apiKeyAuth,
			fault: func(f *tlsfront.Front) {
				f.SetCertificate(ca.Issue(t, tlsfront.Leaf{Hosts: []string{"es.example.net"}}))
			},
			want: "doesn't contain any IP SANs",
			fix:  func(f *tlsfront.Front) { f.SetCertificate(good) }},
		{alias: "expired-cert", auth: apiKeyAuth,
			fault: func(f *tlsfront.Front) {
				f.SetCertificate(ca.Issue(t, tlsfront.Leaf{Hosts: hosts, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}))
			},
			want: "certificate has expired",
			fix:  func(f *tlsfront.Front) { f.SetCertificate(good) }},
		{alias: "wrong-api-key", auth: map[string]string{"es_api_key": keyID + ":" + wrongAPIKey},
			fault: func(*tlsfront.Front) {},
			want:  "unable to find apikey with id " + keyID,
			fix:   func(f *tlsfront.Front) { f.SetAPIKey(keyID, wrongAPIKey) }}, // the key is created as configured
		{alias: "expired-api-key", auth: apiKeyAuth,
			fault: func(f *tlsfront.Front) { f.ExpireAPIKey(keyID) },
			want:  "api key is expired",
			fix:   func(f *tlsfront.Front) { f.SetAPIKey(keyID, apiKey) }}, // renewed
		{alias: "wrong-password", auth: map[string]string{"es_user": user, "es_password": wrongPass},
			fault: func(*tlsfront.Front) {},
			want:  "unable to authenticate user [" + user + "]",
			fix:   func(f *tlsfront.Front) { f.SetUser(user, wrongPass) }}, // reset to the one configured
	}

	bodies := plugintest.Mixed(120)
	want := expectedDocs(t, bodies)
	chunks := chunking(t, bodies, 40, 0, "aws.security")
	var instances []flbtest.Instance
	for _, o := range outputs {
		o.front = tlsfront.Start(t, db.url, good)
		o.front.SetAPIKey(keyID, apiKey)
		o.front.SetUser(user, password)
		o.front.EchoAuthorization(true) // a refusal repeating the credential must not reach a log
		o.fault(o.front)
		o.ns = estest.Namespace(t)
		props := map[string]string{
			"alias": o.alias, "plugin_alias": o.alias,
			"es_hosts": o.front.URL, "es_ca_file": caFile, "es_namespace": o.ns,
			"es_retry_budget": "0", "es_timeout": "5s", "plugin_log_level": "trace",
		}
		for k, v := range o.auth {
			props[k] = v
		}
		instances = append(instances, flbtest.Instance{Props: props})
	}

	var (
		mu      sync.Mutex
		retries = map[string]int{}
		oks     = map[string]int{}
	)
	stderr := &flblogtest.Buffer{}
	h, err := flbtest.Start(context.Background(), flbtest.Config{
		Plugin:     so,
		Instances:  instances,
		Workers:    len(outputs),
		RetryLimit: "no_limits",
		RetryBase:  100 * time.Millisecond,
		RetryCap:   500 * time.Millisecond,
		Verbose:    2,
		OnEvent: func(ev flbtest.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Event == "flush" {
				switch ev.RC {
				case 1:
					oks[ev.Instance]++
				case 2:
					retries[ev.Instance]++
				}
			}
		},
		Stderr: stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Send(chunks...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Minute, "every output to retry its chunks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range outputs {
			if retries[o.alias] < len(chunks) {
				return false
			}
		}
		return true
	})
	log := stderr.String()
	for _, o := range outputs {
		mu.Lock()
		ok := oks[o.alias]
		mu.Unlock()
		if ok != 0 {
			t.Errorf("%s: %d flushes returned OK while the connection was refused", o.alias, ok)
		}
		if n := len(db.ids("logs-siemscore.*-" + o.ns)); n != 0 {
			t.Errorf("%s: %d documents written while the connection was refused", o.alias, n)
		}
		if o.front.Refused()+o.front.HandshakeErrors() == 0 || o.front.Forwarded() != 0 {
			t.Errorf("%s: front saw %d refusals, %d failed handshakes, %d forwarded requests; want only refusals",
				o.alias, o.front.Refused(), o.front.HandshakeErrors(), o.front.Forwarded())
		}
		mine := excerpt(log, "[output:siemscore:"+o.alias+"]")
		for _, line := range []string{"index templates not installed yet", "delivery incomplete; the chunk will be retried"} {
			if got := excerpt(mine, line); !strings.Contains(got, o.want) {
				t.Errorf("%s: no %q line says %q:\n%s", o.alias, line, o.want, got)
			}
		}
		t.Logf("%s: %s", o.alias, firstLine(excerpt(mine, "delivery incomplete")))
		o.fix(o.front)
	}

	if err := h.CloseInput(); err != nil {
		t.Fatal(err)
	}
	sum, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outputs {
		ins, _ := sum.Instance(o.alias)
		if ins.Delivered != uint64(len(chunks)) || ins.Dropped != 0 || ins.Retry == 0 {
			t.Errorf("%s: %d of %d chunks delivered, %d dropped, %d RETRY flushes", o.alias, ins.Delivered, len(chunks), ins.Dropped, ins.Retry)
		}
		checkExactlyOnce(t, db, o.ns, want)
	}
	t.Logf("checked %d bytes of log", len(stderr.String()))
	checkNoSecret(t, stderr.String())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// The siemscore binary, the companion, is built once per test binary, beside the plugin.
var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

func siemscoreCLI(t *testing.T) string {
	t.Helper()
	plugin(t) // makes soDir, removed by TestMain
	cliOnce.Do(func() {
		cliPath = filepath.Join(soDir, "siemscore")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", cliPath, "github.com/siemscore/siemscore/cmd/siemscore").CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("build siemscore: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// TestNoSecretInAnyLogDuringAuthFailures runs two outputs at trace level, one with a wrong API
// key and one with a wrong password, both with a companion trainer (which gets the credentials
// in its environment and logs through the plugin), against a front that repeats the refused
// Authorization header in its error reasons, as a misbehaving proxy would. Everything the host,
// the plugin and the companions write during the refusals is captured; no credential, in any
// form, and no Authorization header appears in it.
func TestNoSecretInAnyLogDuringAuthFailures(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	cli := siemscoreCLI(t)
	ca := tlsfront.NewCA(t, "siemscore-test-ca")
	front := tlsfront.Start(t, db.url, ca.Issue(t, tlsfront.Leaf{Hosts: []string{"127.0.0.1"}}))
	front.SetAPIKey(keyID, apiKey)
	front.SetUser(user, password)
	front.EchoAuthorization(true)
	ns := estest.Namespace(t)

	common := func(alias string) map[string]string {
		return map[string]string{
			"es_hosts": front.URL, "es_ca_file": ca.File(t), "es_namespace": ns, "es_retry_budget": "0",
			"es_timeout": "5s", "plugin_log_level": "trace", "alias": alias, "plugin_alias": alias,
			"companion_path": cli, "companion_args": "--log-level trace --watch-every 200ms",
			"models_index": "siemscore-models-" + ns, "model_cache_dir": t.TempDir(),
		}
	}
	withKey, withPassword := common("api-key"), common("password")
	withKey["es_api_key"] = keyID + ":" + wrongAPIKey
	withPassword["es_user"], withPassword["es_password"] = user, wrongPass

	var (
		mu      sync.Mutex
		retries = map[string]int{}
	)
	stderr := &flblogtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := flbtest.Start(ctx, flbtest.Config{
		Plugin:     so,
		Instances:  []flbtest.Instance{{Props: withKey}, {Props: withPassword}},
		Workers:    1,
		RetryLimit: "no_limits",
		RetryBase:  100 * time.Millisecond,
		RetryCap:   500 * time.Millisecond,
		Grace:      2 * time.Second,
		Verbose:    2,
		OnEvent: func(ev flbtest.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Event == "flush" && ev.RC == 2 {
				retries[ev.Instance]++
			}
		},
		Stderr: stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Send(chunking(t, plugintest.Mixed(60), 20, 0, "aws.secrets")...); err != nil {
		t.Fatal(err)
	}
	// Both outputs retry, and both companions have tried Elasticsearch and reported the refusal.
	refused := func() bool {
		mu.Lock()
		r := retries["api-key"] >= 3 && retries["password"] >= 3
		mu.Unlock()
		log := stderr.String()
		return r && strings.Contains(excerpt(log, "[output:siemscore:api-key] model.companion.siemscore:"), "HTTP 401") &&
			strings.Contains(excerpt(log, "[output:siemscore:password] model.companion.siemscore:"), "HTTP 401")
	}
	for deadline := time.Now().Add(2 * time.Minute); !refused(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			mu.Lock()
			t.Errorf("RETRY flushes per output: %v", retries)
			mu.Unlock()
			t.Fatalf("timed out waiting for both outputs to retry and both companions to be refused:\n%s", stderr.String())
		}
	}
	if err := h.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Wait(); err != nil {
		var ee *flbtest.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
	}
	log := stderr.String()
	t.Logf("%d bytes of log, %d lines from the companions, %d refusals at the front", len(log),
		strings.Count(log, "model.companion.siemscore:"), front.Refused())
	if !strings.Contains(log, "[REDACTED]") {
		t.Errorf("no refusal was logged with its echoed credential redacted; the check below proves nothing:\n%s", log)
	}
	checkNoSecret(t, log)
}
