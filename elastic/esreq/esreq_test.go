package esreq

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esclient"
)

// A refusal quoting the Authorization header, as a proxy or a security realm may, leaves Do as
// an error without the credential, still recognisable by its status.
func TestErrorsOverAClientAreRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		reason := "unable to authenticate [" + r.Header.Get("Authorization") + "]"
		w.Write([]byte(`{"status":401,"error":{"type":"security_exception","reason":"` + reason + `","root_cause":[{"type":"security_exception","reason":"` + reason + `"}]}}`))
	}))
	defer srv.Close()
	for _, auth := range []func(c *esclient.Config) []string{
		func(c *esclient.Config) []string {
			c.APIKey = "KeyId:Api-Key-Secret-1234"
			return []string{"Api-Key-Secret-1234", "S2V5SWQ6QXBpLUtleS1TZWNyZXQtMTIzNA=="}
		},
		func(c *esclient.Config) []string {
			c.Username, c.Password = "writer", "Password-Secret-5678"
			return []string{"Password-Secret-5678", "d3JpdGVyOlBhc3N3b3JkLVNlY3JldC01Njc4"}
		},
	} {
		cfg := esclient.DefaultConfig()
		cfg.Hosts = []string{srv.URL}
		secrets := auth(&cfg)
		es, err := esclient.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = Do(context.Background(), es, esapi.InfoRequest{}, "info", nil)
		if Status(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "unable to authenticate [") {
			t.Errorf("error %v: want the 401 with its reason", err)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error shows a credential: %v", err)
			}
		}
		if !strings.Contains(err.Error(), esclient.Redacted) {
			t.Errorf("error %v: the echoed credential was not redacted, or never echoed", err)
		}
	}
}
