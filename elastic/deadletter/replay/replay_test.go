package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/deadletter/replay"
	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/esfault"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

func client(t *testing.T, url string) *esclient.Client {
	t.Helper()
	cfg := esclient.DefaultConfig()
	cfg.Hosts = []string{url}
	c, err := esclient.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func deliverer(t *testing.T, es *esclient.Client, edit func(*deliver.Config)) *deliver.Deliverer {
	t.Helper()
	cfg := deliver.DefaultConfig()
	cfg.Templates.Enabled = false
	cfg.RetryBudget = time.Second
	edit(&cfg)
	d, err := deliver.New(es, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func call(t *testing.T, url, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// markers returns how many documents of index carry each message (the test's marker).
func markers(t *testing.T, url, index string) map[string]int {
	t.Helper()
	call(t, url, http.MethodPost, "/"+index+"/_refresh", "", nil)
	var res struct {
		Hits struct {
			Hits []struct {
				Source struct {
					Message string `json:"message"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	call(t, url, http.MethodPost, "/"+index+"/_search?size=1000", `{"query":{"match_all":{}}}`, &res)
	out := map[string]int{}
	for _, h := range res.Hits.Hits {
		out[h.Source.Message]++
	}
	return out
}

func record(i int, extra ecs.RawJSON) ecs.Record {
	return ecs.Record{
		Kind: ecs.KindGeneric,
		ID:   fmt.Sprintf("replay-%04d", i),
		Doc: &ecs.Document{
			Timestamp:   time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
			ECS:         ecs.ECSInfo{Version: ecs.Version},
			Message:     fmt.Sprintf("marker-%04d", i),
			Source:      &ecs.Endpoint{IP: netip.MustParseAddr("192.0.2.1")},
			Passthrough: extra,
		},
	}
}

// Records refused for a reason of their own (a strict mapping) are dead-lettered in the data
// stream; once the mapping is fixed a replay writes each once, and a second replay writes
// nothing. A record too large for the proxy in front of Elasticsearch goes to the dead-letter
// file whole, and replays from there once it can reach Elasticsearch directly.
func TestReplayWritesEachRecordOnce(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	index := estest.CreateIndex(t, "siemscore-replay", `{"settings":{"number_of_replicas":0},"mappings":{"dynamic":"strict","properties":{
		"@timestamp":{"type":"date"},"message":{"type":"text"},"ecs":{"properties":{"version":{"type":"keyword"}}},
		"event":{"type":"object","dynamic":true},"source":{"properties":{"ip":{"type":"ip"}}},"siemscore":{"type":"object","enabled":false}}}}`)
	es := client(t, url)
	d := deliverer(t, es, func(c *deliver.Config) { c.Namespace, c.Index = ns, index })

	var recs []ecs.Record
	for i := range 10 {
		var extra ecs.RawJSON
		if i%3 == 0 {
			extra = ecs.RawJSON(fmt.Sprintf(`{"unmapped":%d}`, i)) // strict mapping: refused
		}
		recs = append(recs, record(i, extra))
	}
	if o := d.Deliver(context.Background(), recs); o.Status != deliver.OK || o.Created != 6 || o.DeadLettered != 4 {
		t.Fatalf("first delivery: %+v", o)
	}
	dl := target.DeadLetter(ns)
	fromStream := func(fn func(deadletter.Entry) error) error {
		call(t, url, http.MethodPost, "/"+dl+"/_refresh", "", nil)
		return deadletter.ReadIndex(context.Background(), es, dl, fn)
	}
	r := replay.Replayer{ES: es, Deliver: d, Batch: 3}

	// Before the fix: refused again, nothing written, the dead letters stay.
	c, err := r.Run(context.Background(), fromStream)
	if err != nil || c.Read != 4 || c.Refused != 4 || c.Written != 0 {
		t.Fatalf("replay before the fix: %+v, %v", c, err)
	}
	// The fix: the mapping accepts the field.
	if st := call(t, url, http.MethodPut, "/"+index+"/_mapping", `{"properties":{"unmapped":{"type":"long"}}}`, nil); st != http.StatusOK {
		t.Fatalf("mapping update: HTTP %d", st)
	}
	c, err = r.Run(context.Background(), fromStream)
	if err != nil || c.Read != 4 || c.Written != 4 || c.AlreadyThere != 0 || c.Refused != 0 {
		t.Fatalf("replay after the fix: %+v, %v", c, err)
	}
	c, err = r.Run(context.Background(), fromStream)
	if err != nil || c.Written != 0 || c.AlreadyThere != 4 {
		t.Fatalf("second replay: %+v, %v", c, err)
	}
	got := markers(t, url, index)
	for i := range 10 {
		if n := got[fmt.Sprintf("marker-%04d", i)]; n != 1 {
			t.Errorf("marker-%04d: %d documents", i, n)
		}
	}
	if len(got) != 10 {
		t.Errorf("%d distinct markers in the index, want 10: %v", len(got), got)
	}

	// Too large for the proxy: the dead-letter file, then a replay around the proxy.
	p := esfault.New(t, url)
	const limit = 16 << 10
	p.SetRequestFault(func(r *http.Request, _ int) esfault.Fault {
		if r.ContentLength > limit {
			return esfault.Fault{Status: http.StatusRequestEntityTooLarge}
		}
		return esfault.Fault{}
	})
	dir := t.TempDir()
	viaProxy := deliverer(t, client(t, p.URL()), func(c *deliver.Config) { c.Namespace, c.Index, c.DeadLetterPath = ns, index, dir })
	big := record(100, "")
	big.Doc.Message = "marker-big-" + strings.Repeat("x", 2*limit)
	small := record(101, "")
	if o := viaProxy.Deliver(context.Background(), []ecs.Record{small, big}); o.Status != deliver.OK || o.Created != 1 || o.ToFile != 1 {
		t.Fatalf("delivery through the proxy: %+v", o)
	}
	fromFile := func(fn func(deadletter.Entry) error) error { return deadletter.ReadPath(dir, fn) }
	for round, want := range []replay.Counts{{Read: 1, Written: 1}, {Read: 1, AlreadyThere: 1}} {
		c, err := r.Run(context.Background(), fromFile)
		if err != nil || c.Read != want.Read || c.Written != want.Written || c.AlreadyThere != want.AlreadyThere {
			t.Errorf("file replay %d: %+v, %v", round, c, err)
		}
	}
	if n := markers(t, url, index)[big.Doc.Message]; n != 1 {
		t.Errorf("the large record: %d documents, want 1 (whole)", n)
	}
}
