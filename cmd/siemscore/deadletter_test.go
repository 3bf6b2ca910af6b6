package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// `siemscore deadletter replay --file` writes each record of a dead-letter file once, reports
// the counts, and writes nothing the second time; undecodable input is counted apart.
func TestDeadLetterReplayFromFile(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	ds := target.DataStream("generic", ns)
	dir := t.TempDir()
	f, err := deadletter.Open(dir, deadletter.MinCap)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i := range 3 {
		var d ecs.DeadLetterDocument
		d.Error = ecs.Error{Type: "request_entity_too_large", Message: "too large"}
		original := fmt.Sprintf(`{"@timestamp":"2026-01-01T00:00:0%dZ","message":"replay-marker-%d"}`, i, i)
		d.SiemScore.DeadLetter = ecs.DeadLetter{Index: ds, ID: fmt.Sprintf("cli-replay-%d", i), Kind: "generic", Status: 413, Original: original}
		b, _ := json.Marshal(d)
		lines = append(lines, b)
	}
	var undecodable ecs.DeadLetterDocument
	undecodable.Error = ecs.Error{Type: "decode_error", Message: "not msgpack"}
	undecodable.SiemScore.DeadLetter = ecs.DeadLetter{ID: "u1", Kind: "generic", Original: "wQ=="}
	b, _ := json.Marshal(undecodable)
	lines = append(lines, b)
	if err := f.Append(lines); err != nil {
		t.Fatal(err)
	}
	f.Close()

	first := cli(t, "", nil, "deadletter", "replay", "--es-url", url, "--file", dir).must(t, 0)
	if !strings.Contains(first.stdout, "read 4 dead letters from "+dir+": 3 written, 0 already there, 0 refused again (left in the dead letter), 1 not records") {
		t.Errorf("first replay: %s%s", first.stdout, first.stderr)
	}
	time.Sleep(1100 * time.Millisecond) // the default refresh interval: the records are searchable
	second := cli(t, "", nil, "deadletter", "replay", "--es-url", url, "--file", filepath.Join(dir)).must(t, 0)
	if !strings.Contains(second.stdout, ": 0 written, 3 already there") {
		t.Errorf("second replay: %s%s", second.stdout, second.stderr)
	}
	var res struct {
		Count int `json:"count"`
	}
	c := estest.Client(t)
	if r, err := c.Indices.Refresh(c.Indices.Refresh.WithIndex(ds)); err == nil {
		r.Body.Close()
	}
	resp, err := c.Count(c.Count.WithIndex(ds))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("count: %v %v", resp, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Count != 3 {
		t.Errorf("%d documents in %s, want the 3 replayed (%v)", res.Count, ds, err)
	}
}
