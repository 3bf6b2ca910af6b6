package esclient_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/esfault/tlsfront"
	"github.com/siemscore/siemscore/elastic/estest"
)

const (
	apiKeyID     = "VuaCfGcBCdbkQm-e5aOx"
	apiKeySecret = "ui2lp2axTNmsyakw9tvNnw"
	user         = "siemscore_writer"
	password     = "Corr3ct-Horse-Battery"
)

// TestTLSAndCredentials talks to the real Elasticsearch through a front that terminates TLS
// with certificates made for the test and checks credentials as a secured cluster does. Each
// way of getting it wrong must fail with an error that says which, before any request reaches
// the server, and never show a credential.
func TestTLSAndCredentials(t *testing.T) {
	upstream := estest.URL(t)
	ca := tlsfront.NewCA(t, "siemscore-test-ca")
	now := time.Now()
	good := ca.Issue(t, tlsfront.Leaf{Hosts: []string{"127.0.0.1", "localhost"}})
	certs := map[string]tls.Certificate{
		"good":       good,
		"expired":    ca.Issue(t, tlsfront.Leaf{Hosts: []string{"127.0.0.1", "localhost"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}),
		"wrong host": ca.Issue(t, tlsfront.Leaf{Hosts: []string{"es.example.net"}}),
		"other CA":   tlsfront.NewCA(t, "someone-else").Issue(t, tlsfront.Leaf{Hosts: []string{"127.0.0.1", "localhost"}}),
	}
	front := tlsfront.Start(t, upstream, good)
	front.SetAPIKey(apiKeyID, apiKeySecret)
	front.SetAPIKey("expired-key-id", apiKeySecret)
	front.ExpireAPIKey("expired-key-id")
	front.SetUser(user, password)
	caFile := ca.File(t)
	otherCAFile := tlsfront.NewCA(t, "unrelated").File(t)

	apiKey := func(c *esclient.Config) { c.APIKey = apiKeyID + ":" + apiKeySecret }
	for _, tc := range []struct {
		name string
		cert string // served by the front
		host string // in the URL
		edit func(*esclient.Config)
		// want is a substring of the error, or of the 401 body; "" means the request succeeds.
		want string
		// refused: the front answers 401 (the request reached it); otherwise the TLS
		// handshake fails and nothing does.
		refused bool
	}{
		{name: "CA file and API key", cert: "good", host: "127.0.0.1", edit: apiKey},
		{name: "CA file and encoded API key, by name", cert: "good", host: "localhost", edit: func(c *esclient.Config) {
			c.APIKey = base64.StdEncoding.EncodeToString([]byte(apiKeyID + ":" + apiKeySecret))
		}},
		{name: "CA file and basic auth", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { c.Username, c.Password = user, password }},
		{name: "system roots only", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { apiKey(c); c.CAFile = "" },
			want: "certificate signed by unknown authority"},
		{name: "wrong CA file", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { apiKey(c); c.CAFile = otherCAFile },
			want: "certificate signed by unknown authority"},
		{name: "server certificate from another CA", cert: "other CA", host: "127.0.0.1", edit: apiKey,
			want: "certificate signed by unknown authority"},
		{name: "certificate for another host", cert: "wrong host", host: "127.0.0.1", edit: apiKey,
			want: "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{name: "certificate for another host, by name", cert: "wrong host", host: "localhost", edit: apiKey,
			want: "certificate is valid for es.example.net, not localhost"},
		{name: "hostname check off still checks the chain", cert: "other CA", host: "localhost", edit: func(c *esclient.Config) {
			apiKey(c)
			c.TLSSkipHostnameVerify = true
		}, want: "certificate signed by unknown authority"},
		{name: "hostname check off accepts another host's certificate", cert: "wrong host", host: "localhost", edit: func(c *esclient.Config) {
			apiKey(c)
			c.TLSSkipHostnameVerify = true
		}},
		{name: "expired certificate", cert: "expired", host: "127.0.0.1", edit: apiKey,
			want: "certificate has expired"},
		{name: "wrong API key", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { c.APIKey = apiKeyID + ":not-the-key" },
			want: "unable to find apikey with id " + apiKeyID, refused: true},
		{name: "expired API key", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { c.APIKey = "expired-key-id:" + apiKeySecret },
			want: "api key is expired", refused: true},
		{name: "wrong password", cert: "good", host: "127.0.0.1", edit: func(c *esclient.Config) { c.Username, c.Password = user, "Wrong-Horse-Battery" },
			want: "unable to authenticate user [" + user + "]", refused: true},
		{name: "no credentials", cert: "good", host: "127.0.0.1", edit: func(*esclient.Config) {},
			want: "missing authentication credentials", refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front.SetCertificate(certs[tc.cert])
			c := esclient.DefaultConfig()
			c.Hosts = []string{front.URLFor(tc.host)}
			c.CAFile = caFile
			c.RetryBackoff = esclient.Backoff{Min: time.Millisecond, Max: time.Millisecond}
			tc.edit(&c)
			cl, err := esclient.New(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close(context.Background())
			forwarded, refused, handshakes := front.Forwarded(), front.Refused(), front.HandshakeErrors()

			res, err := cl.Cluster.Health(cl.Cluster.Health.WithContext(context.Background()))
			var status int
			var body string
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				status, body = res.StatusCode, string(b)
			} else {
				err = cl.Redactor().Error(err)
				body = err.Error()
			}
			switch {
			case tc.want == "":
				if err != nil || status != http.StatusOK || !strings.Contains(body, `"cluster_name"`) {
					t.Fatalf("want the cluster's health, got %d %q (err %v)", status, body, err)
				}
				if front.Forwarded() != forwarded+1 {
					t.Error("the request did not go through the front")
				}
			case tc.refused:
				if err != nil || status != http.StatusUnauthorized || !strings.Contains(body, tc.want) || !strings.Contains(body, "security_exception") {
					t.Fatalf("want 401 security_exception %q, got %d %q (err %v)", tc.want, status, body, err)
				}
				if front.Refused() != refused+1 || front.Forwarded() != forwarded {
					t.Error("a refused request reached Elasticsearch")
				}
			default:
				if err == nil || !strings.Contains(body, tc.want) {
					t.Fatalf("want an error saying %q, got %d %q (err %v)", tc.want, status, body, err)
				}
				if front.Forwarded() != forwarded || front.Refused() != refused {
					t.Error("a request got through a TLS handshake that should have failed")
				}
				// The server logs the failed handshake on its own goroutine, after the client gave up.
				for deadline := time.Now().Add(5 * time.Second); front.HandshakeErrors() <= handshakes; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the front saw no failed handshake")
					}
				}
				// Retries, had there been any, ended before the client returned its error.
				time.Sleep(100 * time.Millisecond)
				if n := front.HandshakeErrors() - handshakes; n != 1 {
					t.Errorf("%d failed handshakes: a certificate that failed verification was tried again", n)
				}
			}
			for _, secret := range []string{apiKeySecret, password, "not-the-key", "Wrong-Horse-Battery", base64.StdEncoding.EncodeToString([]byte(apiKeyID + ":" + apiKeySecret))} {
				if strings.Contains(body, secret) {
					t.Errorf("the answer or error shows a credential: %q", body)
				}
			}
		})
	}
}
