package processors

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Nothing in the parsers is known to panic, so the last line of defence is tested directly.
func TestPanicRecord(t *testing.T) {
	fb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := body.Of(map[string]any{"eventName": "X", "n": 1.0})
	a := arrival{at: fb, fallback: fb}
	r := panicRecord(ev, "boom", a)
	if r.Kind != ecs.KindGeneric || r.Doc.Event.Kind != "pipeline_error" || r.Doc.Error.Type != ErrTypePanic || !strings.Contains(r.Doc.Error.Message, "boom") {
		t.Errorf("panic record: %+v %+v", r.Doc.Event, r.Doc.Error)
	}
	if r.Doc.Event.Original != `{"eventName":"X","n":1}` || !r.Doc.Timestamp.Equal(fb) {
		t.Errorf("the body must be kept: %q at %v", r.Doc.Event.Original, r.Doc.Timestamp)
	}
	if again := panicRecord(ev, "boom", a); again.ID != r.ID || len(r.ID) != 22 {
		t.Errorf("the ID must be deterministic: %s %s", r.ID, again.ID)
	}
	b, err := r.Doc.MarshalJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("encode: %v", err)
	}
	if s := guard(func() string { panic("again") }); s != "" {
		t.Errorf("guard = %q", s)
	}
}

func TestAppendSurvivesPanickyValues(t *testing.T) {
	// A value whose formatting methods panic: the walkers that fall back to fmt must not let
	// the panic through, and the record must still encode.
	p := &Processor{keys: DefaultEventKeys, preserve: true}
	recs := p.Append(nil, map[string]any{"bad": panicky{}, "eventName": "X", "eventSource": "y"}, time.Unix(0, 0))
	if len(recs) != 1 || recs[0].Kind != ecs.KindCloudTrail {
		t.Fatalf("records = %+v", recs)
	}
	b, err := recs[0].Doc.MarshalJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("encode: %v %s", err, b)
	}
}

// panicky panics whenever it is formatted or encoded.
type panicky struct{}

func (panicky) String() string               { panic("String") }
func (panicky) GoString() string             { panic("GoString") }
func (panicky) MarshalJSON() ([]byte, error) { panic("MarshalJSON") }
