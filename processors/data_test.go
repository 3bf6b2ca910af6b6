package processors_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// The tests below run every real record of the shared data folder through the router in auto
// mode and check each document against values read straight from the raw record, with
// expectations written independently of the parsers (no fields helpers).

// raw reads a key of a raw event the way a careless consumer would: exact, then lowercase.
func raw(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	return m[strings.ToLower(key)]
}

func rawStr(m map[string]any, key string) string {
	s, _ := raw(m, key).(string)
	return s
}

func rawObj(m map[string]any, key string) map[string]any {
	o, _ := raw(m, key).(map[string]any)
	return o
}

// canonical renders an event with sorted keys: equal events, equal text.
func canonical(t *testing.T, m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkIDs asserts that IDs are equal exactly when the events are.
func checkIDs(t *testing.T, name string, ids map[string]string) {
	t.Helper()
	byID := map[string]string{}
	events := map[string]bool{}
	for ev, id := range ids {
		events[ev] = true
		if prev, ok := byID[id]; ok && prev != ev {
			t.Errorf("%s: different events share ID %s", name, id)
		}
		byID[id] = ev
	}
	if len(byID) != len(events) {
		t.Errorf("%s: %d distinct events but %d distinct IDs", name, len(events), len(byID))
	}
}

func TestRealCloudTrail(t *testing.T) {
	bodies := realdatatest.Load(t, realdatatest.CloudTrailRuleTests, realdatatest.CloudTrailScenarios)
	p := newProc(t, processors.Options{})
	ids := map[string]string{}
	var missing, invalid, notIP, badIP, total int
	for _, b := range bodies {
		where := fmt.Sprintf("%s:%d", b.File, b.Line)
		ev := realdatatest.Event(b)
		recs := process(t, p, b.Map)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", where, len(recs))
		}
		r := recs[0]
		total++
		d := r.Doc
		if r.Kind != ecs.KindCloudTrail || d.Event.Kind != "event" {
			t.Errorf("%s: kind %v event.kind %q error %+v", where, r.Kind, d.Event.Kind, d.Error)
			continue
		}
		// Identity is the record as received: the event and the keys around it (recordid.go).
		if got := ids[canonical(t, b.Map)]; got != "" && got != r.ID {
			t.Errorf("%s: a duplicate record got another ID", where)
		}
		ids[canonical(t, b.Map)] = r.ID

		if d.Event.Action != rawStr(ev, "eventName") || d.Event.Provider != rawStr(ev, "eventSource") || d.Event.ID != rawStr(ev, "eventID") {
			t.Errorf("%s: event %+v", where, d.Event)
		}
		if d.Event.Dataset != "aws.cloudtrail" || d.Cloud.Provider != "aws" || d.Cloud.Region != rawStr(ev, "awsRegion") {
			t.Errorf("%s: dataset/cloud %q %+v", where, d.Event.Dataset, d.Cloud)
		}
		if d.Event.Outcome != "success" && d.Event.Outcome != "failure" && d.Event.Outcome != "unknown" {
			t.Errorf("%s: outcome %q", where, d.Event.Outcome)
		}
		if hasErr := rawStr(ev, "errorCode") != "" || rawStr(ev, "errorMessage") != ""; hasErr && rawStr(ev, "eventName") != "ConsoleLogin" && d.Event.Outcome != "failure" {
			t.Errorf("%s: an error must make the outcome failure", where)
		}
		if rawStr(ev, "eventName") == "ConsoleLogin" {
			if res, ok := rawObj(ev, "responseElements")["ConsoleLogin"].(string); ok && d.Event.Outcome != strings.ToLower(res) {
				t.Errorf("%s: ConsoleLogin %q, outcome %q", where, res, d.Event.Outcome)
			}
		}
		ui := rawObj(ev, "userIdentity")
		if pid, _ := ui["principalId"].(string); pid != "" && (d.User == nil || d.User.ID != pid) {
			t.Errorf("%s: user.id %+v, want %q", where, d.User, pid)
		}
		wantName, _ := ui["userName"].(string)
		if sc, ok := ui["sessionContext"].(map[string]any); ok {
			if iss, ok := sc["sessionIssuer"].(map[string]any); ok {
				if n, _ := iss["userName"].(string); n != "" {
					wantName = n
				}
			}
		}
		if wantName != "" && (d.User == nil || d.User.Name != wantName) {
			t.Errorf("%s: user.name %+v, want %q", where, d.User, wantName)
		}
		if ua := rawStr(ev, "userAgent"); ua != "" && d.UserAgent.Original != ua {
			t.Errorf("%s: user_agent %+v", where, d.UserAgent)
		}

		// Time: the event's own, or the fallback with the reason.
		switch et, present := raw(ev, "eventTime"), raw(ev, "eventTime") != nil; {
		case !present || et == "":
			missing++
			if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampMissing) {
				t.Errorf("%s: missing eventTime: %v %v", where, d.Timestamp, d.SiemScore.Issues)
			}
		default:
			s, _ := et.(string)
			want, err := time.Parse(time.RFC3339, s)
			if err != nil {
				want, err = time.Parse("2006-01-02 15:04:05", s)
			}
			if err != nil {
				invalid++
				if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
					t.Errorf("%s: eventTime %q: %v %v", where, s, d.Timestamp, d.SiemScore.Issues)
				}
			} else if !d.Timestamp.Equal(want) {
				t.Errorf("%s: @timestamp %v, eventTime %q", where, d.Timestamp, s)
			}
		}

		// Source: the address always, the IP only when it is one, the issue otherwise.
		addr := rawStr(ev, "sourceIPAddress")
		if addr == "" {
			if d.Source != nil {
				t.Errorf("%s: source without sourceIPAddress: %+v", where, d.Source)
			}
			continue
		}
		if d.Source == nil || d.Source.Address != addr {
			t.Errorf("%s: source %+v, want address %q", where, d.Source, addr)
			continue
		}
		ip, err := netip.ParseAddr(addr)
		switch {
		case err == nil:
			if d.Source.IP != ip || !slices.Contains(d.Related.IP, ip) {
				t.Errorf("%s: source.ip %v related %+v, want %v", where, d.Source.IP, d.Related, ip)
			}
		case strings.Trim(addr, "0123456789.") == "":
			badIP++
			if d.Source.IP.IsValid() || !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceIPInvalid) {
				t.Errorf("%s: %q must be flagged invalid: %v", where, addr, d.SiemScore.Issues)
			}
		default:
			notIP++
			if d.Source.IP.IsValid() || !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotIP) {
				t.Errorf("%s: %q must be flagged not an IP: %v", where, addr, d.SiemScore.Issues)
			}
		}
	}
	checkIDs(t, "cloudtrail", ids)
	t.Logf("%d events (%d distinct), %d without eventTime, %d with an invalid one, %d non-IP and %d invalid-IP sources",
		total, len(ids), missing, invalid, notIP, badIP)
	if missing == 0 || invalid == 0 || notIP == 0 || badIP == 0 {
		t.Error("the data set is known to hold every kind of odd record; one kind was not seen")
	}
}

