package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hashicorp/go-hclog"
	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/flblog"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

func openFor(t *testing.T, props config.Map) *Instance {
	t.Helper()
	cfg, err := config.Load(props)
	if err != nil {
		t.Fatal(err)
	}
	var logs flblogtest.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	in, err := Open(cfg, flblog.New(&logs, "test", cfg.LogLevel))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestShutdownLeaksNoGoroutines delivers a chunk for real, then closes the instance: nothing it
// started (HTTP connections, the model watcher) may outlive Close.
func TestShutdownLeaksNoGoroutines(t *testing.T) {
	url := estest.URL(t)
	ns := strings.TrimPrefix(estest.UniqueName(t, "x"), "x-")
	bundlePath := t.TempDir() + "/model.bundle"
	publish(t, bundlePath, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	chunk, err := plugintest.Chunk(plugintest.Mixed(40))
	if err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()

	in := openFor(t, config.Map{"es_hosts": url, "es_namespace": ns, "model_bundle": bundlePath, "model_reload_interval": "1s"})
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("flush: %v", code)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
	for _, k := range []string{"generic", "cloudtrail", "guardduty", "kerberos"} {
		estest.DeleteDataStream(t, "logs-siemscore."+k+"-"+ns)
	}
}

// TestUnreachableElasticsearch: Init still succeeds (the agent must start while the cluster is
// down), flushes ask for a retry, and Close leaks nothing.
func TestUnreachableElasticsearch(t *testing.T) {
	chunk, err := plugintest.Chunk(plugintest.Mixed(8))
	if err != nil {
		t.Fatal(err)
	}
	before := goleak.IgnoreCurrent()
	in := openFor(t, config.Map{"es_hosts": "http://127.0.0.1:1", "es_retry_budget": "1s", "es_timeout": "2s"})
	if code := in.Flush(chunk, tag); code != deliver.Retry {
		t.Errorf("flush with Elasticsearch unreachable = %v, want RETRY", code)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}

// The CA file is read once, when the client is built: a file that is there but holds no
// certificate passes Load and fails Open, naming the key.
func TestOpenNamesTheKeyOfACAFileWithoutCertificates(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Map{"es_hosts": "https://127.0.0.1:1", "es_ca_file": notPEM})
	if err != nil {
		t.Fatalf("Load looked inside the CA file: %v", err)
	}
	_, err = Open(cfg, hclog.NewNullLogger())
	if err == nil || !strings.Contains(err.Error(), "es_ca_file: ") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Open with a CA file without certificates: %v", err)
	}
}
