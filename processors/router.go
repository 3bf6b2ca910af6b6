package processors

import (
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/processors/bodyjson"
	"github.com/siemscore/siemscore/processors/cloudtrail"
	"github.com/siemscore/siemscore/processors/digest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/fields"
	"github.com/siemscore/siemscore/processors/guardduty"
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
// it is written out with the reason like any input the processors cannot use, not dropped.
func Unreadable(text, reason string, at time.Time) ecs.Record {
	return failure(ErrTypeInputInvalid, reason, text, nil, arrival{at: at, fallback: fields.Encodable(at)})
}

// maxUnwrap bounds how many envelopes (event key, EventBridge, Records) are opened around one
// event, so that a crafted record cannot make the router recurse without end.
const maxUnwrap = 4

// Append appends the Records body holds to dst: usually one, one per element of a CloudTrail
// {"Records": [...]} document, and never none. A body that cannot be processed becomes a
// document with event.kind "pipeline_error", error.type and error.message saying why, and the
// input in event.original. at is the record's Fluent Bit time: it is used as @timestamp when the
// event has no valid time of its own, and it is part of the _id of records without a natural key
// (see recordid.go). Records of one Fluent Bit chunk are processed with AppendChunk instead, so
// that identical events of the chunk are told apart.
//
// The returned documents may share maps with body; body must not be modified afterwards.
func (p *Processor) Append(dst []ecs.Record, body map[string]any, at time.Time) []ecs.Record {
	return p.add(dst, body, "", at, nil)
}

// AppendStream is Append for a body read from a log whose stream is known from outside the
// body: Zeek's #path header, or the columns a file's header names (see input.Item.Stream). A
// body that no rule recognises is taken for that stream's event when it has the stream's key
// fields: rows of Zeek's kerberos.log that carry only the connection (uid, id.*) say nothing
// else that would tell them from other Zeek logs. An unknown stream changes nothing.
func (p *Processor) AppendStream(dst []ecs.Record, body map[string]any, stream string, at time.Time) []ecs.Record {
	return p.add(dst, body, stream, at, nil)
}

// AppendChunk is Append for the events of one Fluent Bit chunk, in chunk order: c numbers the
// events that would otherwise get the same _id (identical content, same Fluent Bit time), so
// that each gets its own document and a re-send of the chunk maps each onto it again. A nil c
// numbers nothing.
func (p *Processor) AppendChunk(dst []ecs.Record, body map[string]any, at time.Time, c *Chunk) []ecs.Record {
	return p.add(dst, body, "", at, c)
}

func (p *Processor) add(dst []ecs.Record, body map[string]any, stream string, at time.Time, c *Chunk) (out []ecs.Record) {
	a := arrival{at: at, fallback: fields.Encodable(at), chunk: c}
	n := len(dst)
	defer func() {
		if r := recover(); r != nil {
			out = append(dst[:n], panicRecord(body, r, a))
		}
	}()
	if k := streamKind(stream); !p.fixed && k != ecs.KindGeneric && detect(body) == ecs.KindGeneric && keyed(k, body) {
		return p.appendEvent(dst, k, body, nil, source{}, a)
	}
	return p.appendBody(dst, body, nil, source{}, a, 0)
}

// source remembers what an event was unwrapped from, for event.original: the JSON text it was
// decoded from, or the enclosing envelope.
type source struct {
	text     string
	envelope map[string]any
}

// original returns the event as received, as JSON text.
func (s source) original(ev map[string]any) string {
	switch {
	case s.text != "":
		return s.text
	case s.envelope != nil:
		return encode(s.envelope)
	}
	return encode(ev)
}

// appendBody processes body, whose unwrapped envelopes contributed the passthrough keys pass.
func (p *Processor) appendBody(dst []ecs.Record, body, pass map[string]any, src source, a arrival, depth int) []ecs.Record {
	kind := detect(body)
	if p.fixed && (kind == p.kind || p.kind == ecs.KindGeneric) {
		return p.appendEvent(dst, p.kind, body, pass, src, a)
	}
	if !p.fixed && kind != ecs.KindGeneric {
		return p.appendEvent(dst, kind, body, pass, src, a)
	}
	if depth < maxUnwrap {
		if records, ok := body["Records"]; ok {
			return p.appendRecords(dst, body, records, pass, a, depth)
		}
		if detail, announced, ok := envelope(body); ok {
			// The envelope's own fields (account, region, time, source) repeat the event's and
			// are dropped, as Elastic's integrations drop them; event.original keeps them.
			inner := detect(detail)
			switch {
			case p.fixed:
				return p.appendBody(dst, detail, pass, source{envelope: body}, a, depth+1)
			case inner != ecs.KindGeneric:
				return p.appendEvent(dst, inner, detail, pass, source{envelope: body}, a)
			case announced != ecs.KindGeneric:
				return p.appendEvent(dst, announced, detail, pass, source{envelope: body}, a)
			}
			// An EventBridge event of another kind is shipped whole, envelope included.
		}
		if raw, ok := splunkRaw(body); ok {
			// Splunk's fields describe its index, not the event; they are dropped (event.original
			// keeps _raw, the event as Splunk received it).
			if out, done := p.appendText(dst, raw, "result._raw", pass, a, depth); done {
				return out
			}
		}
		for _, key := range p.keys {
			if out, done := p.appendEmbedded(dst, body, key, pass, a, depth); done {
				return out
			}
		}
	}
	if p.fixed {
		return p.appendEvent(dst, p.kind, body, pass, src, a)
	}
	return p.appendGeneric(dst, body, pass, src, a)
}

// appendEmbedded processes the event held under key, if there is one; done is false when key
// holds nothing to unwrap.
func (p *Processor) appendEmbedded(dst []ecs.Record, body map[string]any, key string, pass map[string]any, a arrival, depth int) (out []ecs.Record, done bool) {
	switch v := body[key].(type) {
	case map[string]any:
		return p.appendBody(dst, v, merge(pass, body, key), source{}, a, depth+1), true
	case string:
		return p.appendText(dst, v, key, merge(pass, body, key), a, depth)
	case []byte:
		return p.appendText(dst, string(v), key, merge(pass, body, key), a, depth)
	}
	return dst, false
}

// appendText processes the event held as JSON text under the record key named key; others are
// the passthrough keys that go with it. done is false when the text is a plain line rather
// than an event: the record is then a generic one.
func (p *Processor) appendText(dst []ecs.Record, text, key string, others map[string]any, a arrival, depth int) (out []ecs.Record, done bool) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || trimmed[0] != '{' && trimmed[0] != '[' {
		if p.fixed && p.kind != ecs.KindGeneric {
			msg := fmt.Sprintf("%s is not a JSON event (it starts %q)", key, prefix(trimmed))
			return append(dst, failure(ErrTypeEmbeddedInvalid, msg, text, others, a)), true
		}
		return dst, false // a plain text line: the record is a generic one
	}
	var v any
	if err := json.Unmarshal([]byte(trimmed), &v); err != nil {
		msg := fmt.Sprintf("%s is not valid JSON: %v", key, err)
		return append(dst, failure(ErrTypeEmbeddedInvalid, msg, text, others, a)), true
	}
	switch x := v.(type) {
	case map[string]any:
		return p.appendBody(dst, x, others, source{text: text}, a, depth+1), true
	case []any:
		return p.appendList(dst, x, key, others, a, depth), true
	}
	msg := fmt.Sprintf("%s holds a JSON %s, not an event", key, typeName(v))
	return append(dst, failure(ErrTypeEmbeddedInvalid, msg, text, others, a)), true
}

