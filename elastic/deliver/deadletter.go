package deliver

import (
	"bytes"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// DeadLetterDoc is what the dead-letter data stream stores about a rejected record. Its
// template (elastic/template) maps exactly these fields and nothing dynamically, with the
// original kept in a field that cannot itself be rejected, so this write cannot fail on content.
type DeadLetterDoc struct {
	Timestamp  time.Time       `json:"@timestamp"`
	DataStream ecs.DataStream  `json:"data_stream,omitzero"`
	Event      DeadLetterEvent `json:"event"`
	Error      ecs.Error       `json:"error"`
	SiemScore  struct {
		DeadLetter DeadLetter `json:"deadletter"`
	} `json:"siemscore"`
}

// DeadLetterEvent marks the document as a pipeline error of the dead-letter dataset.
type DeadLetterEvent struct {
	Kind    string `json:"kind"`
	Dataset string `json:"dataset"`
}

// DeadLetter is the siemscore.deadletter object of a dead-letter document.
type DeadLetter struct {
	// Index and ID are where the record was meant to go.
	Index string `json:"index"`
	ID    string `json:"id,omitempty"`
	// Kind is the record type (cloudtrail, guardduty, kerberos, generic).
	Kind string `json:"kind"`
	// Status is the HTTP status Elasticsearch gave the item; 0 when the record never reached
	// Elasticsearch (it could not be encoded).
	Status int `json:"status"`
	// Original is the document exactly as it was sent, as a string, except that a document too
	// large for any request (HTTP 413) keeps only its first truncatedOriginal bytes, so that
	// its dead-letter entry is not too large as well.
	Original          string `json:"original"`
	OriginalBytes     int    `json:"original_bytes"`
	OriginalTruncated bool   `json:"original_truncated,omitempty"`
}

// truncatedOriginal is enough of a document to identify it and see its shape.
const truncatedOriginal = 4 << 10

// addDeadLetter appends the dead-letter entry for record rec, refused by index with status
// and rej. It takes the _id of the record, so a chunk re-sent by Fluent Bit does not
// dead-letter the record twice.
func (c *chunk) addDeadLetter(rec int, index string, status int, rej rejection) {
	r := &c.recs[rec]
	doc := DeadLetterDoc{
		Timestamp:  time.Now().UTC(),
		DataStream: c.d.dead.dataStream,
		Event:      DeadLetterEvent{Kind: "pipeline_error", Dataset: target.DeadLetterDataset},
		Error:      ecs.Error{Type: rej.Type, Message: rej.String()},
	}
	original := c.original(rec)
	doc.SiemScore.DeadLetter = DeadLetter{
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
	body, err := json.Marshal(doc)
	if err != nil {
		// Every field is a plain string, number or time: this cannot happen, but must not
		// lose the record either.
		body = fmt.Appendf(nil, `{"@timestamp":%q,"error":{"message":"dead-letter encoding failed"}}`, doc.Timestamp.Format(time.RFC3339Nano))
	}
	c.addItem(rec, c.d.dead, r.ID, body, true)
}

// original returns the record's document as sent, or, if it was never encoded, the best
// rendering of it there is.
func (c *chunk) original(rec int) string {
	// encode made item rec the record's own, unless the record went straight to dead letter.
	if rec < len(c.items) && !c.items[rec].dead {
		it := c.items[rec]
		_, doc, _ := bytes.Cut(c.buf[it.start:it.end], []byte{'\n'})
		return string(bytes.TrimSuffix(doc, []byte{'\n'}))
	}
	return renderUnencodable(c.recs[rec].Doc)
}

// renderUnencodable renders a document whose JSON encoding failed. The free-form parts (the
// passthrough fields and CloudTrail's flattened objects) are the only ones that can hold
// values JSON cannot carry (NaN, ±Inf from msgpack), so the typed rest is encoded as JSON and
// the free-form parts are appended in Go syntax.
func renderUnencodable(d *ecs.Document) string {
	if d == nil {
		return ""
	}
	typed := *d
	typed.Passthrough = nil
	var flat *ecs.CloudTrailFlat
	if d.AWS != nil && d.AWS.CloudTrail != nil {
		aws, ct := *d.AWS, *d.AWS.CloudTrail
		flat = &d.AWS.CloudTrail.Flattened
		ct.Flattened = ecs.CloudTrailFlat{}
		aws.CloudTrail = &ct
		typed.AWS = &aws
	}
	b, err := typed.MarshalJSON()
	if err != nil {
		b = []byte(fmt.Sprintf("%+v", typed))
	}
	s := string(b)
	if flat != nil {
		s += fmt.Sprintf(" aws.cloudtrail.flattened=%+v", *flat)
	}
	if len(d.Passthrough) > 0 {
		s += fmt.Sprintf(" passthrough=%v", d.Passthrough)
	}
	return s
}
