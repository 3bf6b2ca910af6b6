package deliver

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// truncatedOriginal is enough of a document to identify it and see its shape.
const truncatedOriginal = 4 << 10

// addDeadLetter appends the dead-letter entry for record rec, refused by index with status
// and rej. It takes the _id of the record, so a chunk re-sent by Fluent Bit does not
// dead-letter the record twice.
func (c *chunk) addDeadLetter(rec int, index string, status int, rej rejection) {
	r := &c.recs[rec]
	doc := c.d.deadLetterDoc(ecs.Error{Type: rej.Type, Message: rej.String()})
	original := c.original(rec)
	doc.SiemScore.DeadLetter = ecs.DeadLetter{
		Index:         index,
		ID:            r.ID,
		Kind:          r.Kind.String(),
		Status:        status,
		Original:      original,
		OriginalBytes: len(original),
	}
	if status == http.StatusRequestEntityTooLarge && len(original) > truncatedOriginal {
		cut := truncatedOriginal
		for cut > 0 && !utf8.RuneStart(original[cut]) {
			cut--
		}
		doc.SiemScore.DeadLetter.Original = original[:cut]
		doc.SiemScore.DeadLetter.OriginalTruncated = true
	}
	c.addItem(rec, c.d.dead, r.ID, encodeDeadLetter(doc), true)
}

// deadLetterDoc starts the dead-letter document of a failure happening now.
func (d *Deliverer) deadLetterDoc(e ecs.Error) ecs.DeadLetterDocument {
	return ecs.DeadLetterDocument{
		Timestamp:  time.Now().UTC(),
		DataStream: d.dead.dataStream,
		Event:      ecs.DeadLetterEvent{Kind: "pipeline_error", Dataset: target.DeadLetterDataset},
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
	doc := c.d.deadLetterDoc(ecs.Error{
		Type:    DecodeErrorType,
		Message: u.Reason + " (Fluent Bit tag " + u.Tag + "; siemscore.deadletter.original holds the bytes, base64-encoded msgpack)",
	})
	original := base64.StdEncoding.EncodeToString(u.Raw)
	doc.SiemScore.DeadLetter = ecs.DeadLetter{Kind: ecs.KindGeneric.String(), ID: u.ID, Original: original, OriginalBytes: len(original)}
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
