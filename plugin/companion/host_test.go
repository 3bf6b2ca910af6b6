package companion

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/cmd/siemscore/trainer"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// The test binary doubles as the companion: run with envCompanion set, it serves a
// trainer.Service that follows the models index named by envURL and envIndex (no training).
const (
	envCompanion = "SIEMSCORE_HOST_TEST_COMPANION"
	envURL       = "SIEMSCORE_HOST_TEST_ES"
	envIndex     = "SIEMSCORE_HOST_TEST_INDEX"
)

func TestMain(m *testing.M) {
	if os.Getenv(envCompanion) != "" {
		runCompanion()
		return
	}
	os.Exit(m.Run())
}

func runCompanion() {
	log := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug})
	cfg := trainer.DefaultConfig()
	cfg.RetrainEvery, cfg.WatchEvery, cfg.Log = 0, 100*time.Millisecond, log
	if url := os.Getenv(envURL); url != "" {
		es, err := esclient.New(esclient.Config{Hosts: []string{url}, RequestTimeout: 10 * time.Second,
			MaxRetries: 1, RetryBackoff: esclient.Backoff{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond}}, nil)
		if err != nil {
			log.Error("companion", "error", err)
			os.Exit(2)
		}
		cfg.Index, _ = modelstore.NewIndex(es, os.Getenv(envIndex), 0)
	}
	svc, err := trainer.New(cfg)
	if err != nil {
		log.Error("companion", "error", err)
		os.Exit(2)
	}
	trainer.Serve(svc, log)
}

type fixture struct {
	index *modelstore.Index
	cfg   Config
	out   *flblogtest.Buffer
}

// newFixture prepares a models index and the configuration of a companion following it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	url := estest.URL(t)
	es := readertest.Client(t, url)
	name := estest.UniqueName(t, "siemscore-models")
	x, err := modelstore.NewIndex(es, name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{name}); err == nil {
			res.Body.Close()
		}
	})
	out := &flblogtest.Buffer{}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{index: x, out: out, cfg: Config{
		Path: exe, Env: []string{envCompanion + "=1", envURL + "=" + url, envIndex + "=" + name},
		CacheDir: t.TempDir(), Index: x,
		PingEvery: 200 * time.Millisecond, PingTimeout: time.Second, PollWait: 2 * time.Second,
		RestartMin: 100 * time.Millisecond, RestartMax: time.Second, StatusEvery: time.Hour,
		Log: hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Debug}),
	}}
}

