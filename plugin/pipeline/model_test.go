package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

func publish(t *testing.T, path string, at time.Time) *bundle.Bundle {
	t.Helper()
	b, err := plugintest.PublishBundle(path, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func scoredVersion(m *model) string {
	recs, _ := processors.New(processors.Options{})
	r := recs.Append(nil, plugintest.CloudTrail(1), plugintest.Base)
	m.Score(&r[0])
	if r[0].Doc.SiemScore.Model.Status != ecs.ModelScored {
		return r[0].Doc.SiemScore.Model.Status
	}
	return r[0].Doc.SiemScore.Model.Version
}

func TestModelLoadsAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.bundle")
	v1 := publish(t, path, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	var logs flblogtest.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	m, err := openModel(path, 20*time.Millisecond, bundle.DecodeOptions{}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := scoredVersion(m); got != v1.VersionString() {
		t.Fatalf("scored by %q, want %s", got, v1.VersionString())
	}

	v2 := publish(t, path, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	waitFor(t, func() bool { return scoredVersion(m) == v2.VersionString() }, "the newer bundle to be loaded")

	// A broken file is reported and the current bundle kept.
	if err := os.WriteFile(path, []byte("garbage, not a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "model bundle not reloaded") }, "the broken bundle to be reported")
	if got := scoredVersion(m); got != v2.VersionString() {
		t.Errorf("after a broken file, scored by %q, want %s", got, v2.VersionString())
	}
}

func TestModelErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.bundle")
	if err := os.WriteFile(corrupt, []byte("SIEMSCOR but not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{corrupt, filepath.Join(dir, "missing.bundle")} {
		_, err := openModel(path, 0, bundle.DecodeOptions{}, nil, hclog.NewNullLogger())
		if err == nil || !strings.HasPrefix(err.Error(), "model_bundle: ") {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestModelKeyRefusesUnsignedBundles: with model_bundle_key set, an unsigned bundle fails Init
// naming the key's reason, and one replacing a signed bundle is reported and not loaded (the
// signed one goes on scoring); a bundle signed with another key is refused alike.
func TestModelKeyRefusesUnsignedBundles(t *testing.T) {
	dir := t.TempDir()
	key, opt := []byte("the-trainers-key"), bundle.DecodeOptions{Key: []byte("the-trainers-key")}

	unsigned := filepath.Join(dir, "unsigned.bundle")
	publish(t, unsigned, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if _, err := openModel(unsigned, 0, opt, nil, hclog.NewNullLogger()); err == nil ||
		!strings.HasPrefix(err.Error(), "model_bundle: ") || !strings.Contains(err.Error(), "unsigned bundles are rejected") {
		t.Errorf("unsigned bundle with a key: %v", err)
	}

	path := filepath.Join(dir, "model.bundle")
	v1, err := plugintest.PublishBundle(path, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), key)
	if err != nil {
		t.Fatal(err)
	}
	var logs flblogtest.Buffer
	m, err := openModel(path, 20*time.Millisecond, opt, nil, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := scoredVersion(m); got != v1.VersionString() {
		t.Fatalf("scored by %q, want the signed %s", got, v1.VersionString())
	}

	for _, tc := range []struct {
		name string
		key  []byte
		says string
	}{
		{"unsigned", nil, "unsigned bundles are rejected when a key is configured"},
		{"signed with another key", []byte("someone-elses-key"), "not signed with the configured key"},
	} {
		at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		if tc.key != nil {
			at = at.Add(24 * time.Hour)
		}
		// Written beside and renamed over the signed one, as another trainer would.
		next := filepath.Join(t.TempDir(), "next.bundle")
		newer, err := plugintest.PublishBundle(next, at, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, path); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return strings.Contains(logs.String(), tc.says) }, "the "+tc.name+" bundle to be reported")
		if got := scoredVersion(m); got != v1.VersionString() {
			t.Errorf("%s bundle %s: scored by %q, want the signed %s", tc.name, newer.VersionString(), got, v1.VersionString())
		}
	}
	if !strings.Contains(logs.String(), "model bundle not reloaded; scoring goes on with the current one") {
		t.Errorf("the refusal is not logged as such:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), string(key)) {
		t.Errorf("the key shows in the log:\n%s", logs.String())
	}
}

// A panic in a file watcher (the bundle's, the geo databases') must not kill Fluent Bit, nor the
// watcher: it is logged, and the next change is reloaded as usual.
func TestWatcherSurvivesAPanic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.bundle")
	if err := os.WriteFile(path, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs flblogtest.Buffer
	var rounds atomic.Int32
	w := watch([]string{path}, stamps([]string{path}), 20*time.Millisecond, func() {
		if rounds.Add(1) == 1 {
			var b *bundle.Bundle
			_ = b.VersionString() // a nil dereference, as a bug would cause
		}
	}, "bundle watcher", hclog.New(&hclog.LoggerOptions{Output: &logs}))
	defer w.Close()
	replace := func(content string) {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	replace("v2")
	waitFor(t, func() bool { return strings.Contains(logs.String(), "bundle watcher panicked") }, "the panic to be logged")
	replace("v3")
	waitFor(t, func() bool { return rounds.Load() >= 2 }, "the watcher to reload after the panic")
}
