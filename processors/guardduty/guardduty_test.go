package guardduty

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

var fallback = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, js string) *ecs.Document {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	d, err := new(Parser).Parse(body.Of(m), fallback)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("encode: %v %s", err, b)
	}
	return d
}

// finding builds a finding around a service.action object.
func finding(action string) string {
	return `{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","partition":"aws","id":"f1","arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f1",
	"type":"UnauthorizedAccess:EC2/SSHBruteForce","title":"t","description":"desc","severity":6.9,"confidence":7.5,
	"createdAt":"2025-02-25 20:40:06.721","updatedAt":"2025-02-26T01:02:03.5Z",
	"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-1"}},
	"service":{"serviceName":"guardduty","detectorId":"d","count":"3","archived":false,"eventFirstSeen":"2025-02-25T20:00:00Z","eventLastSeen":"2025-02-26T01:00:00Z",
	"resourceRole":"TARGET","featureName":"FlowLogs","action":` + action + `}}`
}

func TestFindingFields(t *testing.T) {
	d := parse(t, finding(`{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"GetObject","serviceName":"s3.amazonaws.com","remoteIpDetails":{"ipAddressV4":"198.51.100.23",
	"organization":{"asn":"25921","asnOrg":"EXAMPLE-AS"},"country":{"countryName":"United States","countryCode":"US"},"city":{"cityName":"Springfield"},"geoLocation":{"lat":40.5,"lon":-89.25}}}}`))
	if !d.Timestamp.Equal(time.Date(2025, 2, 26, 1, 2, 3, 5e8, time.UTC)) {
		t.Errorf("@timestamp must be updatedAt: %v", d.Timestamp)
	}
	e := d.Event
	if e.Kind != "alert" || e.Action != "AWS_API_CALL" || e.Provider != "s3.amazonaws.com" || e.ID != "f1" || e.Dataset != "aws.guardduty" || e.Module != "aws" {
		t.Errorf("event = %+v", e)
	}
	if e.Severity != ecs.Int(6) {
		t.Errorf("event.severity = %+v, want 6 (6.9 truncated stays in the Medium band)", e.Severity)
	}
	if !e.Created.Set || !e.Created.V.Equal(time.Date(2025, 2, 25, 20, 40, 6, 721e6, time.UTC)) {
		t.Errorf("event.created must be createdAt: %+v", e.Created)
	}
	if d.Message != "desc" {
		t.Errorf("message = %q", d.Message)
	}
	if *d.Rule != (ecs.Rule{Name: "UnauthorizedAccess:EC2/SSHBruteForce", Category: "UnauthorizedAccess", Ruleset: "UnauthorizedAccess:EC2"}) {
		t.Errorf("rule = %+v", d.Rule)
	}
	if *d.Cloud != (ecs.Cloud{Provider: "aws", Region: "us-east-1", Account: ecs.CloudAccount{ID: "123456789012"}, Service: ecs.CloudService{Name: "guardduty"}}) {
		t.Errorf("cloud = %+v", d.Cloud)
	}
	src := d.Source
	if src.Address != "198.51.100.23" || src.IP != netip.MustParseAddr("198.51.100.23") || src.AS.Number != 25921 || src.AS.Organization.Name != "EXAMPLE-AS" {
		t.Errorf("source = %+v as = %+v", src, src.AS)
	}
	if *src.Geo.Location != (ecs.GeoPoint{Lat: 40.5, Lon: -89.25}) || src.Geo.CountryISOCode != "US" || src.Geo.CityName != "Springfield" || src.Geo.CountryName != "United States" {
		t.Errorf("source.geo = %+v", src.Geo)
	}
	gd := d.AWS.GuardDuty
	if gd.Severity != (ecs.GuardDutySeverity{Code: ecs.Float(6.9), Value: "Medium"}) || gd.Confidence != ecs.Float(7.5) || gd.SchemaVersion != "2.0" || gd.Partition != "aws" {
		t.Errorf("aws.guardduty = %+v", gd)
	}
	svc := gd.Service
	if svc.Count != ecs.Int(3) || svc.Archived != ecs.Bool(false) || svc.Action.AWSAPICallAction.API != "GetObject" || svc.ServiceName != "guardduty" || !svc.Event.FirstSeen.Set || svc.FeatureName != "FlowLogs" || svc.DetectorID != "d" {
		t.Errorf("aws.guardduty.service = %+v", svc)
	}
	if gd.Resource.Type != "Instance" || gd.Resource.InstanceDetails.Instance.ID != "i-1" {
		t.Errorf("aws.guardduty.resource = %+v", gd.Resource)
	}
}

