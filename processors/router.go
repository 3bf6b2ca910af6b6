package processors

import (
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/cloudtrail"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
	"github.com/siemscore/siemscore/processors/guardduty"
	"github.com/siemscore/siemscore/processors/internal/slab"
	"github.com/siemscore/siemscore/processors/jsonw"
	"github.com/siemscore/siemscore/processors/useragent"
	"github.com/siemscore/siemscore/processors/zeek"
)

// DefaultEventKeys are the Fluent Bit record keys that may hold the event as a JSON string: `log`
// is where the tail and forward inputs put a line, `message` where syslog-style inputs do.
var DefaultEventKeys = []string{"log", "message"}

// Options configure a Processor.
type Options struct {
	// Type is the record type of every record: "cloudtrail", "guardduty", "kerberos" or
	// "generic" (ship without parsing). "" or "auto" recognises each record's type from its
	// fields (see detect).
	Type string
	// EventKeys are the keys of a record that may hold the event as a JSON string (or as an
	// object), tried in order when the record itself is not an event. nil means
	// DefaultEventKeys; an empty slice turns unwrapping off.
	EventKeys []string
	// PreserveOriginal keeps the event as received, as JSON text, in event.original.
	PreserveOriginal bool
	// Geo, when set, adds geo and AS fields to the source and destination of every parsed event
	// (a *geoip.Enricher or *geoip.DB).
	Geo Enricher
}

// Enricher adds fields derived from a document's own values.
type Enricher interface {
	Enrich(d *ecs.Document)
}

// Processor turns record bodies into Records. It is safe for concurrent use.
type Processor struct {
	fixed    bool
	kind     ecs.Kind
	keys     []string
	preserve bool
	geo      Enricher
}

// New validates opts and returns a Processor.
func New(opts Options) (*Processor, error) {
	p := &Processor{keys: opts.EventKeys, preserve: opts.PreserveOriginal, geo: opts.Geo}
	if p.keys == nil {
		p.keys = DefaultEventKeys
	}
	for _, k := range p.keys {
		if k == "" {
			return nil, errors.New("processors: an event key is empty")
		}
	}
	p.keys = append([]string(nil), p.keys...)
	if opts.Type != "" && !strings.EqualFold(opts.Type, "auto") {
		k, err := ecs.ParseKind(opts.Type)
		if err != nil {
			return nil, fmt.Errorf("processors: record type: %w", err)
		}
		p.fixed, p.kind = true, k
	}
	return p, nil
}

// Warm builds now what parsing the processor's record types needs on first use, the
// user-agent rules of CloudTrail records (about 50 ms of CPU and 11 MB), so that the first
// chunk does not wait for it. A processor fixed to a type without user agents builds nothing.
func (p *Processor) Warm() {
	if !p.fixed || p.kind == ecs.KindCloudTrail {
		useragent.Warm()
	}
}

// Batch is the memory a batch of bodies is processed in: the bodies' tree, and the documents
// made from them, which share the tree's strings. One flush worker keeps one Batch and Resets it
// for every chunk, so that processing allocates nothing once it has grown to the chunk's size.
// The zero Batch is ready to use; it is not safe for concurrent use.
type Batch struct {
	tree    body.Tree
	ct      cloudtrail.Parser
	gd      guardduty.Parser
	krb     zeek.Parser
	generic slab.Slab[genericBlock]
}

// genericBlock is the memory of a document the router builds itself.
type genericBlock struct {
	doc ecs.Document
	err ecs.Error
}

// Tree returns the batch's tree, to decode bodies into.
func (b *Batch) Tree() *body.Tree { return &b.tree }

// Reset forgets every body and document of the batch, which must not be used any more, and
// makes buf the tree's buffer (see body.Tree.Reset).
func (b *Batch) Reset(buf []byte) {
	b.tree.Reset(buf)
	b.resetDocuments()
}

// Rewind forgets every body and document of the batch, which must not be used any more, but
// keeps the tree's buffer (see body.Tree.Rewind).
func (b *Batch) Rewind() {
	b.tree.Rewind()
	b.resetDocuments()
}

func (b *Batch) resetDocuments() {
	b.ct.Reset()
	b.gd.Reset()
	b.krb.Reset()
	b.generic.Reset()
}