func TestRealGuardDuty(t *testing.T) {
	bodies := realdatatest.Load(t, realdatatest.GuardDutyRuleTests, realdatatest.GuardDutyFindings)
	p := newProc(t, processors.Options{})
	ids := map[string]string{}
	var withIP int
	for _, b := range bodies {
		where := fmt.Sprintf("%s:%d", b.File, b.Line)
		f := realdatatest.Event(b)
		recs := process(t, p, b.Map)
		r := recs[0]
		d := r.Doc
		if len(recs) != 1 || r.Kind != ecs.KindGuardDuty || d.Event.Kind != "alert" {
			t.Errorf("%s: %d records, kind %v, event.kind %q", where, len(recs), r.Kind, d.Event.Kind)
			continue
		}
		ids[canonical(t, b.Map)] = r.ID // the record as received: the finding and the keys around it
		sev := f["severity"].(float64)
		if d.Event.Severity != ecs.Int(int64(math.Trunc(sev))) || d.AWS.GuardDuty.Severity.Code != ecs.Float(sev) {
			t.Errorf("%s: severity %v -> %+v", where, sev, d.Event.Severity)
		}
		typ := f["type"].(string)
		if d.Rule.Name != typ || !strings.HasPrefix(typ, d.Rule.Ruleset) || d.Rule.Category == "" || !strings.HasPrefix(d.Rule.Ruleset, d.Rule.Category+":") {
			t.Errorf("%s: rule %+v for %q", where, d.Rule, typ)
		}
		if d.Message != f["description"] || d.Cloud.Account.ID != f["accountId"] || d.AWS.GuardDuty.ID != f["id"] {
			t.Errorf("%s: message/cloud/id", where)
		}
		if d.Timestamp.Equal(fallback) || len(d.SiemScore.Issues) > 0 && !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotIP) {
			t.Errorf("%s: @timestamp %v issues %v (real findings have valid times)", where, d.Timestamp, d.SiemScore.Issues)
		}
		service, _ := f["service"].(map[string]any)
		action, _ := service["action"].(map[string]any)
		if at, _ := action["actionType"].(string); d.Event.Action != at {
			t.Errorf("%s: event.action %q, want %q", where, d.Event.Action, at)
		}
		api, _ := action["awsApiCallAction"].(map[string]any)
		if rip, ok := api["remoteIpDetails"].(map[string]any); ok {
			withIP++
			want := netip.MustParseAddr(rip["ipAddressV4"].(string))
			if d.Source == nil || d.Source.IP != want || d.Source.AS == nil || d.Source.Geo == nil || d.Source.Geo.Location == nil {
				t.Errorf("%s: source %+v, want %v with AS and geo", where, d.Source, want)
			}
		}
		resource, _ := f["resource"].(map[string]any)
		if ak, ok := resource["accessKeyDetails"].(map[string]any); ok {
			if d.User == nil || d.User.ID != ak["principalId"] || d.User.Name != ak["userName"] {
				t.Errorf("%s: user %+v, want %v", where, d.User, ak)
			}
		}
	}
	checkIDs(t, "guardduty", ids)
	if withIP == 0 {
		t.Error("the real findings include API calls from remote IPs")
	}
}