// appendRecords processes a {"Records": [...]} document (a CloudTrail S3 log file).
func (p *Processor) appendRecords(dst []ecs.Record, body map[string]any, records any, pass map[string]any, a arrival, depth int) []ecs.Record {
	others := merge(pass, body, "Records")
	list, ok := records.([]any)
	if !ok {
		msg := fmt.Sprintf("Records is %s, not an array", typeName(records))
		return append(dst, failure(ErrTypeRecordsInvalid, msg, body, pass, a))
	}
	if len(list) == 0 {
		return p.appendGeneric(dst, body, pass, source{}, a)
	}
	return p.appendList(dst, list, "Records", others, a, depth)
}

// appendList processes each element of an array of events.
func (p *Processor) appendList(dst []ecs.Record, list []any, name string, pass map[string]any, a arrival, depth int) []ecs.Record {
	if len(list) == 0 {
		return append(dst, failure(ErrTypeRecordsInvalid, "an empty array holds no event", list, pass, a))
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			msg := fmt.Sprintf("%s[%d] is %s, not an object", name, i, typeName(e))
			dst = append(dst, failure(ErrTypeRecordsInvalid, msg, e, pass, a))
			continue
		}
		dst = p.appendBody(dst, m, pass, source{}, a, depth+1)
	}
	return dst
}

