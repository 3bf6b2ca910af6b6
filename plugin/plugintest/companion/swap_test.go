package companion

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/plugin/flbtest"
)

// scrape returns the plugin's Prometheus metrics.
func scrape(t *testing.T, port int) string {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("metrics endpoint: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// TestSwapsWhileRecordsFlow streams CloudTrail records steadily through two siemscore outputs
// sharing one companion while six new versions are published to the models index one after
// another. Every record must reach Elasticsearch exactly once, scored by a published version,
// with versions never going back in record order, and every version must have scored records.
// The companion must be gone when Fluent Bit stops.
func TestSwapsWhileRecordsFlow(t *testing.T) {
	so, cli := binaries(t)
	e := newEnv(t)
	versions := []bundle.Version{bundletest.Version(0, 0)}
	b0 := bundletest.Bundle(t, versions[0])
	e.put(b0, bundletest.Encode(t, b0))

	nsA, nsB := readertest.Namespace(t, e.url), readertest.Namespace(t, e.url)
	port := freePort(t)
	cache := t.TempDir()
	a := e.props(cli, nsA, "a", cache, "0")
	a["metrics_port"] = fmt.Sprint(port)
	b := e.props(cli, nsB, "b", cache, "0")
	h, log := startHost(t, flbtest.Config{
		Plugin: so, Instances: []flbtest.Instance{{Props: a}, {Props: b}},
		Interval: 30 * time.Millisecond, RetryLimit: "no_limits", RetryBase: 100 * time.Millisecond, RetryCap: time.Second,
	})
	f := startFeeder(t, h, 25, 3000)
	waitFor(t, time.Minute, "the companion", func() bool { return len(companions(e.models.Name())) == 1 })
	if !swappedTo(log, versions[0].String()) {
		t.Fatalf("the bundle in the models index was not loaded at start:\n%s", log)
	}
	// Each version scores records of both outputs before the next one is published.
	scoredByBoth := func(v bundle.Version) {
		waitFor(t, time.Minute, "records of both outputs scored by "+v.String(), func() bool {
			return e.scoredBy(nsA, v.String()) && e.scoredBy(nsB, v.String())
		})
	}
	for i := 1; i <= 6; i++ {
		scoredByBoth(versions[i-1])
		v := bundletest.Version(i, 0)
		bi := bundletest.Bundle(t, v)
		e.put(bi, bundletest.Encode(t, bi))
		versions = append(versions, v)
		waitFor(t, 30*time.Second, "version "+v.String(), func() bool { return swappedTo(log, v.String()) })
	}
	scoredByBoth(versions[6])
	metrics := scrape(t, port)
	if n := len(companions(e.models.Name())); n != 1 {
		t.Errorf("%d companions for two outputs configured alike, want 1", n)
	}
	records := f.stop(t)
	sum, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sum.MaxAttempts > 1 || sum.Dropped != 0 {
		t.Errorf("host summary: max attempts %d, dropped %d", sum.MaxAttempts, sum.Dropped)
	}
	for _, ins := range sum.Instances {
		t.Logf("instance %s: flush p50 %.0f µs, p99 %.0f µs, max %.0f µs", ins.Name, ins.FlushP50Micros, ins.FlushP99Micros, ins.FlushMaxMicros)
	}
	waitFor(t, 15*time.Second, "the companion to stop with Fluent Bit", func() bool { return len(companions(e.models.Name())) == 0 })

	var allowed []string
	for _, v := range versions {
		allowed = append(allowed, v.String())
	}
	for _, ns := range []string{nsA, nsB} {
		used := e.checkRecords(ns, 0, records, allowed)
		t.Logf("%s: %d records, versions in record order %v", ns, records, used)
		if len(used) != len(versions) {
			t.Errorf("%s: %d versions scored records, want all %d", ns, len(used), len(versions))
		}
	}
	for _, want := range []string{
		"siemscore_model_swaps_total 7",
		`siemscore_model_info{version="` + versions[6].String() + `"} 1`,
		"siemscore_model_bundles_rejected_total 0",
		"siemscore_records_scored_total",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

// rejectedLine starts the plugin's own line about a rejected bundle (the companion's, forwarded
// to the same log, says "serving the previous one").
const rejectedLine = "model bundle rejected; scoring goes on"

// TestCorruptBundlesAreRejected plants a bundle with NaN weights (under a valid checksum) and one
// with a bad checksum in the models index while records flow: both are rejected with a log line,
// records go on being scored by the previous version, and the next valid version is taken.
func TestCorruptBundlesAreRejected(t *testing.T) {
	so, cli := binaries(t)
	e := newEnv(t)
	v1, nan, bad, v4 := bundletest.Version(1, 0), bundletest.Version(2, 0), bundletest.Version(3, 0), bundletest.Version(4, 0)
	b1 := bundletest.Bundle(t, v1)
	e.put(b1, bundletest.Encode(t, b1))

	ns := readertest.Namespace(t, e.url)
	const size = 40
	h, log := startHost(t, flbtest.Config{
		Plugin: so, Instances: []flbtest.Instance{{Props: e.props(cli, ns, "a", t.TempDir(), "0")}},
		Interval: 30 * time.Millisecond, RetryLimit: "no_limits", RetryBase: 100 * time.Millisecond, RetryCap: time.Second,
	})
	f := startFeeder(t, h, size, 3000)
	waitFor(t, time.Minute, "version 1", func() bool { return swappedTo(log, v1.String()) })
	waitFor(t, time.Minute, "records scored by version 1", func() bool { return e.scoredBy(ns, v1.String()) })
	bn := bundletest.Bundle(t, nan)
	e.put(bn, bundletest.WithNaN(t, bundletest.Encode(t, bn)))
	bb := bundletest.Bundle(t, bad)
	e.put(bb, bundletest.WithBadChecksum(bundletest.Encode(t, bb)))
	waitFor(t, 30*time.Second, "two rejections", func() bool { return strings.Count(log.String(), rejectedLine) >= 2 })
	for _, want := range []string{"non-finite", "checksum mismatch"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("no rejection says %q", want)
		}
	}
	// Records sent after the rejections must be in Elasticsearch, scored by version 1, before
	// version 4 is published.
	f.waitSent(t, 10, "after the rejections")
	after := int(f.sent.Load()) * size
	waitFor(t, 30*time.Second, "the records sent after the rejections", func() bool { return len(e.docs(ns)) >= after })
	b4 := bundletest.Bundle(t, v4)
	e.put(b4, bundletest.Encode(t, b4))
	waitFor(t, 30*time.Second, "version 4", func() bool { return swappedTo(log, v4.String()) })
	waitFor(t, time.Minute, "records scored by version 4", func() bool { return e.scoredBy(ns, v4.String()) })
	records := f.stop(t)
	if _, err := h.Wait(); err != nil {
		t.Fatal(err)
	}
	used := e.checkRecords(ns, 0, records, []string{v1.String(), v4.String()})
	if len(used) != 2 {
		t.Errorf("versions in record order %v, want %s then %s", used, v1, v4)
	}
	for _, d := range e.docs(ns) {
		if d.seq == after-1 && d.version != v1.String() {
			t.Errorf("record %d, sent after the rejections, scored by %s, want %s", d.seq, d.version, v1)
		}
	}
	if n := strings.Count(log.String(), rejectedLine); n != 2 {
		t.Errorf("%d rejection lines, want one per bad version", n)
	}
	for _, v := range []bundle.Version{nan, bad} {
		if swappedTo(log, v.String()) {
			t.Errorf("the rejected version %s was swapped in", v)
		}
	}
}
