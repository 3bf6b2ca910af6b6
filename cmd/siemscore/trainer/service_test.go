package trainer_test

import (
	"bytes"
	"context"
	"strings"
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
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/processors/ecs"
)

func logger(out *flblogtest.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: out, Level: hclog.Debug})
}

func newIndex(t *testing.T) *modelstore.Index {
	t.Helper()
	url := estest.URL(t)
	es := readertest.Client(t, url)
	name := estest.UniqueName(t, "siemscore-models")
	x, err := modelstore.NewIndex(es, name, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{name}); err == nil {
			res.Body.Close()
		}
	})
	return x
}

func newCache(t *testing.T) *modelstore.Cache {
	t.Helper()
	c, err := modelstore.NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs svc until the test ends.
func start(t *testing.T, svc *trainer.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor follows svc as a host does until cond holds for its state (with every rejection seen
// so far), or fails the test after a minute.
func waitFor(t *testing.T, svc shared.Models, cond func(shared.State) bool) shared.State {
	t.Helper()
	var cur shared.Cursor
	var rejections []shared.Rejection
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		st, err := svc.Poll(cur, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rejections = append(rejections, st.Rejections...)
		st.Rejections = rejections
		if cond(st) {
			return st
		}
		cur = st.Cursor
	}
	t.Fatal("the companion's state never got there")
	return shared.State{}
}

func served(version string) func(shared.State) bool {
	return func(st shared.State) bool { return st.Current.Version == version }
}

// readAll reads a served bundle in small pieces, as a host does, and decodes it.
func readAll(t *testing.T, svc shared.Models, a shared.Announcement) *bundle.Bundle {
	t.Helper()
	var data []byte
	for int64(len(data)) < a.Size {
		b, err := svc.Read(a.Version, int64(len(data)), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("empty read at %d of %d", len(data), a.Size)
		}
		data = append(data, b...)
	}
	b, err := bundle.Decode(data, bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, x *modelstore.Index, h bundle.Header, data []byte) {
	t.Helper()
	if _, err := x.Put(context.Background(), h, data); err != nil {
		t.Fatal(err)
	}
}

// TestServesTheNewestValidBundle starts from a cached bundle, then follows the models index:
// valid versions are served in order, a NaN-weighted and a corrupt one are rejected and
// reported while the previous version stays served.
func TestServesTheNewestValidBundle(t *testing.T) {
	x, cache := newIndex(t), newCache(t)
	v1, v2, v3, v4, v5 := bundletest.Version(1, 0), bundletest.Version(2, 0), bundletest.Version(3, 0), bundletest.Version(3, 1), bundletest.Version(4, 0)
	if err := cache.Put(bundletest.Bundle(t, v1), nil); err != nil {
		t.Fatal(err)
	}
	var out flblogtest.Buffer
	cfg := trainer.DefaultConfig()
	cfg.Index, cfg.Cache, cfg.RetrainEvery, cfg.WatchEvery, cfg.Log = x, cache, 0, 50*time.Millisecond, logger(&out)
	svc, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)

	st := waitFor(t, svc, served(v1.String()))
	if b := readAll(t, svc, st.Current); b.VersionString() != v1.String() || b.IP() == nil {
		t.Fatalf("read back %v", b)
	}
	// A poll with the current cursor waits for a change.
	began := time.Now()
	if again, err := svc.Poll(st.Cursor, 200*time.Millisecond); err != nil || again.Cursor != st.Cursor || time.Since(began) < 150*time.Millisecond {
		t.Errorf("poll without change: %+v after %v, %v", again, time.Since(began), err)
	}

	b2 := bundletest.Bundle(t, v2)
	put(t, x, b2.Header(), bundletest.Encode(t, b2))
	st = waitFor(t, svc, served(v2.String()))
	if vs, _ := cache.Versions(); len(vs) == 0 || vs[0] != v2.String() {
		t.Errorf("version %s from the index was not cached: %v", v2, vs)
	}

	good3 := bundletest.Encode(t, bundletest.Bundle(t, v3))
	put(t, x, bundletest.Bundle(t, v3).Header(), bundletest.WithNaN(t, good3))
	good4 := bundletest.Encode(t, bundletest.Bundle(t, v4))
	put(t, x, bundletest.Bundle(t, v4).Header(), bundletest.WithBadChecksum(good4))
	st = waitFor(t, svc, func(st shared.State) bool { return len(st.Rejections) >= 2 })
	if st.Current.Version != v2.String() {
		t.Errorf("after two broken versions the companion serves %s, want %s", st.Current.Version, v2)
	}
	reasons := map[string]string{}
	for _, r := range st.Rejections {
		reasons[r.Version] = r.Reason
	}
	if !strings.Contains(reasons[v3.String()], "non-finite") || !strings.Contains(reasons[v4.String()], "checksum") {
		t.Errorf("rejections %v", st.Rejections)
	}
	if _, err := svc.Read(v3.String(), 0, 10); err == nil {
		t.Error("a rejected version can be read")
	}

	b5 := bundletest.Bundle(t, v5)
	put(t, x, b5.Header(), bundletest.Encode(t, b5))
	waitFor(t, svc, served(v5.String()))
	if n := strings.Count(out.String(), "model bundle rejected"); n != 2 {
		t.Errorf("%d rejection lines logged, want 2 (once per version):\n%s", n, out.String())
	}
}

// TestRetrainsAndPublishes trains from the index at start (no bundle yet) and again on demand;
// each run publishes a newer version to the models index and the cache and serves it.
func TestRetrainsAndPublishes(t *testing.T) {
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
	if err := ipnet.WriteCloudTrail(&buf, 3, data.Train); err != nil {
		t.Fatal(err)
	}
	readertest.Deliver(t, url, ns, readertest.Records(t, readertest.JSONLines(t, &buf), nil))

	x, cache := newIndex(t), newCache(t)
	var out flblogtest.Buffer
	tc := trainer.DefaultConfig()
	tc.ES, tc.Index, tc.Cache, tc.Log = es, x, cache, logger(&out)
	tc.RetrainEvery, tc.WatchEvery = time.Hour, 100*time.Millisecond
	tc.Read.CloudTrailIndex = readertest.Stream(ecs.KindCloudTrail, ns)
	tc.Read.KerberosIndex = readertest.Stream(ecs.KindKerberos, ns)
	tc.Read.Window = 12 * 24 * time.Hour
	svc, err := trainer.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	first := waitFor(t, svc, func(st shared.State) bool { return st.Current.Version != "" })
	latest, err := x.Latest(context.Background())
	if err != nil || latest.String() != first.Current.Version {
		t.Fatalf("served %s, index latest %s (%v)", first.Current.Version, latest, err)
	}
	if b := readAll(t, svc, first.Current); b.IP() == nil || b.Periodicity() == nil {
		t.Errorf("trained bundle has sections %v", b.Tags())
	}

	svc.TrainNow()
	second := waitFor(t, svc, func(st shared.State) bool { return st.Current.Version > first.Current.Version })
	if vs, _ := cache.Versions(); len(vs) != 2 || vs[0] != second.Current.Version {
		t.Errorf("cache %v after two runs", vs)
	}
	if !strings.Contains(out.String(), "training done") {
		t.Errorf("no training line in the log:\n%s", out.String())
	}
}

// TestUnreachableElasticsearchKeepsServing: with Elasticsearch down, training fails and is
// retried with backoff, and the cached bundle stays served.
func TestUnreachableElasticsearchKeepsServing(t *testing.T) {
	dead, err := esclient.New(esclient.Config{
		Hosts: []string{"http://127.0.0.1:1"}, RequestTimeout: time.Second,
		RetryBackoff: esclient.Backoff{Min: time.Millisecond, Max: time.Millisecond},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := modelstore.NewIndex(dead, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	cache := newCache(t)
	v1 := bundletest.Version(1, 0)
	if err := cache.Put(bundletest.Bundle(t, v1), nil); err != nil {
		t.Fatal(err)
	}
	var out flblogtest.Buffer
	cfg := trainer.DefaultConfig()
	cfg.ES, cfg.Index, cfg.Cache, cfg.Log = dead, x, cache, logger(&out)
	cfg.RetrainEvery, cfg.WatchEvery, cfg.RetryMin, cfg.RetryMax = time.Hour, 50*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond
	svc, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	waitFor(t, svc, served(v1.String()))
	deadline := time.Now().Add(time.Minute)
	for strings.Count(out.String(), "training failed") < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(out.String(), "training failed"); n < 3 {
		t.Fatalf("%d failed runs logged, want retries:\n%s", n, out.String())
	}
	if cur := svc.Current(); cur == nil || cur.VersionString() != v1.String() {
		t.Errorf("serving %v, want the cached %s", cur, v1)
	}
}