// appendEvent parses ev as kind.
func (p *Processor) appendEvent(dst []ecs.Record, kind ecs.Kind, ev, pass map[string]any, src source, a arrival) []ecs.Record {
	var (
		doc *ecs.Document
		key digest.Key
		err error
	)
	switch kind {
	case ecs.KindCloudTrail:
		doc, err = cloudtrail.Parse(ev, a.fallback)
		key = cloudtrail.Key(ev)
	case ecs.KindGuardDuty:
		doc, err = guardduty.Parse(ev, a.fallback)
		key = guardduty.Key(ev)
	case ecs.KindKerberos:
		doc, err = zeek.Parse(ev, a.fallback)
		key = zeek.Key(ev)
	default:
		return p.appendGeneric(dst, ev, pass, src, a)
	}
	if err != nil {
		return append(dst, failure(ErrTypeEventInvalid, err.Error(), ev, pass, a))
	}
	doc.Passthrough = passthrough(pass)
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
func (p *Processor) appendGeneric(dst []ecs.Record, body, pass map[string]any, src source, a arrival) []ecs.Record {
	doc := &ecs.Document{Timestamp: a.fallback, ECS: ecs.ECSInfo{Version: ecs.Version}}
	var lifted []string
	if v, ok := body["@timestamp"]; ok {
		t, st := fields.Time(v)
		switch st {
		case fields.TimeOK:
			doc.Timestamp = t
			lifted = append(lifted, "@timestamp")
		case fields.TimeInvalid:
			fields.AddIssue(doc, ecs.IssueTimestampInvalid)
		}
	}
	if m, ok := body["message"].(string); ok {
		doc.Message = m
		lifted = append(lifted, "message")
	}
	rest := body
	if len(lifted) > 0 {
		rest = make(map[string]any, len(body))
		for k, v := range body {
			rest[k] = v
		}
		for _, k := range lifted {
			delete(rest, k)
		}
	}
	doc.Passthrough = passthrough(merge(pass, rest, ""))
	if p.preserve {
		doc.Event.Original = src.original(body)
	}
	return append(dst, ecs.Record{Kind: ecs.KindGeneric, ID: a.arrivalID(ecs.KindGeneric, digest.Key{}, body, pass), Doc: doc})
}

// failure builds the pipeline_error record for input that could not be processed. The input is
// kept in event.original whatever PreserveOriginal says: it is the only copy.
func failure(errType, msg string, input any, pass map[string]any, a arrival) ecs.Record {
	doc := &ecs.Document{
		Timestamp: a.fallback,
		ECS:       ecs.ECSInfo{Version: ecs.Version},
		Event:     ecs.Event{Kind: "pipeline_error"},
		Error:     &ecs.Error{Type: errType, Message: msg},
	}
	switch v := input.(type) {
	case string:
		doc.Event.Original = v
	default:
		doc.Event.Original = encode(v)
	}
	if errType == ErrTypeEmbeddedInvalid {
		fields.AddIssue(doc, ecs.IssueEmbeddedEventInvalid)
	}
	doc.Passthrough = passthrough(pass)
	return ecs.Record{Kind: ecs.KindGeneric, ID: a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", errType}, input, pass), Doc: doc}
}

// panicRecord is the last line of defence: processing panicked (a bug), and the record is still
// shipped. Every step that touches body may panic again, so each is guarded.
func panicRecord(body map[string]any, r any, a arrival) ecs.Record {
	msg := fmt.Sprintf("processing panicked: %v", r)
	doc := &ecs.Document{
		Timestamp: a.fallback,
		ECS:       ecs.ECSInfo{Version: ecs.Version},
		Event:     ecs.Event{Kind: "pipeline_error"},
		Error:     &ecs.Error{Type: ErrTypePanic, Message: msg},
	}
	id := guard(func() string {
		return a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", ErrTypePanic}, body, nil)
	})
	if id == "" {
		id = a.arrivalID(ecs.KindGeneric, digest.Key{"pipeline_error", ErrTypePanic, msg}, nil, nil)
	}
	doc.Event.Original = guard(func() string { return encode(body) })
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

// merge returns pass plus the keys of body other than skip ("" skips nothing), or pass alone
// when body adds nothing. The maps it is given are not modified.
func merge(pass, body map[string]any, skip string) map[string]any {
	n := len(body)
	if _, ok := body[skip]; ok && skip != "" {
		n--
	}
	switch {
	case n == 0:
		return pass
	case pass == nil && skip == "":
		return body
	}
	out := make(map[string]any, len(pass)+n)
	for k, v := range pass {
		out[k] = v
	}
	for k, v := range body {
		if skip == "" || k != skip {
			out[k] = v
		}
	}
	return out
}

func passthrough(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return fields.JSONSafe(m).(map[string]any)
}

// encode renders a body value as JSON text for event.original.
func encode(v any) string {
	b, _ := bodyjson.Append(nil, v)
	return string(b)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string, []byte:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	if _, ok := fields.Float(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

func prefix(s string) string {
	const n = 16
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
