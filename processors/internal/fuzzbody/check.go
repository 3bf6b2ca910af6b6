package fuzzbody

import (
	"encoding/json"
	"testing"

	"github.com/siemscore/siemscore/processors"
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
func CheckRecords(t testing.TB, recs []processors.Record) {
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
