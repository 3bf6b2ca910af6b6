package plugintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// The plugin is built once per test binary; building a c-shared library takes minutes on a
// busy machine.
var (
	buildOnce sync.Once
	soPath    string
	soErr     error
	soDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if soDir != "" {
		os.RemoveAll(soDir)
	}
	os.Exit(code)
}

// plugin returns the path of out_siemscore.so built from ../.
func plugin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		soDir, soErr = os.MkdirTemp("", "siemscore-plugin")
		if soErr != nil {
			return
		}
		soPath = filepath.Join(soDir, "out_siemscore.so")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		soErr = flbtest.BuildPlugin(ctx, "github.com/siemscore/siemscore/plugin", soPath)
	})
	if soErr != nil {
		t.Fatal(soErr)
	}
	return soPath
}

// chunking splits bodies into chunks of size records, tagged tag; every groupEvery-th chunk is
// wrapped in OpenTelemetry group markers (0: none), which must never be shipped.
func chunking(t testing.TB, bodies []plugintest.Body, size, groupEvery int, tag string) []flbtest.Chunk {
	t.Helper()
	var out []flbtest.Chunk
	for start := 0; start < len(bodies); start += size {
		var e decodetest.Encoder
		group := groupEvery > 0 && len(out)%groupEvery == 0
		if group {
			e.GroupStart(map[string]any{"schema": "otlp"}, map[string]any{"resource": map[string]any{"service.name": "collector"}})
		}
		for i, b := range bodies[start:min(start+size, len(bodies))] {
			e.V2(decodetest.EventTime(plugintest.Base.Add(time.Duration(start+i)*time.Millisecond)), nil, b.Map)
		}
		if group {
			e.GroupEnd()
		}
		data, err := e.Chunk()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, flbtest.Chunk{Tag: tag, Data: data})
	}
	return out
}

// expected runs the bodies through the processors in-process, as the plugin does, and returns
// the distinct record IDs per kind. Checking that it agrees with the kind each body was made as
// keeps the expectation honest.
func expected(t *testing.T, bodies []plugintest.Body) map[ecs.Kind]map[string]bool {
	t.Helper()
	p, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[ecs.Kind]map[string]bool{}
	for _, k := range ecs.Kinds() {
		out[k] = map[string]bool{}
	}
	for i, b := range bodies {
		for _, r := range p.Append(nil, b.Map, plugintest.Base) {
			if r.Kind != b.Kind {
				t.Fatalf("body %d became a %v record, want %v", i, r.Kind, b.Kind)
			}
			out[r.Kind][r.ID] = true
		}
	}
	return out
}

// es is a small client for checking what the plugin wrote.
type es struct {
	t   *testing.T
	url string
}

func newES(t *testing.T) es { return es{t, estest.URL(t)} }

func (e es) call(method, path, body string, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return res.StatusCode
}

// ids returns every _id in index (a name or pattern) with how many documents carry it, after a
// refresh.
func (e es) ids(index string) map[string]int {
	e.t.Helper()
	e.call("POST", "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "", nil)
	out := map[string]int{}
	var page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	status := e.call("POST", "/"+index+"/_search?scroll=1m&size=5000&ignore_unavailable=true&allow_no_indices=true",
		`{"_source":false,"sort":["_doc"]}`, &page)
	if status == http.StatusNotFound {
		return out
	}
	if status != http.StatusOK {
		e.t.Fatalf("search %s: HTTP %d", index, status)
	}
	for len(page.Hits.Hits) > 0 {
		for _, h := range page.Hits.Hits {
			out[h.ID]++
		}
		id := page.ScrollID
		page.Hits.Hits = nil
		if s := e.call("POST", "/_search/scroll", fmt.Sprintf(`{"scroll":"1m","scroll_id":%q}`, id), &page); s != http.StatusOK {
			e.t.Fatalf("scroll: HTTP %d", s)
		}
	}
	e.call("DELETE", "/_search/scroll", fmt.Sprintf(`{"scroll_id":%q}`, page.ScrollID), nil)
	return out
}

// backing lists a data stream's backing indices.
func (e es) backing(ds string) []string {
	e.t.Helper()
	var res struct {
		DataStreams []struct {
			Indices []struct {
				Name string `json:"index_name"`
			} `json:"indices"`
		} `json:"data_streams"`
	}
	e.call("GET", "/_data_stream/"+ds, "", &res)
	var out []string
	for _, d := range res.DataStreams {
		for _, i := range d.Indices {
			out = append(out, i.Name)
		}
	}
	return out
}

// doc returns the source of the document with _id id in index.
func (e es) doc(index, id string) map[string]any {
	e.t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	q := fmt.Sprintf(`{"query":{"ids":{"values":[%q]}}}`, id)
	if s := e.call("POST", "/"+index+"/_search", q, &res); s != http.StatusOK || len(res.Hits.Hits) != 1 {
		e.t.Fatalf("document %s in %s: HTTP %d, %d hits", id, index, s, len(res.Hits.Hits))
	}
	return res.Hits.Hits[0].Source
}

// search returns the sources of up to size documents of index matching the query string q.
func (e es) search(index, q string, size int) []map[string]any {
	e.t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	body := fmt.Sprintf(`{"size":%d,"query":{"query_string":{"query":%q}}}`, size, q)
	e.call("POST", "/"+index+"/_refresh?ignore_unavailable=true", "", nil)
	if s := e.call("POST", "/"+index+"/_search?ignore_unavailable=true&allow_no_indices=true", body, &res); s != http.StatusOK {
		e.t.Fatalf("search %s: HTTP %d", index, s)
	}
	var out []map[string]any
	for _, h := range res.Hits.Hits {
		out = append(out, h.Source)
	}
	return out
}

// field returns the value at a dotted path of a document.
func field(doc map[string]any, path string) any {
	var v any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// checkExactlyOnce checks that each kind's data stream holds exactly the expected IDs, once each.
func checkExactlyOnce(t *testing.T, db es, ns string, want map[ecs.Kind]map[string]bool) {
	t.Helper()
	for _, k := range ecs.Kinds() {
		ds := target.DataStream(k.String(), ns)
		got := db.ids(ds)
		var missing, extra, twice int
		for id, n := range got {
			if !want[k][id] {
				extra++
			}
			if n > 1 {
				twice++
			}
		}
		for id := range want[k] {
			if got[id] == 0 {
				missing++
			}
		}
		t.Logf("%s: %d documents, %d expected", ds, len(got), len(want[k]))
		if missing+extra+twice > 0 {
			t.Errorf("%s: %d missing, %d unexpected, %d more than once (of %d expected)", ds, missing, extra, twice, len(want[k]))
		}
		if twice > 0 {
			// _id is unique per backing index only: a rollover while chunks were re-sent
			// explains duplicates (elastic/template rolls over every logs-siemscore.*-* data
			// stream when another test installs different template content on this server).
			t.Logf("%s has backing indices %v", ds, db.backing(ds))
		}
	}
}

// anyID returns one of the IDs, the same one on every run.
func anyID(ids map[string]bool) string {
	return slices.Sorted(maps.Keys(ids))[0]
}
