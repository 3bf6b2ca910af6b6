package plugintest_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/esfault"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// TestElasticsearchOutageMidStream stops Elasticsearch while chunks keep coming, checks that
// the flushes meanwhile ask Fluent Bit to retry, restarts it, and checks that in the end every
// record is there exactly once.
func TestElasticsearchOutageMidStream(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ns := estest.Namespace(t)
	bodies := plugintest.Mixed(20_000)
	want := expectedDocs(t, bodies)
	chunks := chunking(t, bodies, 500, 0, "aws.outage")

	var (
		mu      sync.Mutex
		routed  int
		retries int
	)
	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return routed, retries
	}
	var stderr strings.Builder
	h, err := flbtest.Start(context.Background(), flbtest.Config{
		Plugin: so,
		Instances: []flbtest.Instance{{Props: map[string]string{
			"es_hosts": db.url, "es_namespace": ns, "es_retry_budget": "1s", "es_timeout": "5s",
		}}},
		Workers:    2,
		RetryLimit: "no_limits",
		RetryBase:  200 * time.Millisecond,
		RetryCap:   2 * time.Second,
		Verbose:    2,
		OnEvent: func(ev flbtest.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ev.Event == "route" && ev.Outcome == "delivered":
				routed++
			case ev.Event == "flush" && ev.RC == 2:
				retries++
			}
		},
		Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Send(chunks[:10]...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Minute, "the first chunks to be delivered", func() bool { r, _ := count(); return r == 10 })

	estest.Stop(t)
	if err := h.Send(chunks[10:20]...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "flushes to return RETRY while Elasticsearch is down", func() bool { _, r := count(); return r >= 5 })
	if r, _ := count(); r > 10 {
		t.Errorf("%d chunks were reported delivered with Elasticsearch down", r-10)
	}
	estest.Start(t)

	if err := h.Send(chunks[20:]...); err != nil {
		t.Fatal(err)
	}
	if err := h.CloseInput(); err != nil {
		t.Fatal(err)
	}
	sum, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != uint64(len(chunks)) || sum.Dropped != 0 || sum.Retry == 0 {
		t.Errorf("host: %d of %d chunks delivered, %d dropped, %d RETRY flushes", sum.Delivered, len(chunks), sum.Dropped, sum.Retry)
	}
	t.Logf("%d flushes returned RETRY during the outage; %d chunks re-sent at most %d times", sum.Retry, len(chunks), sum.MaxAttempts)
	checkExactlyOnce(t, db, ns, want)
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPerItemRejections puts esfault in front of the real server: a 429 storm on every record
// (retried in-process), a longer storm on some records (beyond the flush's retry budget, so
// Fluent Bit re-sends the chunk), and mapping rejections on the GuardDuty records
// (dead-lettered). The records written, the duplicates and the dead letters add up to the input.
func TestPerItemRejections(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ns := estest.Namespace(t)
	proxy := esfault.New(t, db.url)
	dead := target.DeadLetter(ns)
	proxy.SetItemFault(func(it esfault.Item) int {
		switch {
		case it.Index == dead:
			return 0
		case it.Index == target.DataStream("guardduty", ns):
			return http.StatusBadRequest
		case strings.HasSuffix(it.ID, "A") && it.Seen < 6:
			return http.StatusTooManyRequests // a long storm for one record in 64
		case it.Seen < 2:
			return http.StatusTooManyRequests
		}
		return 0
	})
	bodies := plugintest.Mixed(4000)
	want := expectedDocs(t, bodies)
	gd := 0
	for _, b := range bodies {
		if b.Kind == ecs.KindGuardDuty {
			gd++
		}
	}
	chunks := chunking(t, bodies, 250, 0, "aws.faults")

	var stderr strings.Builder
	sum, err := flbtest.Run(context.Background(), flbtest.Config{
		Plugin: so,
		Instances: []flbtest.Instance{{Props: map[string]string{
			"es_hosts": proxy.URL(), "es_namespace": ns, "es_retry_budget": "2s",
		}}},
		Workers:    4,
		RetryLimit: "no_limits",
		RetryBase:  100 * time.Millisecond,
		RetryCap:   time.Second,
		Stderr:     &stderr,
	}, chunks...)
	if err != nil {
		t.Fatal(err)
	}
	st := proxy.Stats()
	t.Logf("proxy: %d bulk requests, %d items forwarded, faked %v; host: %d RETRY flushes, max attempts %d",
		st.BulkRequests, st.Forwarded, st.Faked, sum.Retry, sum.MaxAttempts)
	if sum.Delivered != uint64(len(chunks)) || sum.Dropped != 0 {
		t.Errorf("host: %d of %d chunks delivered, %d dropped", sum.Delivered, len(chunks), sum.Dropped)
	}
	// A re-sent chunk's GuardDuty records are refused again (and dead-lettered under the same
	// _id), hence at least one 400 per GuardDuty record.
	if st.Faked[http.StatusTooManyRequests] == 0 || st.Faked[http.StatusBadRequest] < gd {
		t.Errorf("faults injected %v; want 429s and at least one 400 per GuardDuty record", st.Faked)
	}
	if sum.MaxAttempts < 2 {
		t.Error("no chunk outlasted its retry budget: the long storm did not reach Fluent Bit's retry")
	}

	// GuardDuty records are all dead-lettered; the rest are written exactly once.
	want[ecs.KindGuardDuty] = &expectation{byMarker: map[string]int{}}
	checkExactlyOnce(t, db, ns, want)
	if got, _ := db.markerCounts(dead, "siemscore.deadletter.kind"); got["guardduty"] != gd || len(got) != 1 {
		t.Errorf("dead letters by kind %v, want %d guardduty (the GuardDuty records)", got, gd)
	}
	tot := totals(t, stderr.String(), "siemscore.0")
	written := len(bodies) - gd
	// Each record is created once; re-sent chunks find their records there (duplicates) and
	// dead-letter the refused ones again under the same _id.
	if tot["written"] != written || tot["dead_lettered"] < gd || tot["retries"] == 0 {
		t.Errorf("plugin totals %v: want %d written, at least %d dead-lettered, some retries", tot, written, gd)
	}
}

// TestHotReload reloads the plugin every few chunks while records flow, as Fluent Bit's
// Hot_Reload does: the new instances start in the same Go runtime (globals survive) while the
// old ones drain and exit. Every record still arrives exactly once.
func TestHotReload(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ns := estest.Namespace(t)
	bodies := plugintest.Mixed(8000)
	want := expectedDocs(t, bodies)
	chunks := chunking(t, bodies, 250, 4, "aws.reload")

	var stderr strings.Builder
	sum, err := flbtest.Run(context.Background(), flbtest.Config{
		Plugin:      so,
		Instances:   []flbtest.Instance{{Props: map[string]string{"es_hosts": db.url, "es_namespace": ns}}},
		Workers:     2,
		RetryLimit:  "no_limits",
		RetryBase:   100 * time.Millisecond,
		HotReload:   true,
		ReloadEvery: 8,
		Stderr:      &stderr,
	}, chunks...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Reloads == 0 || sum.Delivered != uint64(len(chunks)) || sum.Dropped != 0 {
		t.Errorf("host: %d reloads, %d of %d chunks delivered, %d dropped", sum.Reloads, sum.Delivered, len(chunks), sum.Dropped)
	}
	// Each generation's instance starts and stops once.
	if starts, stops := strings.Count(stderr.String(), "] started "), strings.Count(stderr.String(), "] stopped "); starts != int(sum.Reloads)+1 || stops != starts {
		t.Errorf("%d starts and %d stops for %d reloads", starts, stops, sum.Reloads)
	}
	checkExactlyOnce(t, db, ns, want)
}
