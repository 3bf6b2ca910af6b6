package deliver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/esfault/tlsfront"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
)

// TestSecurityFailuresAreRetryThenExactlyOnce delivers through a TLS-terminating,
// credential-checking front to the real Elasticsearch. A wrong CA, a certificate for another
// host, an expired certificate, a wrong API key, a wrong password and an expired API key each
// make the chunk RETRY with an error naming the problem, write nothing and show no credential.
// Once the problem is fixed (on the server's side or in the client's configuration, as an
// operator would) the same chunk, re-sent as Fluent Bit re-sends it, arrives exactly once.
func TestSecurityFailuresAreRetryThenExactlyOnce(t *testing.T) {
	upstream := estest.URL(t)
	ca := tlsfront.NewCA(t, "siemscore-test-ca")
	caFile, otherCAFile := ca.File(t), tlsfront.NewCA(t, "unrelated").File(t)
	hosts := []string{"127.0.0.1", "localhost"}
	now := time.Now()
	good := ca.Issue(t, tlsfront.Leaf{Hosts: hosts})
	const (
		keyID, key, newKeyID, newKey = "AAAAAAAAAAAAAAAAAAAA", "right-api-key-secret", "BBBBBBBBBBBBBBBBBBBB", "next-api-key-secret"
		user, password               = "siemscore_writer", "Corr3ct-Horse-Battery"
	)
	secrets := []string{key, newKey, password, "wrong-api-key-secret", "Wrong-Horse-Battery"}

	type setup struct {
		front *tlsfront.Front
		cfg   esclient.Config
	}
	for _, tc := range []struct {
		name  string
		fault func(s *setup)
		want  string
		fix   func(s *setup)
	}{
		{"wrong CA file",
			func(s *setup) { s.cfg.CAFile = otherCAFile },
			"certificate signed by unknown authority",
			func(s *setup) { s.cfg.CAFile = caFile }},
		{"certificate for another host",
			func(s *setup) { s.front.SetCertificate(ca.Issue(t, tlsfront.Leaf{Hosts: []string{"es.example.net"}})) },
			"doesn't contain any IP SANs",
			func(s *setup) { s.front.SetCertificate(good) }},
		{"expired certificate",
			func(s *setup) {
				s.front.SetCertificate(ca.Issue(t, tlsfront.Leaf{Hosts: hosts, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}))
			},
			"certificate has expired",
			func(s *setup) { s.front.SetCertificate(ca.Issue(t, tlsfront.Leaf{Hosts: hosts})) }},
		{"wrong API key",
			func(s *setup) { s.cfg.APIKey = keyID + ":wrong-api-key-secret" },
			"HTTP 401",
			func(s *setup) { s.cfg.APIKey = keyID + ":" + key }},
		{"wrong API key, echoed by a proxy",
			func(s *setup) { s.cfg.APIKey = keyID + ":wrong-api-key-secret"; s.front.EchoAuthorization(true) },
			esclient.Redacted, // the key the client sent, redacted in the echo
			func(s *setup) { s.cfg.APIKey = keyID + ":" + key }},
		{"expired API key",
			func(s *setup) { s.front.ExpireAPIKey(keyID) },
			"api key is expired",
			func(s *setup) { s.front.SetAPIKey(newKeyID, newKey); s.cfg.APIKey = newKeyID + ":" + newKey }},
		{"wrong password",
			func(s *setup) { s.cfg.APIKey, s.cfg.Username, s.cfg.Password = "", user, "Wrong-Horse-Battery" },
			"unable to authenticate user [" + user + "]",
			func(s *setup) { s.front.SetUser(user, "Wrong-Horse-Battery") }}, // the password is reset to the one configured
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &setup{front: tlsfront.Start(t, upstream, good), cfg: esclient.DefaultConfig()}
			s.front.SetAPIKey(keyID, key)
			s.front.SetUser(user, password)
			s.cfg.Hosts = []string{s.front.URL}
			s.cfg.CAFile = caFile
			s.cfg.APIKey = keyID + ":" + key
			s.cfg.RetryBackoff = esclient.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
			tc.fault(s)

			ns := readertest.Namespace(t, upstream)
			recs := makeRecords(strings.ReplaceAll(tc.name, " ", "-"), 0, 40)
			deliverer := func() *deliver.Deliverer {
				cl, err := esclient.New(s.cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cl.Close(context.Background()) })
				return newDelivererVia(t, cl, ns, func(c *deliver.Config) { c.RetryBudget = 200 * time.Millisecond })
			}
			d := deliverer()
			for attempt := range 2 { // Fluent Bit sends the chunk again after RETRY
				out := d.Deliver(context.Background(), recs)
				checkSums(t, out)
				if out.Status != deliver.Retry || out.Created+out.Duplicates+out.DeadLettered != 0 {
					t.Fatalf("attempt %d: %+v, want RETRY with nothing acknowledged", attempt, out)
				}
				msg := out.Err.Error()
				if attempt == 0 {
					t.Logf("RETRY: %s", msg)
				}
				if !strings.Contains(msg, tc.want) {
					t.Errorf("attempt %d: error %q does not say %q", attempt, msg, tc.want)
				}
				for _, secret := range secrets {
					if strings.Contains(msg, secret) {
						t.Errorf("the error shows a credential: %q", msg)
					}
				}
			}
			if n := count(t, upstream, streams(ns)...); n != 0 {
				t.Fatalf("%d documents written while the connection was refused", n)
			}

			tc.fix(s)
			d = deliverer()
			outs := deliverUntilOK(t, d, recs, 5)
			if got := outs[len(outs)-1]; got.Created != len(recs) {
				t.Errorf("after the fix: %+v, want all %d created", got, len(recs))
			}
			if again := d.Deliver(context.Background(), recs); again.Status != deliver.OK || again.Duplicates != len(recs) {
				t.Errorf("re-sending the delivered chunk: %+v, want all duplicates", again)
			}
			if n := count(t, upstream, streams(ns)...); n != len(recs) {
				t.Errorf("%d documents in Elasticsearch, want exactly %d", n, len(recs))
			}
		})
	}
}
