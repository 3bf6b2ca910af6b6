// Package decodetest writes Fluent Bit log chunks for tests: v1 and v2
// events with every timestamp form Fluent Bit accepts, OpenTelemetry group
// markers, and arbitrary or raw objects for malformed input. Map keys are
// written in sorted order, so the same calls always give the same bytes.
package decodetest

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/siemscore/siemscore/processors/body"
)

// Timestamp is the encoded TIMESTAMP of an event.
type Timestamp struct {
	wire []byte
	err  error
}

// EventTime is Fluent Bit's native timestamp: fixext8 of ext type 0 with
// big-endian uint32 seconds and nanoseconds.
func EventTime(t time.Time) Timestamp {
	return eventTime([]byte{0xd7, 0x00}, t)
}

// EventTimeExt8 is EventTime written in the longer ext8 form, which is also
// valid msgpack for the same value.
func EventTimeExt8(t time.Time) Timestamp {
	return eventTime([]byte{0xc7, 0x08, 0x00}, t)
}

func eventTime(prefix []byte, t time.Time) Timestamp {
	sec := t.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return Timestamp{err: fmt.Errorf("decodetest: %s does not fit an EventTime", t)}
	}
	b := binary.BigEndian.AppendUint32(prefix, uint32(sec))
	return Timestamp{wire: binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))}
}

// IntSeconds is a timestamp in seconds written with msgpack's signed
// integer formats.
func IntSeconds(sec int64) Timestamp { return Timestamp{wire: msgp.AppendInt64(nil, sec)} }

// UintSeconds is a timestamp in seconds written with msgpack's unsigned
// formats, as msgpack-c (Fluent Bit) writes non-negative integers.
func UintSeconds(sec uint64) Timestamp { return Timestamp{wire: msgp.AppendUint64(nil, sec)} }

// FloatSeconds is a timestamp in seconds written as float64.
func FloatSeconds(sec float64) Timestamp { return Timestamp{wire: msgp.AppendFloat64(nil, sec)} }

// Float32Seconds is a timestamp in seconds written as float32.
func Float32Seconds(sec float32) Timestamp { return Timestamp{wire: msgp.AppendFloat32(nil, sec)} }

// Map is a msgpack map written in the given order; unlike map[string]any it
// can hold keys of any type and duplicate keys.
type Map []KV

// KV is one entry of a Map.
type KV struct{ Key, Value any }

// Encoder appends events to a chunk. The first error sticks: later calls do
// nothing and Chunk returns it. The zero value is ready to use.
type Encoder struct {
	buf []byte
	err error
}

// V2 appends [[ts, meta], body]. A nil meta or body is written as an empty
// map, as Fluent Bit does.
func (e *Encoder) V2(ts Timestamp, meta, body map[string]any) {
	e.Value([]any{[]any{ts, orEmpty(meta)}, orEmpty(body)})
}

// V1 appends [ts, body].
func (e *Encoder) V1(ts Timestamp, body map[string]any) {
	e.Value([]any{ts, orEmpty(body)})
}

// GroupStart appends the marker that opens an OpenTelemetry group:
// [[-1, meta], attrs].
func (e *Encoder) GroupStart(meta, attrs map[string]any) {
	e.V2(IntSeconds(-1), meta, attrs)
}

// GroupEnd appends the marker that closes a group: [[-2, {}], {}].
func (e *Encoder) GroupEnd() {
	e.V2(IntSeconds(-2), nil, nil)
}

// Value appends v as one top-level object, for events of the wrong shape.
// Besides the types the decoder returns (nil, bool, every Go integer and float
// type, string, []byte, []any, map[string]any, time.Time as an EventTime,
// body.ExtValue), it writes []string, map[string]string, Map, Timestamp and
// msgp.Raw (verbatim msgpack).
func (e *Encoder) Value(v any) {
	if e.err != nil {
		return
	}
	buf, err := appendValue(e.buf, v)
	if err != nil {
		e.err = err
		return
	}
	e.buf = buf
}

// Raw appends bytes verbatim, for truncated or garbage input.
func (e *Encoder) Raw(b []byte) {
	if e.err == nil {
		e.buf = append(e.buf, b...)
	}
}

// Len returns the chunk length so far: the offset the next object starts at.
func (e *Encoder) Len() int { return len(e.buf) }

// Chunk returns the bytes written, or the first error.
func (e *Encoder) Chunk() ([]byte, error) {
	return e.buf, e.err
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return msgp.AppendNil(b), nil
	case bool:
		return msgp.AppendBool(b, v), nil
	case int:
		return msgp.AppendInt64(b, int64(v)), nil
	case int8:
		return msgp.AppendInt64(b, int64(v)), nil
	case int16:
		return msgp.AppendInt64(b, int64(v)), nil
	case int32:
		return msgp.AppendInt64(b, int64(v)), nil
	case int64:
		return msgp.AppendInt64(b, v), nil
	case uint:
		return msgp.AppendUint64(b, uint64(v)), nil
	case uint8:
		return msgp.AppendUint64(b, uint64(v)), nil
	case uint16:
		return msgp.AppendUint64(b, uint64(v)), nil
	case uint32:
		return msgp.AppendUint64(b, uint64(v)), nil
	case uint64:
		return msgp.AppendUint64(b, v), nil
	case float32:
		return msgp.AppendFloat32(b, v), nil
	case float64:
		return msgp.AppendFloat64(b, v), nil
	case string:
		return msgp.AppendString(b, v), nil
	case []byte:
		return msgp.AppendBytes(b, v), nil
	case msgp.Raw:
		return append(b, v...), nil
	case Timestamp:
		return append(b, v.wire...), v.err
	case time.Time:
		ts := EventTime(v)
		return append(b, ts.wire...), ts.err
	case body.ExtValue:
		return msgp.AppendExtension(b, &msgp.RawExtension{Type: v.Type, Data: v.Data})
	case []string:
		b = msgp.AppendArrayHeader(b, uint32(len(v)))
		for _, s := range v {
			b = msgp.AppendString(b, s)
		}
		return b, nil
	case []any:
		b = msgp.AppendArrayHeader(b, uint32(len(v)))
		for i, x := range v {
			var err error
			if b, err = appendValue(b, x); err != nil {
				return b, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return b, nil
	case map[string]string:
		b = msgp.AppendMapHeader(b, uint32(len(v)))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b = msgp.AppendString(msgp.AppendString(b, k), v[k])
		}
		return b, nil
	case map[string]any:
		b = msgp.AppendMapHeader(b, uint32(len(v)))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			var err error
			if b, err = appendValue(msgp.AppendString(b, k), v[k]); err != nil {
				return b, fmt.Errorf("%q: %w", k, err)
			}
		}
		return b, nil
	case Map:
		b = msgp.AppendMapHeader(b, uint32(len(v)))
		for i, kv := range v {
			var err error
			if b, err = appendValue(b, kv.Key); err != nil {
				return b, fmt.Errorf("key %d: %w", i, err)
			}
			if b, err = appendValue(b, kv.Value); err != nil {
				return b, fmt.Errorf("value %d: %w", i, err)
			}
		}
		return b, nil
	default:
		return b, fmt.Errorf("decodetest: cannot encode %T", v)
	}
}
