package deliver

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// addDeadLetter appends the dead-letter entry for record rec, refused by index with status
// and rej. It takes the _id of the record, so a chunk re-sent by Fluent Bit does not
// dead-letter the record twice.
func (c *chunk) addDeadLetter(rec int, index string, status int, rej rejection) {
	c.addItem(rec, c.d.dead, c.recs[rec].ID, c.deadLetterBody(rec, index, status, rej), true)
}

// deadLetterBody is the dead-letter document of record rec, refused by index with status and
// rej, holding the whole record.
func (c *chunk) deadLetterBody(rec int, index string, status int, rej rejection) []byte {
	r := &c.recs[rec]
	doc := c.deadLetterDoc(ecs.Error{Type: rej.Type, Message: rej.String()})
	original := c.original(rec)
	doc.SiemScore.DeadLetter = ecs.DeadLetter{
		Index:         index,
		Pipeline:      c.d.routeOf(r.Kind).pipeline,
		ID:            r.ID,
		Kind:          r.Kind.String(),
		Tag:           c.tag(),
		Status:        status,
		Original:      original,
		OriginalBytes: len(original),
	}
	return encodeDeadLetter(doc)
}

// fileDeadLetter sends item i's record to the dead-letter file: it, or its dead letter, is too
// large for the dead-letter data stream. The file is written once the rest of the chunk is
// acknowledged. Without a file configured the chunk is retried: nothing is shortened to fit.
func (c *chunk) fileDeadLetter(i, status int, rej rejection) {
	it := c.items[i]
	if c.resends != nil {
		c.state[it.rec] = refused
		c.refusal = fmt.Sprintf("HTTP %d %s", status, rej.String())
		return
	}
	if c.d.file == nil {
		err := fmt.Errorf("deliver: record %s: %s; it cannot be dead-lettered in Elasticsearch either: set dead_letter_path to keep such records in a local file", it.id, rej.String())
		c.d.conditions.raise("dead-letter file", "not configured, and a record is too large for the dead-letter data stream")
		c.noFile = unavailable(err)
		return
	}
	var body []byte
	if it.dead {
		_, doc, _ := bytes.Cut(c.buf[it.start:it.end], []byte{'\n'})
		body = bytes.TrimSuffix(doc, []byte{'\n'})
	} else {
		body = c.deadLetterBody(it.rec, it.index, status, rej)
	}
	c.toFile = append(c.toFile, body)
	c.toFileRecs = append(c.toFileRecs, it.rec)
}

// writeFile writes the dead letters bound for the file, once everything else is acknowledged.
func (c *chunk) writeFile() error {
	if c.noFile != nil {
		return c.noFile
	}
	if len(c.toFile) == 0 {
		return nil
	}
	if err := c.d.file.Append(c.toFile); err != nil {
		c.d.conditions.raise("dead-letter file", err.Error())
		return unavailable(err)
	}
	c.written["dead-letter file"] = true
	for _, e := range c.toFileRecs {
		c.state[e] = deadLettered
	}
	c.d.log.Warn("records too large for the dead-letter data stream were dead-lettered to a file", "count", len(c.toFile), "dir", c.d.file.Dir())
	return nil
}

// deadLetterDoc starts the dead-letter document of a failure happening now.
func (c *chunk) deadLetterDoc(e ecs.Error) ecs.DeadLetterDocument {
	return ecs.DeadLetterDocument{
		Timestamp:  time.Now().UTC(),
		DataStream: c.d.dead.dataStream,
		Event:      ecs.DeadLetterEvent{Kind: "pipeline_error", Dataset: target.DeadLetterDataset},
		Host:       ecs.DeadLetterHost{Name: c.d.host},
		Error:      e,
	}
}

func encodeDeadLetter(doc ecs.DeadLetterDocument) []byte {
	body, err := json.Marshal(doc)
	if err != nil {
		// Every field is a plain string, number or time: this cannot happen, but must not
		// lose the record either.
		body = fmt.Appendf(nil, `{"@timestamp":%q,"error":{"message":"dead-letter encoding failed"}}`, doc.Timestamp.Format(time.RFC3339Nano))
	}
	return body
}

// DecodeErrorType is error.type of the dead letter of input that is not a log event.
const DecodeErrorType = "decode_error"

// Undecodable is input that never became a record: bytes of a chunk that are not msgpack, or
// not a log event.
type Undecodable struct {
	// ID is the dead-letter document's _id: deterministic, so that a re-sent chunk does not
	// dead-letter the same input twice.
	ID     string
	Tag    string // the chunk's Fluent Bit tag
	Reason string
	Raw    []byte // the bytes as received
}

// addUndecodable appends the dead-letter entry of input u as entry e of the chunk. The bytes are
// kept whole, base64-encoded: they are not valid msgpack, or not a log event, so no rendering of
// them would be faithful.
func (c *chunk) addUndecodable(e int, u Undecodable) {
	doc := c.deadLetterDoc(ecs.Error{
		Type:    DecodeErrorType,
		Message: u.Reason + " (Fluent Bit tag " + u.Tag + "; siemscore.deadletter.original holds the bytes, base64-encoded msgpack)",
	})
	original := base64.StdEncoding.EncodeToString(u.Raw)
	doc.SiemScore.DeadLetter = ecs.DeadLetter{Kind: ecs.KindGeneric.String(), ID: u.ID, Tag: u.Tag, Original: original, OriginalBytes: len(original)}
	c.addItem(e, c.d.dead, u.ID, encodeDeadLetter(doc), true)
}

// original returns the record's document as sent, or, if it was never encoded (it had none),
// "".
func (c *chunk) original(rec int) string {
	// encode made item rec the record's own, unless the record went straight to dead letter.
	if rec < len(c.items) && !c.items[rec].dead {
		it := c.items[rec]
		_, doc, _ := bytes.Cut(c.buf[it.start:it.end], []byte{'\n'})
		return string(bytes.TrimSuffix(doc, []byte{'\n'}))
	}
	return ""
}
