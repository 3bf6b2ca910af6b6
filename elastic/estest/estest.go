// Package estest connects integration tests to a real Elasticsearch 8.x: the
// cluster named by ES_URL, or else the local server that
// elastic/estest/es.sh runs for this repository.
//
// Without either, tests that need Elasticsearch skip, unless
// SIEMSCORE_REQUIRE_ES=1 (set by `make test`) turns the skip into a failure.
package estest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

const (
	envURL     = "ES_URL"
	envRequire = "SIEMSCORE_REQUIRE_ES"
	harnessDir = "elastic/estest"
)

// URL returns the base URL, without a trailing slash, of the Elasticsearch
// the test should use, after checking that it answers. Against the local
// server, the test also holds it: outage tests in other test binaries wait
// for the test to end before they stop or restart the server.
func URL(t testing.TB) string {
	t.Helper()
	if u := externalURL(); u != "" {
		if err := ping(u); err != nil {
			t.Fatalf("estest: %s=%s: %v", envURL, u, err)
		}
		return u
	}
	h := localHarness(t)
	// The run directory exists once es.sh has started a server. Join the server's users
	// before reading its URL: while an outage test in another package has it stopped, the
	// URL file is gone, and enter waits for the outage to end.
	if _, err := os.Stat(h.run()); err != nil {
		unavailable(t, "no local Elasticsearch has been started (%s is absent)", h.run())
	}
	co := coordinatorFor(h.run())
	if err := co.enter(); err != nil {
		t.Fatalf("estest: %v", err)
	}
	t.Cleanup(co.leave)
	raw, err := os.ReadFile(h.urlFile())
	if err != nil {
		unavailable(t, "no local Elasticsearch is running (%s): %v", h.urlFile(), err)
	}
	u := strings.TrimRight(strings.TrimSpace(string(raw)), "/")
	if err := ping(u); err != nil {
		unavailable(t, "the local Elasticsearch at %s (from %s) does not answer: %v", u, h.urlFile(), err)
	}
	return u
}

// Client returns a go-elasticsearch client for URL(t) with the library's
// default settings, so tests see the behaviour production code gets.
func Client(t testing.TB) *elasticsearch.Client {
	t.Helper()
	u := URL(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{u}})
	if err != nil {
		t.Fatalf("estest: client for %s: %v", u, err)
	}
	return c
}

func externalURL() string {
	return strings.TrimRight(strings.TrimSpace(os.Getenv(envURL)), "/")
}

// unavailable skips the test, or fails it when the run promised a cluster.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf("estest: "+format, args...) +
		"; run `make test`, or `" + harnessDir + "/es.sh start`, or set " + envURL
	if os.Getenv(envRequire) == "1" {
		t.Fatal(msg + " (" + envRequire + "=1 forbids skipping)")
	}
	t.Skip(msg)
}

// ping waits briefly for the cluster to be usable and checks that it is
// Elasticsearch as go-elasticsearch understands it (product header).
func ping(u string) error {
	hc := http.Client{Timeout: 40 * time.Second}
	res, err := hc.Get(u + "/_cluster/health?wait_for_status=yellow&timeout=30s")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("cluster health: HTTP %s", res.Status)
	}
	if p := res.Header.Get("X-Elastic-Product"); p != "Elasticsearch" {
		return fmt.Errorf("cluster health: X-Elastic-Product is %q, not Elasticsearch", p)
	}
	return nil
}

// harness locates elastic/estest in this repository.
type harness struct{ dir string }

func localHarness(t testing.TB) harness {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("estest: %v", err)
	}
	return harness{dir: filepath.Join(root, filepath.FromSlash(harnessDir))}
}

func (h harness) run() string     { return filepath.Join(h.dir, "run") }
func (h harness) urlFile() string { return filepath.Join(h.run(), "url") }
func (h harness) script() string  { return filepath.Join(h.dir, "es.sh") }

// repoRoot walks up from the working directory (go test runs in the
// package's directory) to the directory holding go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repository root: %w", err)
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("repository root: no go.mod above %s", wd)
		}
	}
}
