// Package readertest puts test traffic into the real Elasticsearch the way the plugin does: raw
// event bodies go through the processors (and, optionally, a scorer) and elastic/deliver into
// siemscore's data streams, with siemscore's index templates. Training-data readers and the
// trainer are then tested against documents exactly like production ones.
package readertest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/elastic/template"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Client returns an esclient for url with quick retries, closed when the test ends.
func Client(t testing.TB, url string) *esclient.Client {
	t.Helper()
	c := esclient.DefaultConfig()
	c.Hosts = []string{url}
	c.RequestTimeout = 60 * time.Second
	c.RetryBackoff = esclient.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	cl, err := esclient.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

var installed sync.Map // url -> *install

type install struct {
	once sync.Once
	err  error
}

// Namespace installs siemscore's templates (once per test binary and server) and returns a data
// stream namespace unique to the test, whose data streams are retired when it ends.
func Namespace(t testing.TB, url string) string {
	t.Helper()
	v, _ := installed.LoadOrStore(url, new(install))
	in := v.(*install)
	in.once.Do(func() {
		// Exactly the plugin's templates: test packages run in parallel against one server,
		// and installing a different template would roll over every siemscore data stream,
		// re-opening _id uniqueness under another package's exactly-once checks.
		_, in.err = template.Install(context.Background(), Client(t, url), template.DefaultConfig(), nil)
	})
	if in.err != nil {
		t.Fatalf("readertest: install templates: %v", in.err)
	}
	return estest.Namespace(t)
}

// Stream returns the data stream of kind in namespace ns.
func Stream(kind ecs.Kind, ns string) string { return target.DataStream(kind.String(), ns) }

// Records turns event bodies into records with the plugin's processors (auto-detected types).
// score, if not nil, is applied to each record, as the plugin's scorer would be.
func Records(t testing.TB, bodies []map[string]any, score func(*ecs.Record)) []ecs.Record {
	t.Helper()
	p, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []ecs.Record
	for _, b := range bodies {
		recs = p.Append(recs, b, time.Time{})
	}
	if score != nil {
		for i := range recs {
			score(&recs[i])
		}
	}
	return recs
}

// Deliver writes records into namespace ns's data streams and refreshes them; every record must
// be written.
func Deliver(t testing.TB, url, ns string, recs []ecs.Record) {
	t.Helper()
	cfg := deliver.DefaultConfig()
	cfg.Namespace = ns
	cfg.RetryBackoff = esclient.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	cfg.Templates.Enabled = false // Namespace installed them
	cl := Client(t, url)
	d, err := deliver.New(cl, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	const chunk = 5000
	for i := 0; i < len(recs); i += chunk {
		out := d.Deliver(context.Background(), recs[i:min(i+chunk, len(recs))])
		if out.Status != deliver.OK || out.DeadLettered > 0 {
			t.Fatalf("readertest: deliver records %d..: %+v", i, out)
		}
	}
	Refresh(t, url, ns)
}

// Refresh makes everything written to namespace ns searchable.
func Refresh(t testing.TB, url, ns string) {
	t.Helper()
	c := Client(t, url)
	res, err := c.Indices.Refresh(c.Indices.Refresh.WithIndex(target.DataStream("*", ns)))
	if err != nil {
		t.Fatalf("readertest: refresh: %v", err)
	}
	res.Body.Close()
	if res.IsError() {
		t.Fatalf("readertest: refresh: %s", res.Status())
	}
}

// JSONLines parses one JSON object per line, numbers as float64 (as the msgpack decoder gives
// them to the processors).
func JSONLines(t testing.TB, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("readertest: %v: %s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
