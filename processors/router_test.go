package processors_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
)

var fallback = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	ctEvent  = `{"eventVersion":"1.08","eventTime":"2024-05-06T07:08:09Z","eventSource":"iam.amazonaws.com","eventName":"GetUser","eventID":"e1","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","userName":"alice","principalId":"AIDA1"}}`
	gdEvent  = `{"schemaVersion":"2.0","id":"f1","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"updatedAt":"2024-05-06T07:08:09Z","accountId":"123456789012","region":"us-east-1"}`
	krbEvent = `{"ts":1588205199.832602,"uid":"C1","id.orig_h":"10.0.1.6","id.orig_p":56880,"id.resp_h":"10.0.0.4","id.resp_p":88,"request_type":"AS","client":"bob/REALM","service":"krbtgt/REALM","success":true}`
)

// passthrough decodes a document's passthrough fields.
func passthrough(t *testing.T, d *ecs.Document) map[string]any {
	t.Helper()
	if d.Passthrough == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(d.Passthrough), &m); err != nil {
		t.Fatalf("passthrough %s: %v", d.Passthrough, err)
	}
	return m
}

func newProc(t *testing.T, opts processors.Options) *processors.Processor {
	t.Helper()
	p, err := processors.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func body(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// process runs one body and checks the invariants every record must meet.
func process(t *testing.T, p *processors.Processor, b map[string]any) []ecs.Record {
	t.Helper()
	recs := p.Append(nil, b, fallback)
	if len(recs) == 0 {
		t.Fatal("no record for a body")
	}
	for _, r := range recs {
		checkRecord(t, r)
	}
	return recs
}

func checkRecord(t *testing.T, r ecs.Record) map[string]any {
	t.Helper()
	if r.Doc == nil || len(r.ID) != 22 {
		t.Fatalf("record %+v has no document or a malformed ID", r)
	}
	b, err := r.Doc.MarshalJSON()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if r.Doc.ECS.Version == "" || r.Doc.Timestamp.IsZero() {
		t.Errorf("ecs.version and @timestamp are always set: %s", b)
	}
	return out
}

func TestNewValidates(t *testing.T) {
	for _, opts := range []processors.Options{{Type: "syslog"}, {EventKeys: []string{"log", ""}}} {
		if _, err := processors.New(opts); err == nil {
			t.Errorf("New(%+v) must fail", opts)
		}
	}
	for _, typ := range []string{"", "auto", "AUTO", "cloudtrail", "GuardDuty", "kerberos", "generic"} {
		if _, err := processors.New(processors.Options{Type: typ}); err != nil {
			t.Errorf("New(Type %q): %v", typ, err)
		}
	}
}

func TestAutoDetection(t *testing.T) {
	p := newProc(t, processors.Options{})
	for _, tc := range []struct {
		js   string
		kind ecs.Kind
	}{
		{ctEvent, ecs.KindCloudTrail},
		{`{"eventname":"X","eventsource":"s3.amazonaws.com"}`, ecs.KindCloudTrail},
		{`{"eventName":"X","eventTime":"2024-01-01T00:00:00Z"}`, ecs.KindCloudTrail},
		{gdEvent, ecs.KindGuardDuty},
		{krbEvent, ecs.KindKerberos},
		{`{"uid":"C1","id_orig_h":"10.0.0.1","id_orig_p":1,"cipher":"rc4"}`, ecs.KindKerberos},
		{`{"uid":"C1","id.orig_h":"10.0.0.1","service":"krbtgt/X","success":false}`, ecs.KindKerberos},
		{`{"@stream":"kerberos","uid":"C1","id_orig_h":"10.0.0.1"}`, ecs.KindKerberos},
		{`{"_path":"kerberos","uid":"C1"}`, ecs.KindKerberos},
		// conn.log names the application protocol "service": not Kerberos.
		{`{"uid":"C1","id.orig_h":"10.0.0.1","service":"krb","proto":"udp"}`, ecs.KindGeneric},
		{`{"eventName":"X"}`, ecs.KindGeneric},
		{`{"schemaVersion":"2.0","type":"x"}`, ecs.KindGeneric},
		{`{"hello":"world"}`, ecs.KindGeneric},
	} {
		recs := process(t, p, body(t, tc.js))
		if len(recs) != 1 || recs[0].Kind != tc.kind {
			t.Errorf("%s: kind %v, want %v", tc.js, recs[0].Kind, tc.kind)
		}
		if recs[0].Doc.Event.Kind == "pipeline_error" {
			t.Errorf("%s: %+v", tc.js, recs[0].Doc.Error)
		}
	}
}

func TestFixedType(t *testing.T) {
	p := newProc(t, processors.Options{Type: "kerberos"})
	// A row with no Kerberos-only field is still parsed as one.
	recs := process(t, p, body(t, `{"ts":1588205199.5,"uid":"C9","id.orig_h":"10.0.0.1"}`))
	if recs[0].Kind != ecs.KindKerberos || recs[0].Doc.Zeek.SessionID != "C9" {
		t.Errorf("fixed kerberos: %+v", recs[0])
	}
	// Something that is not a row at all becomes a pipeline error, not a silent generic record.
	recs = process(t, p, body(t, `{"hello":"world"}`))
	if recs[0].Doc.Event.Kind != "pipeline_error" || recs[0].Doc.Error.Type != processors.ErrTypeEventInvalid {
		t.Errorf("fixed type, wrong record: %+v", recs[0].Doc)
	}
	g := newProc(t, processors.Options{Type: "generic"})
	recs = process(t, g, body(t, ctEvent))
	if recs[0].Kind != ecs.KindGeneric || recs[0].Doc.AWS != nil || passthrough(t, recs[0].Doc)["eventName"] != "GetUser" {
		t.Errorf("fixed generic must not parse: %+v", recs[0].Doc)
	}
}

func TestEventInLogKey(t *testing.T) {
	p := newProc(t, processors.Options{})
	b := map[string]any{"log": ctEvent, "stream": "stdout", "kubernetes": map[string]any{"pod_name": "ct"}}
	recs := process(t, p, b)
	d := recs[0].Doc
	if recs[0].Kind != ecs.KindCloudTrail || d.Event.Action != "GetUser" {
		t.Fatalf("event in log: %+v", recs[0])
	}
	if passthrough(t, d)["stream"] != "stdout" || passthrough(t, d)["kubernetes"] == nil || passthrough(t, d)["log"] != nil {
		t.Errorf("the other keys must be passthrough, the event key not: %v", d.Passthrough)
	}
	if d.Event.Original != "" {
		t.Error("event.original is off by default")
	}
	// The same event straight, as a map: the same ID; with pass-through keys around it, another
	// one (they are part of what was received: the same event from another pod is another record).
	direct := process(t, p, body(t, ctEvent))
	if wrapped := process(t, p, map[string]any{"log": ctEvent}); direct[0].ID != wrapped[0].ID {
		t.Errorf("an event must get the same ID whether it came as text or as a map")
	}
	if direct[0].ID == recs[0].ID {
		t.Errorf("the pass-through keys must be part of a typed event's ID")
	}
	// message is the second default key; custom keys replace the defaults.
	recs = process(t, p, map[string]any{"message": krbEvent})
	if recs[0].Kind != ecs.KindKerberos {
		t.Errorf("event in message: %v", recs[0].Kind)
	}
	custom := newProc(t, processors.Options{EventKeys: []string{"payload"}})
	if recs := process(t, custom, map[string]any{"payload": []byte(gdEvent)}); recs[0].Kind != ecs.KindGuardDuty {
		t.Errorf("custom key with a []byte value: %v", recs[0].Kind)
	}
	if recs := process(t, custom, map[string]any{"log": gdEvent}); recs[0].Kind != ecs.KindGeneric {
		t.Errorf("log is not an event key when keys are configured: %v", recs[0].Kind)
	}
	none := newProc(t, processors.Options{EventKeys: []string{}})
	if recs := process(t, none, map[string]any{"log": gdEvent}); recs[0].Kind != ecs.KindGeneric {
		t.Errorf("no event keys: %v", recs[0].Kind)
	}
	// An event held as an object under the key (the rule-test data sets do this).
	recs = process(t, p, map[string]any{"rule_id": "R", "log": body(t, gdEvent)})
	if recs[0].Kind != ecs.KindGuardDuty || passthrough(t, recs[0].Doc)["rule_id"] != "R" {
		t.Errorf("object under log: %+v", recs[0])
	}
}

func TestEmbeddedNotAnEvent(t *testing.T) {
	auto := newProc(t, processors.Options{})
	// Plain text in auto mode is just a log line: a generic record.
	recs := process(t, auto, map[string]any{"log": "GET /index.html 200", "stream": "stdout"})
	if recs[0].Kind != ecs.KindGeneric || recs[0].Doc.Event.Kind == "pipeline_error" || passthrough(t, recs[0].Doc)["log"] != "GET /index.html 200" {
		t.Errorf("plain text: %+v", recs[0].Doc)
	}
	// Text that starts like JSON but is not: a pipeline error keeping the text.
	bad := `{"eventName": "GetUser", "eventSource": `
	recs = process(t, auto, map[string]any{"log": bad, "host": "h"})
	d := recs[0].Doc
	if d.Event.Kind != "pipeline_error" || d.Error.Type != processors.ErrTypeEmbeddedInvalid || !strings.Contains(d.Error.Message, "log is not valid JSON") {
		t.Errorf("broken JSON: %+v %+v", d.Event, d.Error)
	}
	if d.Event.Original != bad || passthrough(t, d)["host"] != "h" || !slices.Contains(d.SiemScore.Issues, ecs.IssueEmbeddedEventInvalid) {
		t.Errorf("broken JSON must keep the text and the other keys: %+v", d)
	}
	// A fixed type turns plain text into an error: it cannot be the configured type.
	fixed := newProc(t, processors.Options{Type: "cloudtrail"})
	recs = process(t, fixed, map[string]any{"log": "hello"})
	if recs[0].Doc.Event.Kind != "pipeline_error" || recs[0].Doc.Event.Original != "hello" {
		t.Errorf("fixed type, plain text: %+v", recs[0].Doc)
	}
	// JSON that is not an object.
	recs = process(t, auto, map[string]any{"log": `["a", {"uid":"C","_path":"kerberos"}]`})
	if len(recs) != 2 || recs[0].Doc.Error == nil || !strings.Contains(recs[0].Doc.Error.Message, "log[0] is a string") || recs[1].Kind != ecs.KindKerberos {
		t.Errorf("array in log: %+v", recs)
	}
	recs = process(t, auto, map[string]any{"log": `[]`})
	if len(recs) != 1 || recs[0].Doc.Error == nil {
		t.Errorf("empty array in log: %+v", recs)
	}
}

func TestEventBridgeEnvelope(t *testing.T) {
	p := newProc(t, processors.Options{PreserveOriginal: true})
	env := `{"version":"0","id":"env-1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2024-05-06T07:08:09Z","region":"us-east-1","resources":[],"detail":` + gdEvent + `}`
	recs := process(t, p, body(t, env))
	d := recs[0].Doc
	if recs[0].Kind != ecs.KindGuardDuty || d.Event.Kind != "alert" || d.AWS.GuardDuty.ID != "f1" {
		t.Fatalf("envelope: %+v", recs[0])
	}
	if d.Passthrough != "" {
		t.Errorf("envelope fields must not become passthrough (source would collide): %v", d.Passthrough)
	}
	if !strings.Contains(d.Event.Original, `"detail-type":"GuardDuty Finding"`) {
		t.Errorf("event.original must be the envelope: %s", d.Event.Original)
	}
	// The detail-type decides when the detail lacks the fields detection looks for.
	recs = process(t, p, body(t, `{"detail-type":"GuardDuty Finding","detail":{"id":"f2","type":"Backdoor:EC2/C&CActivity.B","severity":8}}`))
	if recs[0].Kind != ecs.KindGuardDuty || recs[0].Doc.Event.Severity != ecs.Int(8) {
		t.Errorf("announced GuardDuty: %+v", recs[0])
	}
	recs = process(t, p, body(t, `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"RunInstances","eventID":"x"}}`))
	if recs[0].Kind != ecs.KindCloudTrail || recs[0].Doc.Event.Action != "RunInstances" {
		t.Errorf("CloudTrail via EventBridge: %+v", recs[0])
	}
	// Another kind of EventBridge event is shipped whole.
	recs = process(t, p, body(t, `{"detail-type":"EC2 Instance State-change Notification","detail":{"state":"running"}}`))
	if recs[0].Kind != ecs.KindGeneric || passthrough(t, recs[0].Doc)["detail-type"] == nil {
		t.Errorf("unknown envelope: %+v", recs[0].Doc.Passthrough)
	}
}

func TestRecordsDocument(t *testing.T) {
	p := newProc(t, processors.Options{PreserveOriginal: true})
	doc := `{"Records":[` + ctEvent + `,` + strings.Replace(ctEvent, `"e1"`, `"e2"`, 1) + `,42,` + ctEvent + `]}`
	recs := process(t, p, body(t, doc))
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	if recs[0].Kind != ecs.KindCloudTrail || recs[1].Doc.Event.ID != "e2" || recs[0].ID == recs[1].ID {
		t.Errorf("records: %+v %+v", recs[0], recs[1])
	}
	if recs[2].Doc.Event.Kind != "pipeline_error" || !strings.Contains(recs[2].Doc.Error.Message, "Records[2] is a number") || recs[2].Doc.Event.Original != "42" {
		t.Errorf("non-object element: %+v", recs[2].Doc)
	}
	if recs[3].ID != recs[0].ID {
		t.Error("an identical record must get the same ID (CloudTrail delivers at least once)")
	}
	if !strings.HasPrefix(recs[0].Doc.Event.Original, `{"awsRegion"`) {
		t.Errorf("event.original of a Records element is the element: %.40s", recs[0].Doc.Event.Original)
	}
	recs = process(t, p, body(t, `{"Records":"nope","other":1}`))
	if len(recs) != 1 || recs[0].Doc.Error.Type != processors.ErrTypeRecordsInvalid || !strings.Contains(recs[0].Doc.Error.Message, "Records is a string") {
		t.Errorf("Records not an array: %+v", recs[0].Doc)
	}
	recs = process(t, p, body(t, `{"Records":[]}`))
	if len(recs) != 1 || recs[0].Kind != ecs.KindGeneric {
		t.Errorf("empty Records: %+v", recs)
	}
	// A whole CloudTrail file as one log line.
	recs = process(t, p, map[string]any{"log": doc, "file": "f.json"})
	if len(recs) != 4 || passthrough(t, recs[1].Doc)["file"] != "f.json" {
		t.Errorf("Records in log: %d records, passthrough %v", len(recs), recs[1].Doc.Passthrough)
	}
}

func TestGeneric(t *testing.T) {
	p := newProc(t, processors.Options{PreserveOriginal: true})
	recs := process(t, p, body(t, `{"@timestamp":"2024-01-02T03:04:05Z","message":"hello","level":"info"}`))
	d := recs[0].Doc
	if !d.Timestamp.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) || d.Message != "hello" || passthrough(t, d)["level"] != "info" {
		t.Errorf("generic: %+v", d)
	}
	if _, ok := passthrough(t, d)["@timestamp"]; ok {
		t.Error("a lifted @timestamp must leave the passthrough")
	}
	if d.SiemScore.Model.Status != "" || d.Event.Original == "" {
		t.Errorf("model status is the scorer's; original preserved: %+v", d)
	}
	recs = process(t, p, body(t, `{"@timestamp":"yesterday","n":1}`))
	d = recs[0].Doc
	if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
		t.Errorf("invalid @timestamp: %v %v", d.Timestamp, d.SiemScore.Issues)
	}
	out := checkRecord(t, recs[0])
	if out[ecs.CollisionKey].(map[string]any)["@timestamp"] != "yesterday" {
		t.Errorf("an unparseable @timestamp is kept, under %s: %v", ecs.CollisionKey, out)
	}
	empty := process(t, p, map[string]any{})
	if empty[0].Kind != ecs.KindGeneric || !empty[0].Doc.Timestamp.Equal(fallback) {
		t.Errorf("empty body: %+v", empty[0])
	}
}