func TestAccessKeyUserAndIPv6(t *testing.T) {
	js := `{"schemaVersion":"2.0","id":"f","type":"Discovery:IAMUser/AnomalousBehavior","severity":2,"updatedAt":"2021-04-28T02:54:50.712Z",
	"resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"ASIA1","principalId":"AROA1:session","userType":"AssumedRole","userName":"ReadOnlyRole"}},
	"service":{"action":{"actionType":"AWS_API_CALL","awsApiCallAction":{"remoteIpDetails":{"ipAddressV6":"2001:db8::7"}}}}}`
	d := parse(t, js)
	if *d.User != (ecs.User{ID: "AROA1:session", Name: "ReadOnlyRole"}) {
		t.Errorf("user = %+v", d.User)
	}
	if !reflect.DeepEqual(d.Related.User, []string{"AROA1:session", "ReadOnlyRole"}) {
		t.Errorf("related.user = %v", d.Related.User)
	}
	if d.Source.IP != netip.MustParseAddr("2001:db8::7") || !reflect.DeepEqual(d.Related.IP, []netip.Addr{netip.MustParseAddr("2001:db8::7")}) {
		t.Errorf("source = %+v related = %+v", d.Source, d.Related)
	}
	if d.Event.Severity != ecs.Int(2) || d.AWS.GuardDuty.Severity.Value != "Low" {
		t.Errorf("severity = %+v %+v", d.Event.Severity, d.AWS.GuardDuty.Severity)
	}
	ak := d.AWS.GuardDuty.Resource.AccessKeyDetails
	if ak != (ecs.AccessKeyDetails{AccessKeyID: "ASIA1", PrincipalID: "AROA1:session", User: ecs.AccessKeyUser{Name: "ReadOnlyRole", Type: "AssumedRole"}}) {
		t.Errorf("access_key_details = %+v", ak)
	}
}

func TestNetworkConnectionDirection(t *testing.T) {
	conn := func(dir string) string {
		return `{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"` + dir + `","protocol":"TCP",
		"remoteIpDetails":{"ipAddressV4":"198.51.100.9","organization":{"asn":"64500"}},"remotePortDetails":{"port":443},
		"localIpDetails":{"ipAddressV4":"10.0.0.5"},"localPortDetails":{"port":50000}}}`
	}
	in := parse(t, finding(conn("INBOUND")))
	if in.Source.IP != netip.MustParseAddr("198.51.100.9") || in.Source.Port != 443 || in.Destination.IP != netip.MustParseAddr("10.0.0.5") || in.Destination.Port != 50000 {
		t.Errorf("inbound: source %+v destination %+v", in.Source, in.Destination)
	}
	out := parse(t, finding(conn("OUTBOUND")))
	if out.Source.IP != netip.MustParseAddr("10.0.0.5") || out.Destination.IP != netip.MustParseAddr("198.51.100.9") || out.Destination.AS.Number != 64500 {
		t.Errorf("outbound: source %+v destination %+v", out.Source, out.Destination)
	}
	if len(out.Related.IP) != 2 || out.Event.Action != "NETWORK_CONNECTION" {
		t.Errorf("outbound: related %+v action %q", out.Related, out.Event.Action)
	}
}

func TestPortProbeTakesFirst(t *testing.T) {
	d := parse(t, finding(`{"actionType":"PORT_PROBE","portProbeAction":{"blocked":false,"portProbeDetails":[
	{"localPortDetails":{"port":22},"localIpDetails":{"ipAddressV4":"10.0.0.5"},"remoteIpDetails":{"ipAddressV4":"192.0.2.1","country":{"countryName":"X"}}},
	"not an object",
	{"localPortDetails":{"port":22},"remoteIpDetails":{"ipAddressV4":"192.0.2.2"}}]}}`))
	if d.Source.IP != netip.MustParseAddr("192.0.2.1") || d.Destination.Port != 22 || d.Source.Geo.CountryName != "X" {
		t.Errorf("source %+v destination %+v", d.Source, d.Destination)
	}
	if !slices.Contains(d.SiemScore.Issues, IssuePortProbeFirst) {
		t.Errorf("issues = %v, want %s", d.SiemScore.Issues, IssuePortProbeFirst)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("192.0.2.2")}
	if !reflect.DeepEqual(d.Related.IP, want) {
		t.Errorf("related.ip = %v, want every prober", d.Related.IP)
	}
	single := parse(t, finding(`{"actionType":"PORT_PROBE","portProbeAction":{"portProbeDetails":[{"remoteIpDetails":{"ipAddressV4":"192.0.2.1"}}]}}`))
	if slices.Contains(single.SiemScore.Issues, IssuePortProbeFirst) {
		t.Error("a single probe must not be flagged")
	}
}

