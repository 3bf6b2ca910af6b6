package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/processors/ecs"
)

// The plugin passes the companion its connection in the variables assets install reads.
func TestCompanionEnvironmentIsTheCLIs(t *testing.T) {
	for cli, shared := range map[string]string{shared.EnvESURL: shared.EnvESURL, shared.EnvESAPIKey: shared.EnvESAPIKey, shared.EnvESUser: shared.EnvESUser, shared.EnvESPassword: shared.EnvESPassword, shared.EnvBundleKey: shared.EnvBundleKey} {
		if cli != shared {
			t.Errorf("the CLI reads %s, the plugin sets %s", cli, shared)
		}
	}
}

func TestTrainerRefusesToRunByHand(t *testing.T) {
	r := cli(t, "", nil, "trainer").must(t, exitUsage)
	if !strings.Contains(r.stderr, "--standalone") {
		t.Errorf("stderr does not point at --standalone:\n%s", r.stderr)
	}
	cli(t, "", nil, "trainer", "--standalone", "--log-level", "loud").must(t, exitUsage)
}

// TestTrainFromElasticsearch trains from documents in the real Elasticsearch, publishes to a
// models index, and on a second run publishes a newer version (also written to --output).
func TestTrainFromElasticsearch(t *testing.T) {
	url := estest.URL(t)
	es := readertest.Client(t, url)
	ns := readertest.Namespace(t, url)
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 2, 8, 10, 9
	cfg.Start = time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
	data, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ipnet.WriteCloudTrail(&buf, 5, data.Train); err != nil {
		t.Fatal(err)
	}
	readertest.Deliver(t, url, ns, readertest.Records(t, readertest.JSONLines(t, &buf), nil))
	models := estest.UniqueName(t, "siemscore-models")
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{models}); err == nil {
			res.Body.Close()
		}
	})
	args := []string{"train", "--from-es", "--es-url", url, "--models-index", models, "--window", "288h",
		"--cloudtrail-index", readertest.Stream(ecs.KindCloudTrail, ns),
		"--kerberos-index", readertest.Stream(ecs.KindKerberos, ns), "--ip-epochs", "2", "--ip-vector-dim", "16"}

	first := strings.TrimSpace(cli(t, "", nil, args...).must(t, exitOK).stdout)
	out := filepath.Join(t.TempDir(), "model.bundle")
	second := strings.TrimSpace(cli(t, "", nil, append(args, "--output", out)...).must(t, exitOK).stdout)
	if _, err := bundle.ParseVersion(first); err != nil || second <= first {
		t.Fatalf("published %q then %q", first, second)
	}
	x, err := modelstore.NewIndex(es, models, 0)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := x.List(context.Background(), 10)
	if err != nil || len(ms) != 2 || ms[0].Version != second {
		t.Fatalf("models index holds %+v (%v)", ms, err)
	}
	b, err := bundle.ReadFile(out, bundle.DecodeOptions{})
	if err != nil || b.VersionString() != second || b.IP() == nil {
		t.Fatalf("--output: %v, %v", b, err)
	}
	cli(t, "", nil, "train", "--from-es", "stray-file").must(t, exitUsage)
}