func TestIDs(t *testing.T) {
	p := newProc(t, processors.Options{})
	fromJSON := body(t, krbEvent)
	msgpack, err := fuzzbody.Decode([]byte(krbEvent), fuzzbody.Ints|fuzzbody.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	a, b := process(t, p, fromJSON)[0], process(t, p, msgpack.(map[string]any))[0]
	if a.ID != b.ID {
		t.Errorf("msgpack and JSON forms of one row: %s != %s", a.ID, b.ID)
	}
	// Same eventID, different content: different IDs.
	other := strings.Replace(ctEvent, `"203.0.113.5"`, `"203.0.113.6"`, 1)
	if process(t, p, body(t, ctEvent))[0].ID == process(t, p, body(t, other))[0].ID {
		t.Error("events sharing an eventID must not share an ID")
	}
	// The Fluent Bit time does not change the ID: a retried chunk maps onto the same documents.
	r1 := p.Append(nil, body(t, ctEvent), fallback)
	r2 := p.Append(nil, body(t, ctEvent), fallback.Add(time.Hour))
	if r1[0].ID != r2[0].ID {
		t.Error("the fallback time must not be part of the ID")
	}
	// Generic records: the whole record counts.
	g1 := process(t, p, map[string]any{"a": 1.0, "log": "x"})
	g2 := process(t, p, map[string]any{"a": 1.0, "log": "y"})
	if g1[0].ID == g2[0].ID {
		t.Error("generic records differing in any key must differ in ID")
	}
}

func TestAppendKeepsDst(t *testing.T) {
	p := newProc(t, processors.Options{})
	dst := p.Append(nil, body(t, ctEvent), fallback)
	dst = p.Append(dst, body(t, `{"Records":[`+gdEvent+`,`+krbEvent+`]}`), fallback)
	if len(dst) != 3 || dst[0].Kind != ecs.KindCloudTrail || dst[1].Kind != ecs.KindGuardDuty || dst[2].Kind != ecs.KindKerberos {
		t.Errorf("Append must append: %+v", dst)
	}
}

func TestUnencodableValues(t *testing.T) {
	// The msgpack decoder can deliver what JSON cannot hold; the document must still encode.
	p := newProc(t, processors.Options{PreserveOriginal: true})
	for _, b := range []map[string]any{
		{"log": ctEvent, "nan": fuzzbody.Convert("NaN", fuzzbody.NonFinite), "keys": map[any]any{1: 2}},
		{"eventName": "X", "eventSource": "y", "requestParameters": map[string]any{"inf": fuzzbody.Convert("+Inf", fuzzbody.NonFinite)}},
		{"uid": "C", "_path": "kerberos", "ts": time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"weird": make(chan int), "@timestamp": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		recs := process(t, p, b)
		if recs[0].Doc.Event.Original == "" {
			t.Errorf("event.original missing for %v", b)
		}
	}
}
