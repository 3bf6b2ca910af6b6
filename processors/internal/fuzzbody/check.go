package fuzzbody

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

// CheckDocument fails t unless d encodes to valid JSON with an encodable @timestamp.
func CheckDocument(t testing.TB, d *ecs.Document) {
	t.Helper()
	if d == nil {
		t.Fatal("nil document")
	}
	if y := d.Timestamp.Year(); y < 0 || y > 9999 {
		t.Fatalf("@timestamp %v cannot be encoded", d.Timestamp)
	}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
}

// CheckRecords fails t unless Append produced at least one record, each with an ID and a
// document that encodes.
func CheckRecords(t testing.TB, recs []ecs.Record) {
	t.Helper()
	if len(recs) == 0 {
		t.Fatal("a body produced no record")
	}
	for _, r := range recs {
		if len(r.ID) != 22 {
			t.Fatalf("malformed ID %q", r.ID)
		}
		CheckDocument(t, r.Doc)
	}
}

// Fallback is the fallback event time the fuzz targets pass.
var Fallback = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckParser is the body of a fuzz target for one kind: data, decoded in mode, goes to parse
// (the kind's Parse) and to p (a router fixed to that kind); data that is not JSON goes to p as
// the text of a Fluent Bit "log" key. A document parse accepts must encode, and p must give
// every body at least one valid record.
func CheckParser(t *testing.T, p *processors.Processor, parse func(body.Value, time.Time) (*ecs.Document, error), data []byte, mode uint8) {
	t.Helper()
	v, err := Decode(data, mode)
	if err != nil {
		CheckRecords(t, p.Append(nil, map[string]any{"log": string(data)}, Fallback))
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if d, err := parse(body.Of(m), Fallback); err == nil {
		CheckDocument(t, d)
	}
	CheckRecords(t, p.Append(nil, m, Fallback))
}
