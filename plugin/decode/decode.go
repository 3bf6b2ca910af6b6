// Package decode turns a Fluent Bit log chunk, as handed to FLBPluginFlushCtx,
// into Go-owned events.
//
// A chunk is a concatenation of msgpack objects, one per event, in either form:
//
//	v2: [[TIMESTAMP, METADATA map], BODY map]
//	v1: [TIMESTAMP, BODY map]
//
// TIMESTAMP is an EventTime (ext type 0, 8 bytes: big-endian uint32 seconds and
// uint32 nanoseconds, as fixext8 or ext8), integer seconds, or float seconds.
// The negative integers -1 and -2 mark the start and end of an OpenTelemetry
// group; those objects are counted in [Stats] and never returned.
//
// # Ownership
//
// The chunk is C memory that Fluent Bit frees when the flush returns. The caller copies it once
// into the buffer of a body tree (processors/body), which it reuses from one flush to the next,
// and events are decoded into that tree: their bodies, metadata and Raw bytes are views of the
// copy, so decoding allocates nothing once the tree has grown to the chunk's size. Everything
// an event holds is valid until the tree is Reset (the next flush), and is read-only.
//
// # Values
//
// See processors/body: strings are not validated as UTF-8; integers, floats (NaN and ±Inf
// kept), booleans, nil, arrays, maps, binary strings, EventTime ext values (as times, UTC) and
// other ext values are kept with their types. Map keys that are not str or bin become fmt's %v
// of the decoded key; on duplicate keys the last one wins.
//
// # Errors
//
// Nothing is dropped silently. A complete msgpack object of the wrong shape
// (not a 2-element array, a bad timestamp, a body or metadata that is not a map,
// nesting deeper than [MaxDepth]) comes back as an Event with Err set and its
// Raw bytes, and decoding continues with the next object. Bytes that are not
// msgpack at all (truncated, or an invalid or oversized header) end the
// iteration: Err reports the byte offset, and [Decoder.Tail] returns the
// undecoded rest for dead-lettering. Declared lengths are checked against the
// bytes actually present before anything is allocated.
package decode

import (
	"errors"
	"fmt"
	"time"

	"github.com/siemscore/siemscore/processors/body"
)

// MaxDepth is the deepest container nesting accepted in a body or in
// metadata, counting the top-level map as 1. Elasticsearch's own object
// mapping limit (index.mapping.depth.limit) defaults to 20, so real records
// stay far below it; the limit bounds the decoder's recursion.
const MaxDepth = body.MaxDepth

// Classes of per-event and per-chunk errors, for errors.Is.
var (
	// ErrShape: the object is valid msgpack but not a log event.
	ErrShape = errors.New("wrong event shape")
	// ErrTimestamp: the event's timestamp has an unusable type or value.
	ErrTimestamp = errors.New("invalid timestamp")
	// ErrTooDeep: containers nest deeper than MaxDepth.
	ErrTooDeep = body.ErrTooDeep
	// ErrUndecodable: the bytes from Decoder.Offset on are not msgpack.
	ErrUndecodable = errors.New("undecodable msgpack")
)

// Event is one log event of a chunk.
type Event struct {
	// Time is the event timestamp in UTC, to the nanosecond.
	Time time.Time
	// Metadata is the v2 metadata map; Absent for v1 events and empty maps.
	Metadata body.Value
	// Body is the record, a map.
	Body body.Value
	// Start and End delimit the event's bytes in the chunk: [Start, End).
	Start, End int
	// Raw is the event's bytes, chunk[Start:End], in the tree's copy of the chunk.
	Raw []byte
	// Err is set when the object is not a usable event; Time, Metadata and
	// Body are then zero and Raw holds the bytes to dead-letter.
	Err error
}

// Stats counts what a Decoder has consumed so far.
type Stats struct {
	Records     int // events returned without Err
	Malformed   int // events returned with Err
	GroupStarts int // group start markers skipped
	GroupEnds   int // group end markers skipped
	GroupBytes  int // bytes taken by the skipped markers
}