// Pipeline error types (error.type of an event.kind "pipeline_error" document).
const (
	ErrTypeEmbeddedInvalid = "embedded_event_invalid" // the event key held text that is not a JSON event
	ErrTypeRecordsInvalid  = "records_invalid"        // Records is not an array, or an element is not an object
	ErrTypeEventInvalid    = "event_invalid"          // the event has none of its type's fields in a usable form
	ErrTypePanic           = "panic"                  // a bug: processing panicked
	ErrTypeInputInvalid    = "input_invalid"          // read from a file, but not a JSON event object (see Unreadable)
)

// Unreadable is the pipeline_error record of input read from a file that is not an event object
// (a number, a string, an empty array, a line that is not JSON): text as read, and why, so that
// it is written out with the reason like any input the processors cannot use, not dropped. The
// record has memory of its own.
func Unreadable(text, reason string, at time.Time) ecs.Record {
	b := new(Batch)
	return failure(b, ErrTypeInputInvalid, reason, b.tree.NewString(text), text, body.Value{}, arrival{at: at, fallback: fields.Encodable(at)})
}

// maxUnwrap bounds how many envelopes (event key, EventBridge, Records) are opened around one
// event, so that a crafted record cannot make the router recurse without end.
const maxUnwrap = 4

// Append is AppendBody for a body decoded into Go values (see body.Tree.AppendAny): records
// read from files, tests. The records get memory of their own. Identical records are not
// numbered (see AppendChunk).
func (p *Processor) Append(dst []ecs.Record, m map[string]any, at time.Time) []ecs.Record {
	return p.AppendStream(dst, m, "", at)
}

// AppendStream is Append for a body read from a log whose stream is known from outside the
// body: Zeek's #path header, or the columns a file's header names (see input.Item.Stream). A
// body that no rule recognises is taken for that stream's event when it has the stream's key
// fields: rows of Zeek's kerberos.log that carry only the connection (uid, id.*) say nothing
// else that would tell them from other Zeek logs. An unknown stream changes nothing.
func (p *Processor) AppendStream(dst []ecs.Record, m map[string]any, stream string, at time.Time) []ecs.Record {
	b := new(Batch)
	return p.add(dst, b, b.tree.AppendAny(m), stream, at, nil)
}

// AppendChunk is Append for the events of one Fluent Bit chunk, in chunk order: c numbers the
// events that would otherwise get the same _id (identical content, same Fluent Bit time), so
// that each gets its own document and a re-send of the chunk maps each onto it again. A nil c
// numbers nothing.
func (p *Processor) AppendChunk(dst []ecs.Record, m map[string]any, at time.Time, c *Chunk) []ecs.Record {
	b := new(Batch)
	return p.add(dst, b, b.tree.AppendAny(m), "", at, c)
}

// AppendBody appends the Records the map ev of b's tree holds to dst: usually one, one per
// element of a CloudTrail {"Records": [...]} document, and never none. A body that cannot be
// processed becomes a document with event.kind "pipeline_error", error.type and error.message
// saying why, and the input in event.original. at is the record's Fluent Bit time: it is used as
// @timestamp when the event has no valid time of its own, and it is part of the _id of records
// without a natural key (see recordid.go). c numbers the events of one Fluent Bit chunk, given
// in chunk order, like AppendChunk. The records are valid until b is Reset or Rewound.
func (p *Processor) AppendBody(dst []ecs.Record, b *Batch, ev body.Value, at time.Time, c *Chunk) []ecs.Record {
	return p.add(dst, b, ev, "", at, c)
}

func (p *Processor) add(dst []ecs.Record, b *Batch, ev body.Value, stream string, at time.Time, c *Chunk) (out []ecs.Record) {
	a := arrival{at: at, fallback: fields.Encodable(at), chunk: c}
	n := len(dst)
	defer func() {
		if r := recover(); r != nil {
			out = append(dst[:n], panicRecord(ev, r, a))
		}
	}()
	if k := streamKind(stream); !p.fixed && k != ecs.KindGeneric && detect(ev) == ecs.KindGeneric && keyed(k, ev) {
		return p.appendEvent(dst, b, k, ev, body.Value{}, source{}, a)
	}
	return p.appendBody(dst, b, ev, body.Value{}, source{}, a, 0)
}

// source remembers what an event was unwrapped from, for event.original: the JSON text it was
// decoded from, or the enclosing envelope.
type source struct {
	text     string
	envelope body.Value
}

// original returns the event as received, as JSON text.
func (s source) original(ev body.Value) string {
	switch {
	case s.text != "":
		return s.text
	case s.envelope.Exists():
		return encode(s.envelope)
	}
	return encode(ev)
}

