package plugintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
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

// markers say how the test finds a body in Elasticsearch from its own side, never through the
// plugin's _id: the input field that tells bodies apart and the document field it lands in.
var markers = map[ecs.Kind]struct{ in, doc string }{
	ecs.KindCloudTrail: {"eventID", "event.id"},
	ecs.KindGuardDuty:  {"id", "aws.guardduty.id"},
	ecs.KindKerberos:   {"uid", "event.id"},
	ecs.KindGeneric:    {"seq", "seq"},
}

// expectation is what one kind's data stream must hold: per marker value, the number of
// documents; and the number of documents without a marker.
type expectation struct {
	byMarker map[string]int
	unmarked int
}

// expectedDocs computes, from the bodies alone, the documents the README's delivery rule
// promises: a typed event with its natural key is one document however often it comes (the
// same content, which CloudTrail delivers at least once), anything else one document per body.
// Identity of content is judged by the bodies' canonical JSON (encoding/json sorts keys).
func expectedDocs(t *testing.T, bodies []plugintest.Body) map[ecs.Kind]*expectation {
	t.Helper()
	out := map[ecs.Kind]*expectation{}
	for _, k := range ecs.Kinds() {
		out[k] = &expectation{byMarker: map[string]int{}}
	}
	seen := map[string]bool{}
	for _, b := range bodies {
		e := out[b.Kind]
		ev, received := event(b.Map)
		value, ok := lookup(ev, markers[b.Kind].in)
		switch {
		case !ok || fmt.Sprint(value) == "":
			e.unmarked++
		case b.Kind == ecs.KindGeneric:
			e.byMarker[fmt.Sprint(value)]++
		default:
			canon, err := json.Marshal(received)
			if err != nil {
				t.Fatal(err)
			}
			if key := b.Kind.String() + string(canon); !seen[key] {
				seen[key] = true
				e.byMarker[fmt.Sprint(value)]++
			}
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

// byMarker returns the one document of index whose field path holds value.
func (e es) byMarker(index, path string, value any) map[string]any {
	e.t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	q, err := json.Marshal(map[string]any{"query": map[string]any{"term": map[string]any{path: value}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.call("POST", "/"+index+"/_refresh", "", nil)
	if s := e.call("POST", "/"+index+"/_search", string(q), &res); s != http.StatusOK || len(res.Hits.Hits) != 1 {
		e.t.Fatalf("%s = %v in %s: HTTP %d, %d documents", path, value, index, s, len(res.Hits.Hits))
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

// event returns the event a body carries (itself, the object under its log key, or the detail of
// an EventBridge envelope) and what identifies it as received: the event with the record's
// other keys, but without an envelope's own fields, as the README's Delivery section says.
func event(body map[string]any) (ev map[string]any, received any) {
	if inner, ok := body["log"].(map[string]any); ok {
		ev, _ := event(inner)
		return ev, body
	}
	if d, ok := body["detail"].(map[string]any); ok {
		if _, typed := body["detail-type"]; typed {
			return d, d
		}
	}
	return body, body
}

// lookup finds key in m case-insensitively: real exports lowercase CloudTrail's keys.
func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// markerCounts returns, for every document of index, the number of documents per value of the
// dotted field path, and the number without it.
func (e es) markerCounts(index, path string) (map[string]int, int) {
	e.t.Helper()
	out, without := map[string]int{}, 0
	e.scroll(index, []string{path}, func(doc map[string]any) {
		if v := field(doc, path); v != nil {
			out[fmt.Sprint(v)]++
		} else {
			without++
		}
	})
	return out, without
}

// scroll calls fn with the _source of every document of index (names or patterns), after a
// refresh; fields, if any, are the only source fields returned.
func (e es) scroll(index string, fields []string, fn func(map[string]any)) {
	e.t.Helper()
	e.call("POST", "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "", nil)
	var page struct {
		ScrollID string `json:"_scroll_id"`
		Hits     struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	query := map[string]any{"sort": []string{"_doc"}}
	if len(fields) > 0 {
		query["_source"] = fields
	}
	body, err := json.Marshal(query)
	if err != nil {
		e.t.Fatal(err)
	}
	search := func() int {
		return e.call("POST", "/"+index+"/_search?scroll=1m&size=5000&ignore_unavailable=true&allow_no_indices=true", string(body), &page)
	}
	status := search()
	// A backing index created a moment ago (or recovering after a restart) answers 503 until
	// its primary shard is active.
	for tries := 0; status == http.StatusServiceUnavailable && tries < 60; tries++ {
		time.Sleep(500 * time.Millisecond)
		status = search()
	}
	if status == http.StatusNotFound {
		return
	}
	if status != http.StatusOK {
		e.t.Fatalf("search %s: HTTP %d", index, status)
	}
	for len(page.Hits.Hits) > 0 {
		for _, h := range page.Hits.Hits {
			fn(h.Source)
		}
		id := page.ScrollID
		page.Hits.Hits = nil
		if s := e.call("POST", "/_search/scroll", fmt.Sprintf(`{"scroll":"1m","scroll_id":%q}`, id), &page); s != http.StatusOK {
			e.t.Fatalf("scroll: HTTP %d", s)
		}
	}
	e.call("DELETE", "/_search/scroll", fmt.Sprintf(`{"scroll_id":%q}`, page.ScrollID), nil)
}

// checkExactlyOnce checks that each kind's data stream holds exactly the documents the test's
// own bodies call for, counted by their markers.
func checkExactlyOnce(t *testing.T, db es, ns string, want map[ecs.Kind]*expectation) {
	t.Helper()
	for _, k := range ecs.Kinds() {
		ds := target.DataStream(k.String(), ns)
		got, without := db.markerCounts(ds, markers[k].doc)
		w := want[k]
		var missing, extra, twice, docs, wantDocs int
		for v, n := range got {
			docs += n
			switch {
			case w.byMarker[v] == 0:
				extra += n
			case n > w.byMarker[v]:
				twice += n - w.byMarker[v]
			}
		}
		for v, n := range w.byMarker {
			wantDocs += n
			if got[v] < n {
				missing += n - got[v]
			}
		}
		t.Logf("%s: %d documents (%d without %s), %d expected (%d without)", ds, docs+without, without, markers[k].doc, wantDocs+w.unmarked, w.unmarked)
		if missing+extra+twice > 0 || without != w.unmarked {
			t.Errorf("%s: %d missing, %d unexpected, %d more than once, %d without a marker (want %d)", ds, missing, extra, twice, without, w.unmarked)
		}
		if twice > 0 {
			// _id is unique per backing index only: a rollover while chunks were re-sent
			// explains duplicates (elastic/template rolls over every logs-siemscore.*-* data
			// stream when another test installs different template content on this server).
			t.Logf("%s has backing indices %v", ds, db.backing(ds))
		}
	}
}
