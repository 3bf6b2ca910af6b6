package decode

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/siemscore/siemscore/processors/body"
)

// Group marker timestamps, from Fluent Bit's flb_log_event.h.
const (
	groupStart = -1
	groupEnd   = -2
)

// maxUnixSeconds is 9999-12-31T23:59:59Z: later times cannot be written as
// RFC 3339, which is how they reach Elasticsearch.
const maxUnixSeconds = 253402300799

// eventTimeExt is the ext type of Fluent Bit's EventTime.
const eventTimeExt = 0

// header is the outer layout of one event object.
type header struct {
	time    time.Time
	group   int // groupStart, groupEnd, or 0 for an event
	meta    int // offset of the metadata map in the object, or -1 for v1
	metaLen int // its length; 1 is an empty map
	body    int // offset of the body map in the object
}

// readHeader checks the shape of one complete object and locates its
// parts. It stops at the timestamp of a group marker: markers are not
// shipped, so the rest of their shape does not matter.
func readHeader(obj []byte) (header, error) {
	h := header{meta: -1}
	n, rest, err := msgp.ReadArrayHeaderBytes(obj)
	if err != nil {
		return h, fmt.Errorf("%w: event is %s, want array", ErrShape, typeOf(obj))
	}
	if n != 2 {
		return h, fmt.Errorf("%w: event array has %d elements, want 2", ErrShape, n)
	}
	v2 := msgp.NextType(rest) == msgp.ArrayType
	if v2 {
		if n, rest, err = msgp.ReadArrayHeaderBytes(rest); err != nil {
			return h, fmt.Errorf("%w: header: %w", ErrShape, err)
		}
		if n != 2 {
			return h, fmt.Errorf("%w: header array has %d elements, want 2 (timestamp, metadata)", ErrShape, n)
		}
	}
	h.time, h.group, rest, err = readTimestamp(rest)
	if err != nil || h.group != 0 {
		return h, err
	}
	if v2 {
		h.meta = len(obj) - len(rest)
		if k := typeOf(rest); k != msgp.MapType {
			return h, fmt.Errorf("%w: metadata is %s, want map", ErrShape, k)
		}
		m, err := objectLen(rest)
		if err != nil {
			return h, fmt.Errorf("%w: metadata: %w", ErrShape, err)
		}
		h.metaLen = m
		rest = rest[m:]
	}
	h.body = len(obj) - len(rest)
	if k := typeOf(rest); k != msgp.MapType {
		return h, fmt.Errorf("%w: body is %s, want map", ErrShape, k)
	}
	return h, nil
}

// decode fills ev's Time, Metadata and Body from the bytes readHeader checked, which are
// ev.Start..ev.End of the tree's buffer.
func (h header) decode(t *body.Tree, ev *Event) error {
	if h.meta >= 0 && h.metaLen > 1 {
		meta, err := t.Decode(ev.Start+h.meta, ev.Start+h.meta+h.metaLen)
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		if meta.Len() > 0 {
			ev.Metadata = meta
		}
	}
	b, err := t.Decode(ev.Start+h.body, ev.End)
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	ev.Time, ev.Body = h.time, b
	return nil
}

// readTimestamp reads an event timestamp, or the group marker that takes its
// place.
func readTimestamp(b []byte) (t time.Time, group int, rest []byte, err error) {
	switch k := typeOf(b); k {
	case msgp.IntType:
		var sec int64
		if sec, rest, err = msgp.ReadInt64Bytes(b); err != nil {
			break
		}
		switch {
		case sec == groupStart || sec == groupEnd:
			return t, int(sec), rest, nil
		case sec < 0 || sec > maxUnixSeconds:
			err = fmt.Errorf("%w: %d seconds out of range", ErrTimestamp, sec)
		default:
			t = time.Unix(sec, 0).UTC()
		}
	case msgp.UintType:
		var sec uint64
		if sec, rest, err = msgp.ReadUint64Bytes(b); err != nil {
			break
		}
		if sec > maxUnixSeconds {
			err = fmt.Errorf("%w: %d seconds out of range", ErrTimestamp, sec)
			break
		}
		t = time.Unix(int64(sec), 0).UTC()
	case msgp.Float32Type, msgp.Float64Type:
		var f float64
		if f, rest, err = msgp.ReadFloat64Bytes(b); err != nil {
			break
		}
		if !(f >= 0 && f < maxUnixSeconds+1) { // also rejects NaN
			err = fmt.Errorf("%w: %v seconds out of range", ErrTimestamp, f)
			break
		}
		// Rounding may carry into the next second (time.Unix normalises it),
		// but not past the bound: float64 spacing there is ~30µs.
		sec := math.Floor(f)
		t = time.Unix(int64(sec), int64(math.Round((f-sec)*1e9))).UTC()
	case msgp.ExtensionType:
		var typ int8
		var data []byte
		if typ, data, rest, err = readExt(b); err != nil {
			break
		}
		if typ != eventTimeExt || len(data) != 8 {
			err = fmt.Errorf("%w: ext type %d with %d bytes, want EventTime (ext type 0, 8 bytes)", ErrTimestamp, typ, len(data))
			break
		}
		t, err = eventTime(data)
	default:
		err = fmt.Errorf("%w: timestamp is %s", ErrTimestamp, k)
	}
	return t, 0, rest, err
}

// eventTime decodes the 8-byte payload of an EventTime ext.
func eventTime(data []byte) (time.Time, error) {
	sec := binary.BigEndian.Uint32(data)
	nsec := binary.BigEndian.Uint32(data[4:])
	if nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: EventTime with %d nanoseconds", ErrTimestamp, nsec)
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), nil
}