// appendBody processes ev, whose unwrapped envelopes contributed the passthrough members pass
// (a map, or Absent).
func (p *Processor) appendBody(dst []ecs.Record, b *Batch, ev, pass body.Value, src source, a arrival, depth int) []ecs.Record {
	kind := detect(ev)
	if p.fixed && (kind == p.kind || p.kind == ecs.KindGeneric) {
		return p.appendEvent(dst, b, p.kind, ev, pass, src, a)
	}
	if !p.fixed && kind != ecs.KindGeneric {
		return p.appendEvent(dst, b, kind, ev, pass, src, a)
	}
	if depth < maxUnwrap {
		if records := ev.Get("Records"); records.Exists() {
			return p.appendRecords(dst, b, ev, records, pass, a, depth)
		}
		if detail, announced, ok := envelope(ev); ok {
			// The envelope's own fields (account, region, time, source) repeat the event's and
			// are dropped, as Elastic's integrations drop them; event.original keeps them.
			inner := detect(detail)
			switch {
			case p.fixed:
				return p.appendBody(dst, b, detail, pass, source{envelope: ev}, a, depth+1)
			case inner != ecs.KindGeneric:
				return p.appendEvent(dst, b, inner, detail, pass, source{envelope: ev}, a)
			case announced != ecs.KindGeneric:
				return p.appendEvent(dst, b, announced, detail, pass, source{envelope: ev}, a)
			}
			// An EventBridge event of another kind is shipped whole, envelope included.
		}
		if raw, ok := splunkRaw(ev); ok {
			// Splunk's fields describe its index, not the event; they are dropped (event.original
			// keeps _raw, the event as Splunk received it).
			if out, done := p.appendText(dst, b, raw, "result._raw", pass, a, depth); done {
				return out
			}
		}
		for _, key := range p.keys {
			if out, done := p.appendEmbedded(dst, b, ev, key, pass, a, depth); done {
				return out
			}
		}
	}
	if p.fixed {
		return p.appendEvent(dst, b, p.kind, ev, pass, src, a)
	}
	return p.appendGeneric(dst, b, ev, pass, src, a)
}

// appendEmbedded processes the event held under key, if there is one; done is false when key
// holds nothing to unwrap.
func (p *Processor) appendEmbedded(dst []ecs.Record, b *Batch, ev body.Value, key string, pass body.Value, a arrival, depth int) (out []ecs.Record, done bool) {
	held := ev.Get(key)
	switch held.Kind() {
	case body.Map:
		return p.appendBody(dst, b, held, merge(pass, ev, key), source{}, a, depth+1), true
	case body.String, body.Binary:
		return p.appendText(dst, b, held, key, merge(pass, ev, key), a, depth)
	}
	return dst, false
}

// appendText processes the event held as JSON text in the string held, found under the
// record key named key; others are the passthrough members that go with it. done is false
// when the text is a plain line rather than an event: the record is then a generic one.
func (p *Processor) appendText(dst []ecs.Record, b *Batch, held body.Value, key string, others body.Value, a arrival, depth int) (out []ecs.Record, done bool) {
	text := held.Str()
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || trimmed[0] != '{' && trimmed[0] != '[' {
		if p.fixed && p.kind != ecs.KindGeneric {
			msg := fmt.Sprintf("%s is not a JSON event (it starts %q)", key, prefix(trimmed))
			return append(dst, failure(b, ErrTypeEmbeddedInvalid, msg, held, text, others, a)), true
		}
		return dst, false // a plain text line: the record is a generic one
	}
	var v any
	if err := json.Unmarshal([]byte(trimmed), &v); err != nil {
		msg := fmt.Sprintf("%s is not valid JSON: %v", key, err)
		return append(dst, failure(b, ErrTypeEmbeddedInvalid, msg, held, text, others, a)), true
	}
	inner := b.tree.AppendAny(v)
	switch inner.Kind() {
	case body.Map:
		return p.appendBody(dst, b, inner, others, source{text: text}, a, depth+1), true
	case body.Array:
		return p.appendList(dst, b, inner, key, others, a, depth), true
	}
	msg := fmt.Sprintf("%s holds a JSON %s, not an event", key, typeName(inner))
	return append(dst, failure(b, ErrTypeEmbeddedInvalid, msg, held, text, others, a)), true
}

