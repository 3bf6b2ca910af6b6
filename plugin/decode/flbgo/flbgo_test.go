//go:build cgo

package flbgo

import (
	"reflect"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
)

func TestRecordsConvertsStringsAndKeys(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	body := map[string]any{"eventName": "ListBuckets", "userIdentity": map[string]any{"type": "IAMUser"}, "resources": []any{"a", map[string]any{"arn": "b"}}}
	var e decodetest.Encoder
	e.V2(decodetest.EventTime(at), nil, body)
	e.V2(decodetest.EventTime(at.Add(time.Second)), nil, map[string]any{"k": "v"})
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	var bodies []map[string]any
	n, err := Records(chunk, func(t time.Time, b map[string]any) { times, bodies = append(times, t), append(bodies, b) })
	if err != nil || n != 2 || len(bodies) != 2 {
		t.Fatalf("%d records, %d bodies: %v", n, len(bodies), err)
	}
	if !times[0].Equal(at) || !times[1].Equal(at.Add(time.Second)) {
		t.Errorf("times %v, want %v and a second later", times, at)
	}
	if !reflect.DeepEqual(bodies[0], body) {
		t.Errorf("body %#v, want %#v", bodies[0], body)
	}
	if Raw(nil, func(any, map[any]any) { t.Error("record in an empty chunk") }) != 0 {
		t.Error("records counted in an empty chunk")
	}
}

func TestRecordsRefusesANonEventTime(t *testing.T) {
	var e decodetest.Encoder
	e.V1(decodetest.UintSeconds(1700000000), map[string]any{"k": "v"})
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Records(chunk, func(time.Time, map[string]any) { t.Error("converted a record with a seconds timestamp") }); err == nil {
		t.Error("no error for a seconds timestamp")
	}
}
