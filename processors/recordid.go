package processors

import (
	"strconv"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// This file is the one place that decides WHAT identifies a record, that is, what goes into its
// Elasticsearch _id; processors/digest decides HOW that is hashed. Records are written with op
// create, so the _id is what makes a re-sent chunk harmless (409: already there) and what would
// merge two events into one document if they shared it.
//
// The rule:
//
//   - A typed event with a natural key (CloudTrail eventID, GuardDuty finding id, Zeek uid) is
//     identified by its content: kind, natural key, the whole event and the pass-through keys
//     that came with it (the other keys of the Fluent Bit record, e.g. a tail input's file name).
//     The same event delivered twice by its source (CloudTrail and S3 notifications deliver at
//     least once) or read twice by Fluent Bit is one document; events that differ in any value,
//     pass-through keys included, are two.
//   - Every other record (generic records, pipeline errors, typed events without their natural
//     key) has no identity of its own: two identical lines are two events, "link down" at 10:00
//     and again at 10:05. They are identified by their arrival: kind, content, pass-through keys,
//     the Fluent Bit timestamp to the nanosecond, and, among the events of one chunk with the same
//     content and timestamp, their occurrence index. Fluent Bit re-sends a chunk byte for byte
//     (the same timestamps, the same order), so a re-send maps every record onto its document
//     again.
//
// Limits, each documented in the README's Delivery section:
//   - a line Fluent Bit reads twice gets a new timestamp the second time (a tail input restarted
//     without its offset database, or killed after it sent a chunk but before it stored the
//     offset): a generic record is then written twice; a typed event is not;
//   - identical generic lines with the same timestamp in two different chunks share an _id and
//     make one document: inputs with a nanosecond clock never produce that, inputs whose parser
//     sets a time in whole seconds can;
//   - _id is unique per backing index of a data stream: a re-send across a rollover writes again.

// Chunk numbers the records of one Fluent Bit chunk that would otherwise share an _id. Use one
// per chunk, from one goroutine, in chunk order; Reset makes it ready for the next chunk. The
// zero Chunk is ready to use.
type Chunk struct {
	// seen counts the sums, not the IDs: a chunk is processed a part at a time in memory that
	// is reused from part to part, and the IDs' text lives in that memory.
	seen map[digest.Sum]int
}

// NewChunk returns the numbering of a new chunk.
func NewChunk() *Chunk { return new(Chunk) }

// Reset forgets the numbering, for the next chunk.
func (c *Chunk) Reset() { clear(c.seen) }

// id writes into t the ID of sum for its first occurrence in the chunk and ID.N for the N-th
// repeat (counting from 1). base64url never contains '.', so a numbered ID cannot equal another
// record's base ID.
func (c *Chunk) id(t *body.Tree, sum digest.Sum) string {
	n := 0
	if c != nil {
		if c.seen == nil {
			c.seen = map[digest.Sum]int{}
		}
		n = c.seen[sum]
		c.seen[sum] = n + 1
	}
	return t.Text(func(b []byte) []byte {
		b = sum.AppendID(b)
		if n > 0 {
			b = strconv.AppendInt(append(b, '.'), int64(n), 10)
		}
		return b
	})
}

// UndecodableID is the _id of the dead letter of chunk bytes that are not a log event (errType
// and reason say why). The bytes include the event's timestamp when there is one; identical bytes
// of one chunk are numbered like records.
func (c *Chunk) UndecodableID(errType, reason string, raw []byte) string {
	v := body.Of(raw)
	return c.id(v.Tree(), digest.Hash(uint8(ecs.KindGeneric), digest.Key{errType, reason}, v))
}

// arrival is how an event reached the processors: its Fluent Bit time (as received, and as a
// valid @timestamp) and the chunk it came in.
type arrival struct {
	at       time.Time
	fallback time.Time // at, made encodable; the @timestamp of an event without a time of its own
	chunk    *Chunk
}

// typedID identifies an event with a natural key by content (see the rule above); without a
// natural key it falls back to its arrival. ev and pass (a map, or Absent) belong to one tree.
func (a arrival) typedID(kind ecs.Kind, key digest.Key, ev, pass body.Value) string {
	if key[0] == "" {
		return a.arrivalID(kind, key, ev, pass)
	}
	// An event without pass-through keys hashes as before they were part of the ID, so
	// documents written by earlier versions are still recognised.
	content := ev
	if pass.Exists() {
		content = ev.Tree().NewArray(ev, pass)
	}
	return digest.ID(uint8(kind), key, content)
}

// arrivalID identifies a record without a natural key by its content and its arrival: the array
// [content, pass-through keys, Fluent Bit time], no pass-through keys being an empty map.
func (a arrival) arrivalID(kind ecs.Kind, key digest.Key, content, pass body.Value) string {
	t := content.Tree()
	if !pass.Exists() {
		pass = t.NewMap()
	}
	sum := digest.Hash(uint8(kind), key, t.NewArray(content, pass, t.NewTime(a.at)))
	return a.chunk.id(t, sum)
}