// appendRecords processes a {"Records": [...]} document (a CloudTrail S3 log file).
func (p *Processor) appendRecords(dst []ecs.Record, b *Batch, ev, records, pass body.Value, a arrival, depth int) []ecs.Record {
	others := merge(pass, ev, "Records")
	if records.Kind() != body.Array {
		msg := fmt.Sprintf("Records is %s, not an array", typeName(records))
		return append(dst, failure(b, ErrTypeRecordsInvalid, msg, ev, encode(ev), pass, a))
	}
	if records.Len() == 0 {
		return p.appendGeneric(dst, b, ev, pass, source{}, a)
	}
	return p.appendList(dst, b, records, "Records", others, a, depth)
}

// appendList processes each element of an array of events.
func (p *Processor) appendList(dst []ecs.Record, b *Batch, list body.Value, name string, pass body.Value, a arrival, depth int) []ecs.Record {
	if list.Len() == 0 {
		return append(dst, failure(b, ErrTypeRecordsInvalid, "an empty array holds no event", list, encode(list), pass, a))
	}
	for i := range list.Len() {
		e := list.Elem(i)
		if e.Kind() != body.Map {
			msg := fmt.Sprintf("%s[%d] is %s, not an object", name, i, typeName(e))
			original := e.Str()
			if e.Kind() != body.String {
				original = encode(e)
			}
			dst = append(dst, failure(b, ErrTypeRecordsInvalid, msg, e, original, pass, a))
			continue
		}
		dst = p.appendBody(dst, b, e, pass, source{}, a, depth+1)
	}
	return dst
}

// appendEvent parses ev as kind.
func (p *Processor) appendEvent(dst []ecs.Record, b *Batch, kind ecs.Kind, ev, pass body.Value, src source, a arrival) []ecs.Record {
	var (
		doc *ecs.Document
		key digest.Key
		err error
	)
	switch kind {
	case ecs.KindCloudTrail:
		doc, err = b.ct.Parse(ev, a.fallback)
		key = cloudtrail.Key(ev)
	case ecs.KindGuardDuty:
		doc, err = b.gd.Parse(ev, a.fallback)
		key = guardduty.Key(ev)
	case ecs.KindKerberos:
		doc, key, err = b.krb.Parse(ev, a.fallback)
	default:
		return p.appendGeneric(dst, b, ev, pass, src, a)
	}
	if err != nil {
		return append(dst, failure(b, ErrTypeEventInvalid, err.Error(), ev, encode(ev), pass, a))
	}
	passthrough(doc, pass)
	if p.preserve {
		doc.Event.Original = src.original(ev)
	}
	if doc.UserAgent != nil && !useragent.Fill(doc.UserAgent) {
		fields.AddIssue(doc, useragent.IssueNotParsed)
	}
	if p.geo != nil {
		p.geo.Enrich(doc)
	}
	return append(dst, ecs.Record{Kind: kind, ID: a.typedID(kind, key, ev, pass), Doc: doc})
}

// appendGeneric ships a record the processors do not know as it is: its keys become the
// document's passthrough fields, except a parseable @timestamp and a string message, which
// fill the typed fields of the same name (left in the passthrough they would collide with
// them). siemscore.model.status is the scorer's to set.
func (p *Processor) appendGeneric(dst []ecs.Record, b *Batch, ev, pass body.Value, src source, a arrival) []ecs.Record {
	doc := &b.generic.New().doc
	doc.Timestamp, doc.ECS.Version = a.fallback, ecs.Version
	var liftedKeys [2]string
	lifted := liftedKeys[:0]
	if v := ev.Get("@timestamp"); v.Exists() {
		t, st := fields.Time(v)
		switch st {
		case fields.TimeOK:
			doc.Timestamp = t
			lifted = append(lifted, "@timestamp")
		case fields.TimeInvalid:
			fields.AddIssue(doc, ecs.IssueTimestampInvalid)
		}
	}
	if m := ev.Get("message"); m.Kind() == body.String {
		doc.Message = m.Str()
		lifted = append(lifted, "message")
	}
	rest := ev
	if len(lifted) > 0 {
		rest = b.tree.Merge(body.Value{}, ev, lifted...)
	}
	passthrough(doc, merge(pass, rest, ""))
	if p.preserve {
		doc.Event.Original = src.original(ev)
	}
	return append(dst, ecs.Record{Kind: ecs.KindGeneric, ID: a.arrivalID(ecs.KindGeneric, digest.Key{}, ev, pass), Doc: doc})
}