func TestDomainCallerAndInvalidIP(t *testing.T) {
	d := parse(t, finding(`{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"PutRolePolicy","callerType":"Domain","domainDetails":{"domain":"cloudformation.amazonaws.com"}}}`))
	if d.Source.Address != "cloudformation.amazonaws.com" || d.Source.Domain != "cloudformation.amazonaws.com" || d.Source.IP.IsValid() {
		t.Errorf("source = %+v", d.Source)
	}
	if !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotIP) {
		t.Errorf("issues = %v", d.SiemScore.Issues)
	}
	d = parse(t, finding(`{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":"255.18.064.253","geoLocation":{"lat":95,"lon":0}}}}`))
	if d.Source.Address != "255.18.064.253" || d.Source.IP.IsValid() || !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceIPInvalid) || d.Related != nil {
		t.Errorf("invalid IP: source %+v issues %v related %+v", d.Source, d.SiemScore.Issues, d.Related)
	}
	if d.Source.Geo != nil {
		t.Errorf("a latitude of 95 is not a location: %+v", d.Source.Geo)
	}
}

func TestRuleParts(t *testing.T) {
	for _, tc := range []struct{ typ, category, ruleset string }{
		{"Discovery:IAMUser/AnomalousBehavior", "Discovery", "Discovery:IAMUser"},
		{"Exfiltration:S3/ObjectRead.Unusual", "Exfiltration", "Exfiltration:S3"},
		{"AttackSequence:IAM/CompromisedCredentials", "AttackSequence", "AttackSequence:IAM"},
		{"CryptoCurrency:EC2/BitcoinTool.B!DNS", "CryptoCurrency", "CryptoCurrency:EC2"},
		{"Discovery:Kubernetes/TorIPCaller", "Discovery", "Discovery:Kubernetes"},
		{"Policy:", "Policy", ""},
		{"NoColon", "", ""},
		{":EC2/x", "", ""},
		{"Odd Category:EC2/x", "", ""},
	} {
		c, r := ruleParts(tc.typ)
		if c != tc.category || r != tc.ruleset {
			t.Errorf("ruleParts(%q) = %q, %q; want %q, %q", tc.typ, c, r, tc.category, tc.ruleset)
		}
	}
}

func TestSeverityAndTimes(t *testing.T) {
	for _, tc := range []struct {
		sev   string
		event ecs.OptInt
		band  string
	}{
		{`1`, ecs.Int(1), "Low"},
		{`3.9`, ecs.Int(3), "Low"},
		{`4`, ecs.Int(4), "Medium"},
		{`7.0`, ecs.Int(7), "High"},
		{`8.9`, ecs.Int(8), "High"},
		{`9`, ecs.Int(9), "Critical"},
		{`"5.3"`, ecs.Int(5), "Medium"},
		{`1e300`, ecs.OptInt{}, "Critical"},
		{`"high"`, ecs.OptInt{}, ""},
	} {
		d := parse(t, `{"id":"f","type":"T:R/x","severity":`+tc.sev+`}`)
		if d.Event.Severity != tc.event || d.AWS.GuardDuty.Severity.Value != tc.band {
			t.Errorf("severity %s: event.severity %+v band %q", tc.sev, d.Event.Severity, d.AWS.GuardDuty.Severity.Value)
		}
	}
	d := parse(t, `{"id":"f","createdAt":"2025-02-25 20:40:06.721"}`)
	if !d.Timestamp.Equal(time.Date(2025, 2, 25, 20, 40, 6, 721e6, time.UTC)) || len(d.SiemScore.Issues) != 0 {
		t.Errorf("without updatedAt, createdAt: %v %v", d.Timestamp, d.SiemScore.Issues)
	}
	d = parse(t, `{"id":"f"}`)
	if !d.Timestamp.Equal(fallback) || !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampMissing) {
		t.Errorf("without times, the fallback: %v %v", d.Timestamp, d.SiemScore.Issues)
	}
	d = parse(t, `{"id":"f","updatedAt":"never"}`)
	if !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
		t.Errorf("an invalid updatedAt: %v", d.SiemScore.Issues)
	}
}

func TestNotAFinding(t *testing.T) {
	if _, err := new(Parser).Parse(body.Of(map[string]any{"type": 5.0, "id": map[string]any{}}), fallback); err != nil {
		t.Errorf("a numeric type is still a string: %v", err)
	}
	if _, err := new(Parser).Parse(body.Of(map[string]any{"type": []any{}, "id": nil}), fallback); err != ErrNotGuardDuty {
		t.Errorf("err = %v, want ErrNotGuardDuty", err)
	}
	d := parse(t, `{"id":"f","resource":"x","service":[1],"severity":{"a":1}}`)
	if d.User != nil || d.Source != nil || d.Event.Severity.Set || d.Rule != nil {
		t.Errorf("wrong types must be ignored: %+v", d)
	}
}

func TestKey(t *testing.T) {
	if k := Key(body.Of(map[string]any{"id": "f", "updatedAt": "u"})); k[0] != "f" || k[1] != "u" {
		t.Errorf("Key = %v", k)
	}
}
