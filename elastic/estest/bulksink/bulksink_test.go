package bulksink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string, gz bool) (map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		rd = &buf
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out, res.Header
}

func TestBulkAnswersAndCounts(t *testing.T) {
	var seen []Doc
	s, err := Start(Options{OnDoc: func(d Doc) {
		d.Source = bytes.Clone(d.Source)
		seen = append(seen, d)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	body := `{"create":{"_index":"logs-a","_id":"one"}}
{"x":1}
{"create":{"_index":"logs-a","_id":"two"}}
{"x":2}
{"create":{"_index":"bench"}}
{"y":1}
`
	out, hdr := post(t, s.URL()+"/_bulk", body, false)
	if hdr.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Error("go-elasticsearch needs X-Elastic-Product: Elasticsearch")
	}
	items := out["items"].([]any)
	if out["errors"] != false || len(items) != 3 {
		t.Fatalf("answer %v", out)
	}
	first := items[0].(map[string]any)["create"].(map[string]any)
	if first["_id"] != "one" || first["status"] != 201.0 || first["_index"] != "logs-a" {
		t.Errorf("first item %v", first)
	}
	if _, hasID := items[2].(map[string]any)["create"].(map[string]any)["_id"]; hasID {
		t.Error("an item sent without _id must not be given one")
	}

	// The same creates again (a re-sent chunk), gzip-compressed: 409 for the _ids, and the
	// document without _id counted as repeated content.
	out, _ = post(t, s.URL()+"/_bulk", body, true)
	items = out["items"].([]any)
	if out["errors"] != true || items[0].(map[string]any)["create"].(map[string]any)["status"] != 409.0 {
		t.Errorf("a repeated _id must get 409: %v", out)
	}
	st := s.Stats()
	if st.Requests != 2 || st.Items != 6 || st.Docs != 4 || st.Duplicates != 2 || st.SameContent != 1 || st.Bytes != 2*len(body) {
		t.Errorf("stats %+v", st)
	}
	if len(seen) != 6 || seen[1].ID != "two" || string(seen[1].Source) != `{"x":2}` || !seen[3].Duplicate || seen[2].Index != "bench" {
		t.Errorf("OnDoc saw %+v", seen)
	}
	s.Reset()
	if st := s.Stats(); st.Docs != 0 || st.Requests != 0 {
		t.Errorf("after Reset: %+v", st)
	}
	if out, _ := post(t, s.URL()+"/_bulk", body, false); out["errors"] != false {
		t.Errorf("Reset must forget the _ids: %v", out)
	}

	// A filter_path without _index (siemscore's) leaves it out, as Elasticsearch does.
	out, _ = post(t, s.URL()+"/_bulk?filter_path=errors,items.*._id,items.*.status,items.*.error", body, false)
	first = out["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
	if _, hasIndex := first["_index"]; hasIndex || first["_id"] != "one" || first["status"] != 409.0 {
		t.Errorf("filtered item %v", first)
	}
}

// The set must tell every repeat from every first insert across its growth, for hashes that
// share their low bits (the probe start) and for 0, the empty-slot marker.
func TestHashSetCountsRepeats(t *testing.T) {
	var s hashSet
	var hashes []uint64
	for i := range uint64(200_000) {
		hashes = append(hashes, i*0x9e3779b97f4a7c15) // spread like xxh3's
	}
	for i := range uint64(2_000) {
		hashes = append(hashes, i<<32|5) // one long probe run
	}
	for _, h := range hashes[1:] { // hashes[0] is 0
		if s.add(h) {
			t.Fatalf("first insert of %#x reported as a repeat", h)
		}
	}
	for _, h := range hashes[1:] {
		if !s.add(h) {
			t.Fatalf("repeat of %#x not reported", h)
		}
	}
	if s.n != len(hashes)-1 {
		t.Errorf("%d entries, want %d", s.n, len(hashes)-1)
	}
	s.reset()
	if s.add(0) || !s.add(0) || s.n != 1 {
		t.Errorf("after reset, 0 must be new once and then a repeat (n=%d)", s.n)
	}
}