// Decoder iterates over the events of one chunk. It is not safe for
// concurrent use; use one Decoder per flush.
type Decoder struct {
	tree  *body.Tree
	chunk []byte
	off   int
	ev    Event
	err   error
	stats Stats
	// measureFirst turns off the one-pass path: every object is measured, then decoded, as
	// malformed ones always are. Tests compare the two paths with it.
	measureFirst bool
}

// New returns a Decoder of the chunk in tree's buffer (as given to its last Reset), decoding
// events into tree.
func New(tree *body.Tree) *Decoder {
	return &Decoder{tree: tree, chunk: tree.Buffer()}
}

// Next advances to the next event, skipping group markers. It returns false
// at the end of the chunk or at undecodable bytes; Err tells which.
func (d *Decoder) Next() bool {
	d.ev = Event{}
	for d.err == nil && d.off < len(d.chunk) {
		start := d.off
		if !d.measureFirst && d.wellFormedEvent(start) {
			return true
		}
		n, err := objectLen(d.chunk[start:])
		if err != nil {
			d.err = fmt.Errorf("decode: %w at byte %d of %d: %w", ErrUndecodable, start, len(d.chunk), err)
			return false
		}
		d.off = start + n
		if d.decodeEvent(start, d.off) {
			return true
		}
	}
	return false
}

// wellFormedEvent decodes the event at chunk[start:] into d.ev in one pass, the body's decoding
// finding where the event ends, and advances past it. It reports false, leaving the decoder
// as it was, for anything but a well-formed event (a group marker, a bad shape, bytes that are
// not msgpack): Next then measures the object first and decodes it as before, which tells
// those apart. A well-formed event decodes to the same values either way; this path only
// saves walking its bytes twice.
func (d *Decoder) wellFormedEvent(start int) bool {
	h, err := readHeader(d.chunk[start:])
	if err != nil || h.group != 0 {
		return false
	}
	var meta body.Value
	if h.meta >= 0 && h.metaLen > 1 {
		if meta, _, err = d.tree.DecodePrefix(start + h.meta); err != nil {
			return false
		}
	}
	b, end, err := d.tree.DecodePrefix(start + h.body)
	if err != nil {
		return false // the metadata's nodes stay in the tree, unused, until its next Rewind
	}
	d.ev = Event{Time: h.time, Body: b, Start: start, End: end, Raw: d.chunk[start:end:end]}
	if meta.Len() > 0 {
		d.ev.Metadata = meta
	}
	d.off = end
	d.stats.Records++
	return true
}

// decodeEvent decodes the complete object chunk[start:end] into d.ev and
// reports whether it is an event (true) or a group marker (false).
func (d *Decoder) decodeEvent(start, end int) bool {
	// The header is read from the chunk itself so markers cost no copy;
	// nothing read here points into the chunk.
	h, err := readHeader(d.chunk[start:end])
	if err == nil && h.group != 0 {
		if h.group == groupStart {
			d.stats.GroupStarts++
		} else {
			d.stats.GroupEnds++
		}
		d.stats.GroupBytes += end - start
		return false
	}
	d.ev = Event{Start: start, End: end, Raw: d.chunk[start:end:end]}
	if err == nil {
		err = h.decode(d.tree, &d.ev)
	}
	if err != nil {
		d.ev = Event{Start: start, End: end, Raw: d.ev.Raw, Err: fmt.Errorf("decode: event at byte %d: %w", start, err)}
		d.stats.Malformed++
		return true
	}
	d.stats.Records++
	return true
}

// Event returns the event Next advanced to.
func (d *Decoder) Event() Event { return d.ev }

// Err returns the error that ended iteration early, wrapping ErrUndecodable,
// or nil when the whole chunk was decoded.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes of the chunk have been consumed; after an
// error it is where the undecodable tail starts.
func (d *Decoder) Offset() int { return d.off }

// Tail returns the undecodable bytes (in the tree's copy of the chunk), or nil if there are
// none.
func (d *Decoder) Tail() []byte {
	if d.err == nil {
		return nil
	}
	return d.chunk[d.off:len(d.chunk):len(d.chunk)]
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }
