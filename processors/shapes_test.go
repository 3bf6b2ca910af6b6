package processors_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/input"
)

// The shapes real pipelines hand records over in: each must reach its type with the event's own
// time, never the shipper's or the ingest time.

var (
	ctTime  = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	gdTime  = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	krbTime = time.Unix(1588205199, 832602000).UTC()
)

func TestWrappedByShippers(t *testing.T) {
	p := newProc(t, processors.Options{PreserveOriginal: true})
	for _, tc := range []struct {
		name string
		body string
		kind ecs.Kind
		when time.Time
	}{
		{"fluent-bit tail log", `{"log":` + quote(t, ctEvent+"\n") + `,"stream":"stdout"}`, ecs.KindCloudTrail, ctTime},
		{"syslog message", `{"message":` + quote(t, gdEvent) + `,"host":"h1"}`, ecs.KindGuardDuty, gdTime},
		{"filebeat message", `{"@timestamp":"2030-01-01T00:00:00Z","message":` + quote(t, krbEvent) + `,"agent":{"type":"filebeat"}}`, ecs.KindKerberos, krbTime},
		{"splunk export", `{"preview":false,"offset":0,"result":{"_raw":` + quote(t, ctEvent) + `,"_time":"2030-01-01T00:00:00.000+00:00","host":"splunk1","sourcetype":"aws:cloudtrail","_cd":"1:2","_indextime":"1900000000"}}`, ecs.KindCloudTrail, ctTime},
		{"splunk export of a finding", `{"result":{"_raw":` + quote(t, gdEvent) + `,"sourcetype":"aws:cloudwatch:guardduty"}}`, ecs.KindGuardDuty, gdTime},
	} {
		recs := process(t, p, body(t, tc.body))
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tc.name, len(recs))
		}
		d := recs[0].Doc
		// Filebeat's own @timestamp (when it read the line) is kept, under fluentbit.*.
		issues := slices.DeleteFunc(slices.Clone(d.SiemScore.Issues), func(s string) bool { return s == ecs.IssuePassthroughCollision+":@timestamp" })
		if recs[0].Kind != tc.kind || !d.Timestamp.Equal(tc.when) || len(issues) != 0 {
			t.Errorf("%s: kind %v @timestamp %v issues %v, want %v at %v", tc.name, recs[0].Kind, d.Timestamp, d.SiemScore.Issues, tc.kind, tc.when)
		}
	}

	// Splunk's own fields are dropped; event.original is the event as Splunk got it.
	recs := process(t, p, body(t, `{"result":{"_raw":`+quote(t, ctEvent)+`,"host":"splunk1"}}`))
	if d := recs[0].Doc; d.Passthrough != "" || d.Event.Original != ctEvent {
		t.Errorf("splunk: passthrough %v original %q", d.Passthrough, d.Event.Original)
	}
	// A Splunk line whose _raw is not an event of a known type is shipped whole, as generic.
	recs = process(t, p, body(t, `{"result":{"_raw":"Mar 14 10:00:00 host sshd[1]: Accepted publickey","host":"splunk1"}}`))
	if recs[0].Kind != ecs.KindGeneric || !strings.Contains(string(recs[0].Doc.Passthrough), `"result":{`) {
		t.Errorf("splunk plain line: kind %v passthrough %v", recs[0].Kind, recs[0].Doc.Passthrough)
	}
}

func TestCloudTrailInsightRoutes(t *testing.T) {
	p := newProc(t, processors.Options{})
	insight := `{"eventVersion":"1.07","eventTime":"2019-11-14T00:51:00Z","awsRegion":"us-east-1","eventID":"EXAMPLE8-9621-4d00-b913-beca2EXAMPLE",
	"eventType":"AwsCloudTrailInsight","recipientAccountId":"123456789012","sharedEventID":"EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE",
	"insightDetails":{"state":"Start","eventSource":"ssm.amazonaws.com","eventName":"UpdateInstanceInformation","insightType":"ApiCallRateInsight",
	"insightContext":{"statistics":{"baseline":{"average":85.4202380952},"insight":{"average":664}}}},"eventCategory":"Insight"}`
	for _, b := range []string{insight, `{"Records":[` + insight + `]}`, `{"message":` + quote(t, insight) + `}`} {
		recs := process(t, p, body(t, b))
		d := recs[0].Doc
		if recs[0].Kind != ecs.KindCloudTrail || !d.Timestamp.Equal(time.Date(2019, 11, 14, 0, 51, 0, 0, time.UTC)) {
			t.Errorf("insight %.40s: kind %v @timestamp %v", b, recs[0].Kind, d.Timestamp)
		}
	}
}

// TestZeekRowsOfTheirLog reads a kerberos.log whose rows mostly carry only the connection
// (uid, id.*), as Zeek writes them for Kerberos exchanges it could not decode: all of them are
// Kerberos rows of that log, with their own ts.
func TestZeekRowsOfTheirLog(t *testing.T) {
	r, err := input.Open("input/testdata/kerberos-ids-only.log")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := newProc(t, processors.Options{})
	want := []time.Time{time.Unix(1552557600, 100000000), time.Unix(1552557601, 200000000), time.Unix(1552557602, 300000000), time.Unix(1552557603, 400000000)}
	var n int
	for it := range r.All() {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
		if n == 0 {
			// Without what the file says, an id-only row is not recognisable.
			if got := p.Append(nil, it.Body, fallback); got[0].Kind != ecs.KindGeneric {
				t.Errorf("an id-only row on its own: kind %v", got[0].Kind)
			}
		}
		recs := p.AppendStream(nil, it.Body, it.Stream, fallback)
		d := recs[0].Doc
		if recs[0].Kind != ecs.KindKerberos || !d.Timestamp.Equal(want[n]) || d.Source.IP.String() != "10.0.2.15" || d.Destination.Port != 88 {
			t.Errorf("row %d: kind %v @timestamp %v source %+v", n, recs[0].Kind, d.Timestamp, d.Source)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("%d rows", n)
	}
	// A stream names what a record may be, not what it is: a row without Zeek's key fields stays
	// generic, and a recognised record keeps its own type.
	if recs := p.AppendStream(nil, body(t, `{"ts":1.5,"note":"x"}`), "kerberos", fallback); recs[0].Kind != ecs.KindGeneric {
		t.Errorf("keyless row: %v", recs[0].Kind)
	}
	if recs := p.AppendStream(nil, body(t, ctEvent), "kerberos", fallback); recs[0].Kind != ecs.KindCloudTrail {
		t.Errorf("CloudTrail event in a kerberos stream: %v", recs[0].Kind)
	}
	if recs := p.AppendStream(nil, body(t, `{"ts":1.5,"uid":"C9","id.orig_h":"10.0.0.1"}`), "conn", fallback); recs[0].Kind != ecs.KindGeneric {
		t.Errorf("conn row: %v", recs[0].Kind)
	}
	if recs := p.AppendStream(nil, body(t, `{"ts":1.5,"uid":"C9","id.orig_h":"10.0.0.1"}`), "kerberos", fallback); recs[0].Kind != ecs.KindKerberos {
		t.Errorf("id-only kerberos row: %v", recs[0].Kind)
	}
}

func quote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