func TestRealKerberos(t *testing.T) {
	sets := map[string][]realdatatest.Body{
		"json": realdatatest.Load(t, realdatatest.KerberosJSON),
		"tsv":  realdatatest.Load(t, realdatatest.KerberosTSV),
	}
	if n := len(sets["json"]); n != 121 {
		t.Errorf("%d APT29 rows, the README says 121", n)
	}
	if n := len(sets["tsv"]); n != 31+104 {
		t.Errorf("%d TSV rows, the README says 31 + 104", n)
	}
	p := newProc(t, processors.Options{})
	var masked int
	for name, bodies := range sets {
		for _, b := range bodies {
			where := fmt.Sprintf("%s:%d", b.File, b.Line)
			row := b.Map
			recs := process(t, p, row)
			r := recs[0]
			d := r.Doc
			if len(recs) != 1 || r.Kind != ecs.KindKerberos || d.Event.Kind != "event" {
				t.Errorf("%s: %d records, kind %v", where, len(recs), r.Kind)
				continue
			}
			origH := row["id.orig_h"]
			if origH == nil {
				origH = row["id_orig_h"]
			}
			if d.Source.IP != netip.MustParseAddr(origH.(string)) || d.Destination == nil || !d.Destination.IP.IsValid() || d.Source.Port == 0 {
				t.Errorf("%s: source %+v destination %+v", where, d.Source, d.Destination)
			}
			if d.Event.ID != row["uid"] || d.Zeek.SessionID != row["uid"] || d.Event.Dataset != "zeek.kerberos" || d.Network.Protocol != "kerberos" {
				t.Errorf("%s: ids/dataset %+v %+v", where, d.Event, d.Zeek)
			}
			if rt, _ := row["request_type"].(string); d.Event.Action != rt {
				t.Errorf("%s: event.action %q, want %q", where, d.Event.Action, rt)
			}
			switch row["success"] {
			case true, "T":
				if d.Event.Outcome != "success" {
					t.Errorf("%s: outcome %q", where, d.Event.Outcome)
				}
			case false, "F":
				if d.Event.Outcome != "failure" {
					t.Errorf("%s: outcome %q", where, d.Event.Outcome)
				}
			}
			if client, _ := row["client"].(string); strings.Contains(client, "/") {
				name, realm, _ := strings.Cut(client, "/")
				if d.User == nil || d.User.Name != name || d.User.Domain != realm {
					t.Errorf("%s: user %+v from %q", where, d.User, client)
				}
			}
			if row["ts"] == "XXXXXXXXXX.XXXXXX" {
				masked++
				if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
					t.Errorf("%s: a masked ts: %v %v", where, d.Timestamp, d.SiemScore.Issues)
				}
			} else if d.Timestamp.Equal(fallback) || d.Timestamp.Year() < 2015 {
				t.Errorf("%s: @timestamp %v from ts %v", where, d.Timestamp, row["ts"])
			}
		}
		t.Logf("%s: %d rows", name, len(bodies))
	}
	if masked != 104 {
		t.Errorf("%d masked rows, want every Zeek baseline row (104)", masked)
	}
}

// TestRealRecordsPreserved runs everything with event.original on, through the embedded-string
// path: each event is re-encoded as the `log` string of a Fluent Bit record.
func TestRealRecordsPreserved(t *testing.T) {
	bodies := realdatatest.Load(t, realdatatest.CloudTrailRuleTests, realdatatest.CloudTrailScenarios, realdatatest.GuardDutyRuleTests,
		realdatatest.GuardDutyFindings, realdatatest.KerberosJSON, realdatatest.KerberosTSV)
	p := newProc(t, processors.Options{PreserveOriginal: true})
	direct := newProc(t, processors.Options{})
	for _, b := range bodies {
		ev := realdatatest.Event(b)
		text := canonical(t, ev)
		recs := process(t, p, map[string]any{"log": text, "stream": "stdout"})
		if len(recs) != 1 || recs[0].Kind == ecs.KindGeneric || recs[0].Doc.Event.Original != text || passthrough(t, recs[0].Doc)["stream"] != "stdout" {
			t.Errorf("%s:%d: %d records, kind %v", b.File, b.Line, len(recs), recs[0].Kind)
		}
		// The same event as text or as a map is the same record (the pass-through keys around
		// it, here stream, are part of what identifies it: see recordid.go).
		asText := process(t, p, map[string]any{"log": text})[0].ID
		if want := process(t, direct, ev)[0].ID; asText != want {
			t.Errorf("%s:%d: ID %s as text, %s as a map", b.File, b.Line, asText, want)
		}
	}
}