func (f *fixture) publish(t *testing.T, sec int) bundle.Version {
	t.Helper()
	v := bundletest.Version(sec, 0)
	b := bundletest.Bundle(t, v)
	if _, err := f.index.Put(context.Background(), b.Header(), bundletest.Encode(t, b)); err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) acquire(t *testing.T) *Lease {
	t.Helper()
	l, err := Acquire(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// eventually waits up to 30 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func versionOf(l *Lease) string {
	if b := l.Scorer().Bundle(); b != nil {
		return b.VersionString()
	}
	return ""
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// TestSwapsFollowTheCompanion: the bundle in the index is installed before Acquire returns, then
// every valid version the companion announces is swapped in, in order, into every lease of the
// one shared companion; a NaN-weighted version is rejected and counted and the previous one stays.
func TestSwapsFollowTheCompanion(t *testing.T) {
	f := newFixture(t)
	v1 := f.publish(t, 1)
	before := Metrics.Snapshot()
	a := f.acquire(t)
	if got := versionOf(a); got != v1.String() {
		t.Fatalf("after Acquire the scorer has %q, want %s from the models index", got, v1)
	}
	b := f.acquire(t)
	if a.c != b.c {
		t.Fatal("two leases with one configuration got two companions")
	}
	eventually(t, "the companion to start", func() bool { return a.c.pid.Load() != 0 })

	v2 := f.publish(t, 2)
	eventually(t, "version 2", func() bool { return versionOf(a) == v2.String() && versionOf(b) == v2.String() })

	v3 := bundletest.Version(3, 0)
	bad := bundletest.Bundle(t, v3)
	if _, err := f.index.Put(context.Background(), bad.Header(), bundletest.WithNaN(t, bundletest.Encode(t, bad))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rejection", func() bool { return Metrics.Snapshot().Rejected > before.Rejected })
	if versionOf(a) != v2.String() {
		t.Errorf("after a NaN bundle the scorer has %s, want %s", versionOf(a), v2)
	}
	v4 := f.publish(t, 4)
	eventually(t, "version 4", func() bool { return versionOf(a) == v4.String() })

	after := Metrics.Snapshot()
	if after.Swaps-before.Swaps != 3 || after.Rejected-before.Rejected != 1 || after.Version != v4.String() {
		t.Errorf("metrics moved from %+v to %+v; want 3 swaps and 1 rejection", before, after)
	}
	log := f.out.String()
	if !strings.Contains(log, "model bundle rejected") || !strings.Contains(log, "non-finite") {
		t.Errorf("the rejection is not logged with its reason:\n%s", log)
	}

	// A record carries the version that scored it.
	rec := ecs.Record{Kind: ecs.KindGuardDuty, Doc: &ecs.Document{}}
	a.Scorer().Score(&rec)
	if rec.Doc.SiemScore.Model.Version != v4.String() || rec.Doc.SiemScore.Model.Status != ecs.ModelScored {
		t.Errorf("record scored as %+v", rec.Doc.SiemScore.Model)
	}
	if Metrics.Snapshot().Scored <= before.Scored {
		t.Error("the scored record was not counted")
	}
}

// TestKill9RestartsTheCompanion: a companion killed with SIGKILL is restarted; scoring keeps the
// installed bundle meanwhile, and versions published afterwards still arrive.
func TestKill9RestartsTheCompanion(t *testing.T) {
	f := newFixture(t)
	v1 := f.publish(t, 1)
	restarts := Metrics.Snapshot().Restarts
	l := f.acquire(t)
	eventually(t, "the companion to start", func() bool { return l.c.pid.Load() != 0 })
	pid := int(l.c.pid.Load())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if versionOf(l) != v1.String() {
		t.Errorf("scorer lost its bundle when the companion died: %q", versionOf(l))
	}
	eventually(t, "a new companion", func() bool { p := l.c.pid.Load(); return p != 0 && int(p) != pid })
	if Metrics.Snapshot().Restarts <= restarts {
		t.Error("the restart was not counted")
	}
	v2 := f.publish(t, 2)
	eventually(t, "version 2 from the new companion", func() bool { return versionOf(l) == v2.String() })
}

// TestHungCompanionIsReplaced: a companion that stops answering (SIGSTOP) is killed and
// replaced.
func TestHungCompanionIsReplaced(t *testing.T) {
	f := newFixture(t)
	f.publish(t, 1)
	l := f.acquire(t)
	eventually(t, "the companion to start", func() bool { return l.c.pid.Load() != 0 })
	pid := int(l.c.pid.Load())
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new companion", func() bool { p := l.c.pid.Load(); return p != 0 && int(p) != pid })
	eventually(t, "the hung process to be gone", func() bool { return !alive(pid) })
	if !strings.Contains(f.out.String(), "not answering") {
		t.Errorf("the hang is not logged:\n%s", f.out.String())
	}
}

// TestCloseStopsTheCompanion: closing the last lease stops the process; closing one of two does
// not.
func TestCloseStopsTheCompanion(t *testing.T) {
	f := newFixture(t)
	a, err := Acquire(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Acquire(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the companion to start", func() bool { return a.c.pid.Load() != 0 })
	pid := int(a.c.pid.Load())
	a.Close()
	time.Sleep(300 * time.Millisecond)
	if !alive(pid) {
		t.Fatal("closing one of two leases stopped the companion")
	}
	b.Close()
	b.Close() // idempotent
	if alive(pid) {
		t.Errorf("companion %d still running after the last lease closed", pid)
	}
	if strings.Contains(f.out.String(), "restarting") {
		t.Errorf("a clean stop was taken for a crash:\n%s", f.out.String())
	}
}

// TestWithoutAnyBundleRecordsShipUnscored: no bundle anywhere and a companion that cannot even
// start: Acquire still succeeds, records are marked untrained, and the start is retried.
func TestWithoutAnyBundleRecordsShipUnscored(t *testing.T) {
	out := &flblogtest.Buffer{}
	before := Metrics.Snapshot()
	l, err := Acquire(Config{
		Path: "/nonexistent/siemscore", CacheDir: t.TempDir(), RestartMin: 10 * time.Millisecond, RestartMax: 50 * time.Millisecond,
		Log: hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Debug}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := ecs.Record{Kind: ecs.KindGuardDuty, Doc: &ecs.Document{}}
	l.Scorer().Score(&rec)
	if rec.Doc.SiemScore.Model.Status != ecs.ModelUntrained {
		t.Errorf("record status %q, want untrained", rec.Doc.SiemScore.Model.Status)
	}
	eventually(t, "restart attempts", func() bool { return Metrics.Snapshot().Restarts >= before.Restarts+3 })
	if Metrics.Snapshot().Untrained <= before.Untrained {
		t.Error("the unscored record was not counted")
	}
	if _, err := Acquire(Config{}); err == nil {
		t.Error("a configuration without a path was accepted")
	}
}

func TestFetchRejectsAMismatchedChecksum(t *testing.T) {
	c := newCompanion(Config{}.withDefaults(), Metrics)
	good := bundletest.Encode(t, bundletest.Bundle(t, bundletest.Version(1, 0)))
	fake := fakeModels{data: good}
	a := fake.announce("20261123T090001Z.0000")
	a.SHA256[0] ^= 1
	if _, err := c.fetch(fake, a); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("mismatched checksum: %v", err)
	}
	a = fake.announce("20261123T090001Z.0000")
	if b, err := c.fetch(fake, a); err != nil || b.VersionString() != a.Version {
		t.Errorf("good bundle: %v, %v", b, err)
	}
	a.Version = "20261123T090002Z.0000"
	if _, err := c.fetch(fake, a); err == nil || !strings.Contains(err.Error(), "holds") {
		t.Errorf("bundle announced under another version: %v", err)
	}
}

// fakeModels serves one bundle's bytes in small pieces.
type fakeModels struct{ data []byte }

func (f fakeModels) announce(v string) shared.Announcement {
	return shared.Announcement{Version: v, Size: int64(len(f.data)), SHA256: sha256.Sum256(f.data)}
}

func (fakeModels) Poll(shared.Cursor, time.Duration) (shared.State, error) {
	return shared.State{}, errors.New("not used")
}

func (f fakeModels) Read(_ string, off int64, limit int) ([]byte, error) {
	return f.data[off:min(int64(len(f.data)), off+int64(min(limit, 1000)))], nil
}
