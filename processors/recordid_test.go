package processors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// chunkIDs processes bodies as one Fluent Bit chunk (body i at times[i]) and returns the IDs.
func chunkIDs(t *testing.T, p *processors.Processor, bodies []map[string]any, times []time.Time) []string {
	t.Helper()
	c := processors.NewChunk()
	var recs []ecs.Record
	for i, b := range bodies {
		recs = p.AppendChunk(recs, b, times[i], c)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

func distinct(ids []string) int {
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// Identical lines are separate events: the example, three "Failed password" lines and
// four "link down" lines, some in one chunk with one timestamp, must give seven IDs; the same
// chunk processed again (Fluent Bit re-sends it byte for byte) must give the same seven.
func TestIdenticalLinesStaySeparate(t *testing.T) {
	p := newProc(t, processors.Options{})
	failed := func() map[string]any {
		return map[string]any{"log": "sshd[811]: Failed password for root from 203.0.113.9 port 22 ssh2"}
	}
	down := func() map[string]any { return map[string]any{"log": "kernel: eth0 link down"} }
	t0 := fallback
	bodies := []map[string]any{failed(), failed(), down(), down(), failed(), down(), down()}
	// Two pairs share a timestamp (a tail input reading a burst), the rest are apart.
	times := []time.Time{t0, t0, t0.Add(time.Nanosecond), t0.Add(time.Nanosecond), t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(5 * time.Minute)}
	first := chunkIDs(t, p, bodies, times)
	if len(first) != 7 || distinct(first) != 7 {
		t.Fatalf("7 lines gave %d records with %d distinct IDs: %v", len(first), distinct(first), first)
	}
	again := chunkIDs(t, p, bodies, times)
	for i := range first {
		if first[i] != again[i] {
			t.Errorf("re-sent chunk: record %d has ID %s, first time %s", i, again[i], first[i])
		}
	}
	// The same line at another time is another event, in another chunk too.
	if later := chunkIDs(t, p, bodies[:1], []time.Time{t0.Add(time.Hour)}); later[0] == first[0] {
		t.Error("the same line an hour later must get another ID")
	}
}

// Errors (pipeline_error records) have no identity of their own either.
func TestIdenticalBadEventsStaySeparate(t *testing.T) {
	p := newProc(t, processors.Options{})
	bad := func() map[string]any { return map[string]any{"log": `{"eventName": "X", broken`} }
	ids := chunkIDs(t, p, []map[string]any{bad(), bad()}, []time.Time{fallback, fallback})
	if distinct(ids) != 2 {
		t.Errorf("two identical undecodable events in one chunk: %v", ids)
	}
	if p.Append(nil, bad(), fallback)[0].Doc.Event.Kind != "pipeline_error" {
		t.Fatal("the test's bad event is not a pipeline error")
	}
}

// A typed event with a natural key is the same event whenever and however often it arrives:
// CloudTrail delivers at least once, and the copies must make one document.
func TestTypedEventsAreIdentifiedByContent(t *testing.T) {
	p := newProc(t, processors.Options{})
	ct := func() map[string]any { return body(t, ctEvent) }
	ids := chunkIDs(t, p, []map[string]any{ct(), ct(), ct()}, []time.Time{fallback, fallback, fallback.Add(time.Hour)})
	if distinct(ids) != 1 {
		t.Errorf("one CloudTrail event three times: %v", ids)
	}
	// Pass-through keys are part of the event as received.
	withFile := chunkIDs(t, p, []map[string]any{{"log": ctEvent, "file": "/var/log/a.json"}, {"log": ctEvent, "file": "/var/log/b.json"}}, []time.Time{fallback, fallback})
	if distinct(withFile) != 2 || withFile[0] == ids[0] {
		t.Errorf("the same event from two files: %v (bare: %s)", withFile, ids[0])
	}
	// Without its eventID a CloudTrail event has no identity of its own: it is identified by
	// arrival, like a generic record.
	noID := strings.Replace(ctEvent, `"eventID":"e1",`, "", 1)
	if noID == ctEvent {
		t.Fatal("the test event has no eventID to remove")
	}
	anon := chunkIDs(t, p, []map[string]any{body(t, noID), body(t, noID)}, []time.Time{fallback, fallback})
	if distinct(anon) != 2 {
		t.Errorf("a CloudTrail event without eventID twice in a chunk: %v", anon)
	}
	if r := p.Append(nil, body(t, noID), fallback); r[0].Kind != ecs.KindCloudTrail {
		t.Fatalf("the event without eventID is a %v record", r[0].Kind)
	}
}

func TestUndecodableIDs(t *testing.T) {
	c := processors.NewChunk()
	a := c.UndecodableID("decode_error", "not msgpack", []byte{0xc1})
	b := c.UndecodableID("decode_error", "not msgpack", []byte{0xc1})
	if a == b {
		t.Errorf("identical bad bytes twice in a chunk share ID %s", a)
	}
	if again := processors.NewChunk().UndecodableID("decode_error", "not msgpack", []byte{0xc1}); again != a {
		t.Errorf("a re-sent chunk must give the same ID: %s, then %s", a, again)
	}
}