// failure builds the pipeline_error record for input that could not be processed; original is
// its text for event.original, kept whatever PreserveOriginal says: it is the only copy.
func failure(b *Batch, errType, msg string, input body.Value, original string, pass body.Value, a arrival) ecs.Record {
	g := b.generic.New()
	g.err = ecs.Error{Type: errType, Message: msg}
	doc := &g.doc
	doc.Timestamp, doc.ECS.Version = a.fallback, ecs.Version
	doc.Event.Kind, doc.Event.Original = "pipeline_error", original
	doc.Error = &g.err
	if errType == ErrTypeEmbeddedInvalid {
		fields.AddIssue(doc, ecs.IssueEmbeddedEventInvalid)
	}
	passthrough(doc, pass)
	return ecs.Record{Kind: ecs.KindGeneric, ID: a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", errType}, input, pass), Doc: doc}
}

// panicRecord is the last line of defence: processing panicked (a bug), and the record is still
// shipped. Every step that touches ev may panic again, so each is guarded.
func panicRecord(ev body.Value, r any, a arrival) ecs.Record {
	msg := fmt.Sprintf("processing panicked: %v", r)
	doc := &ecs.Document{
		Timestamp: a.fallback,
		ECS:       ecs.ECSInfo{Version: ecs.Version},
		Event:     ecs.Event{Kind: "pipeline_error"},
		Error:     &ecs.Error{Type: ErrTypePanic, Message: msg},
	}
	id := guard(func() string {
		return a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", ErrTypePanic}, ev, body.Value{})
	})
	if id == "" {
		id = a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", ErrTypePanic, msg}, new(body.Tree).AppendAny(nil), body.Value{})
	}
	doc.Event.Original = guard(func() string { return encode(ev) })
	return ecs.Record{Kind: ecs.KindGeneric, ID: id, Doc: doc}
}

func guard(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return f()
}

// merge returns pass plus the members of ev other than skip ("" skips nothing), or pass alone
// when ev adds nothing.
func merge(pass, ev body.Value, skip string) body.Value {
	n := ev.Len()
	if skip != "" && ev.Get(skip).Exists() {
		n--
	}
	switch {
	case n == 0:
		return pass
	case !pass.Exists() && skip == "":
		return ev
	}
	return ev.Tree().Merge(pass, ev, skip)
}

// passthrough sets d's passthrough fields to the members of the map m, as JSON: those whose key
// is a typed top-level field of the document are kept under ecs.CollisionKey instead, each
// listed in siemscore.issues.
func passthrough(d *ecs.Document, m body.Value) {
	if m.Len() == 0 {
		return
	}
	collided := 0
	text := m.Tree().Text(func(b []byte) []byte {
		b = append(b, '{')
		for i := range m.Len() {
			if ecs.TypedKey(m.Key(i)) {
				collided++
				continue
			}
			b = member(b, m, i)
		}
		if collided > 0 {
			b = jsonw.String(comma(b), ecs.CollisionKey)
			b = append(b, ":{"...)
			for i := range m.Len() {
				if ecs.TypedKey(m.Key(i)) {
					b = member(b, m, i)
				}
			}
			b = append(b, '}')
		}
		return append(b, '}')
	})
	d.Passthrough = ecs.RawJSON(text)
	for i := range m.Len() {
		if k := m.Key(i); ecs.TypedKey(k) {
			fields.AddIssue(d, ecs.IssuePassthroughCollision+":"+k)
		}
	}
}

// member appends member i of the map m as "key":value, after a comma unless it is the first
// member of the object being written.
func member(b []byte, m body.Value, i int) []byte {
	b = jsonw.String(comma(b), m.Key(i))
	return m.Elem(i).AppendJSON(append(b, ':'))
}

func comma(b []byte) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return b
}

// encode renders a body value as JSON text for event.original.
func encode(v body.Value) string {
	if !v.Exists() {
		return ""
	}
	return v.Tree().Text(func(b []byte) []byte {
		b, _ = v.AppendText(b)
		return b
	})
}

func typeName(v body.Value) string {
	switch v.Kind() {
	case body.Absent, body.Null:
		return "null"
	case body.String, body.Binary:
		return "a string"
	case body.Bool:
		return "a boolean"
	case body.Map:
		return "an object"
	case body.Array:
		return "an array"
	case body.Time:
		return "a time.Time"
	case body.Ext:
		return "a decode.Ext"
	}
	if _, ok := fields.Float(v); ok {
		return "a number"
	}
	return "a float64" // NaN or an infinity
}

func prefix(s string) string {
	const n = 16
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
