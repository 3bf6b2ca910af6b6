package cloudtrail

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

var fallback = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func event(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func parse(t *testing.T, js string) *ecs.Document {
	t.Helper()
	d, err := new(Parser).Parse(body.Of(event(t, js)), fallback)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, d)
	return d
}

// flat decodes a flattened object.
func flat(t *testing.T, r ecs.RawJSON) map[string]any {
	t.Helper()
	if r == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r), &m); err != nil {
		t.Fatalf("flattened %s: %v", r, err)
	}
	return m
}

// roundTrip proves the document encodes to valid JSON.
func roundTrip(t *testing.T, d *ecs.Document) map[string]any {
	t.Helper()
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return out
}

const iamUser = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},
"eventTime":"2024-05-06T07:08:09Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.50",
"userAgent":"aws-cli/2.13.5","requestParameters":{"userName":"mallory"},"responseElements":{"user":{"userName":"mallory","userId":"AIDANEW"}},
"requestID":"req-1","eventID":"ev-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management",
"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"iam.amazonaws.com"},
"resources":[{"ARN":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","type":"AWS::IAM::User"},{"arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","type":"AWS::IAM::User"}],
"sharedEventID":"shared-1","vpcEndpointId":"vpce-1","apiVersion":"2010-05-08"}`

func TestIAMUserEvent(t *testing.T) {
	d := parse(t, iamUser)
	if !d.Timestamp.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("@timestamp = %v", d.Timestamp)
	}
	wantEvent := ecs.Event{
		Kind: "event", Category: []string{"iam"}, Type: []string{"user", "creation"}, Action: "CreateUser",
		Provider: "iam.amazonaws.com", Outcome: "success", ID: "ev-1", Dataset: "aws.cloudtrail", Module: "aws",
		Created: ecs.Time(fallback),
	}
	if !reflect.DeepEqual(d.Event, wantEvent) {
		t.Errorf("event = %+v\nwant    %+v", d.Event, wantEvent)
	}
	if d.Source.Address != "203.0.113.50" || d.Source.IP != netip.MustParseAddr("203.0.113.50") {
		t.Errorf("source = %+v", d.Source)
	}
	// CreateUser names the new user in requestParameters.userName and its id in
	// responseElements.user.userId: the integration's user.target.
	if *d.User != (ecs.User{Name: "alice", ID: "AIDAEXAMPLE", Target: ecs.UserRef{Name: "mallory", ID: "AIDANEW"}}) {
		t.Errorf("user = %+v", d.User)
	}
	if d.UserAgent.Original != "aws-cli/2.13.5" {
		t.Errorf("user_agent = %+v", d.UserAgent)
	}
	if *d.Cloud != (ecs.Cloud{Provider: "aws", Region: "us-east-1", Account: ecs.CloudAccount{ID: "123456789012"}}) {
		t.Errorf("cloud = %+v", d.Cloud)
	}
	if *d.TLS != (ecs.TLS{Version: "1.2", VersionProtocol: "tls", Cipher: "ECDHE-RSA-AES128-GCM-SHA256", Client: ecs.TLSClient{ServerName: "iam.amazonaws.com"}}) {
		t.Errorf("tls = %+v", d.TLS)
	}
	if !reflect.DeepEqual(d.Related.User, []string{"alice", "mallory"}) || !reflect.DeepEqual(d.Related.IP, []netip.Addr{netip.MustParseAddr("203.0.113.50")}) {
		t.Errorf("related = %+v", d.Related)
	}
	ct := d.AWS.CloudTrail
	wantID := ecs.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/alice", AccessKeyID: "AKIAEXAMPLE"}
	if !reflect.DeepEqual(ct.UserIdentity, wantID) {
		t.Errorf("user_identity = %+v", ct.UserIdentity)
	}
	for name, pair := range map[string][2]string{
		"request_id": {ct.RequestID, "req-1"}, "event_type": {ct.EventType, "AwsApiCall"}, "event_version": {ct.EventVersion, "1.08"},
		"event_category": {ct.EventCategory, "Management"}, "recipient_account_id": {ct.RecipientAccountID, "123456789012"},
		"shared_event_id": {ct.SharedEventID, "shared-1"}, "vpc_endpoint_id": {ct.VPCEndpointID, "vpce-1"}, "api_version": {ct.APIVersion, "2010-05-08"},
		"request_parameters": {ct.RequestParameters, `{"userName":"mallory"}`},
		"response_elements":  {ct.ResponseElements, `{"user":{"userId":"AIDANEW","userName":"mallory"}}`},
	} {
		if pair[0] != pair[1] {
			t.Errorf("aws.cloudtrail.%s = %q, want %q", name, pair[0], pair[1])
		}
	}
	if ct.ReadOnly != ecs.Bool(false) || ct.ManagementEvent != "true" {
		t.Errorf("read_only/management_event = %+v %+v", ct.ReadOnly, ct.ManagementEvent)
	}
	if flat(t, ct.Flattened.RequestParameters)["userName"] != "mallory" || flat(t, ct.Flattened.ResponseElements)["user"] == nil {
		t.Errorf("flattened = %+v", ct.Flattened)
	}
	wantRes := []ecs.CloudResource{{ARN: "arn:aws:iam::123456789012:user/mallory", Type: "AWS::IAM::User", AccountID: "123456789012"}}
	if !reflect.DeepEqual(ct.Resources, wantRes) {
		t.Errorf("resources (ARN and arn spellings, deduplicated) = %+v", ct.Resources)
	}
	if len(d.SiemScore.Issues) != 0 {
		t.Errorf("issues = %v", d.SiemScore.Issues)
	}
}

func TestAssumedRoleUserIsSessionIssuer(t *testing.T) {
	d := parse(t, `{"eventName":"PutObject","eventSource":"s3.amazonaws.com","eventTime":"2024-01-01T00:00:00Z",
	"userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:bob.ross","arn":"arn:aws:sts::123456789012:assumed-role/DevAdmin/bob.ross","accountId":"123456789012",
	"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123456789012:role/DevAdmin","accountId":"123456789012","userName":"DevAdmin"},
	"attributes":{"mfaAuthenticated":"true","creationDate":"2023-12-31T23:00:00Z"}}}}`)
	if d.User.Name != "DevAdmin" || d.User.ID != "AROAEXAMPLE:bob.ross" {
		t.Errorf("user = %+v", d.User)
	}
	sc := d.AWS.CloudTrail.UserIdentity.SessionContext
	if sc.MFAAuthenticated != "true" || !sc.CreationDate.Set || sc.CreationDate.V.Hour() != 23 {
		t.Errorf("session_context = %+v", sc)
	}
	want := ecs.SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLE", ARN: "arn:aws:iam::123456789012:role/DevAdmin", AccountID: "123456789012"}
	if sc.SessionIssuer != want {
		t.Errorf("session_issuer = %+v", sc.SessionIssuer)
	}
	// Elastic's expected output for an assumed role's ConsoleLogin has no related.user: the
	// issuer's name becomes user.name only.
	if d.Related != nil && d.Related.User != nil {
		t.Errorf("related.user = %v", d.Related.User)
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		name, js, want string
		category       []string
	}{
		{"no error", `{"eventName":"GetUser","eventSource":"iam.amazonaws.com"}`, "success", []string{"iam"}},
		{"error code", `{"eventName":"GetUser","eventSource":"iam.amazonaws.com","errorCode":"AccessDenied"}`, "failure", []string{"iam"}},
		{"error message only", `{"eventName":"GetUser","eventSource":"iam.amazonaws.com","errorMessage":"nope"}`, "failure", []string{"iam"}},
		{"empty error code", `{"eventName":"GetUser","eventSource":"iam.amazonaws.com","errorCode":""}`, "success", []string{"iam"}},
		{"console login success", `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"}}`, "success", []string{"authentication"}},
		{"console login failure", `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"}`, "failure", []string{"authentication"}},
		{"console login failure without error", `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Failure"}}`, "failure", []string{"authentication"}},
		{"console login odd result", `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Maybe"}}`, "unknown", []string{"authentication"}},
		{"console login no result", `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","errorCode":"x"}`, "failure", []string{"authentication"}},
		{"uncategorised", `{"eventName":"DescribeInstances","eventSource":"ec2.amazonaws.com"}`, "success", nil},
	} {
		d := parse(t, tc.js)
		if d.Event.Outcome != tc.want || !slices.Equal(d.Event.Category, tc.category) {
			t.Errorf("%s: outcome %q category %v, want %q %v", tc.name, d.Event.Outcome, d.Event.Category, tc.want, tc.category)
		}
		if len(d.Event.Type) == 0 {
			t.Errorf("%s: event.type must always be set", tc.name)
		}
	}
}

func TestSourceAddress(t *testing.T) {
	for _, tc := range []struct {
		addr, ip, issue string
	}{
		{"203.0.113.50", "203.0.113.50", ""},
		{"2001:db8::5", "2001:db8::5", ""},
		{"AWS Internal", "", ecs.IssueSourceNotIP},
		{"cloudformation.amazonaws.com", "", ecs.IssueSourceNotIP},
		{"255.18.064.253", "", ecs.IssueSourceIPInvalid},
		{"010.1.2.3", "", ecs.IssueSourceIPInvalid},
	} {
		d := parse(t, `{"eventName":"X","eventSource":"y","eventTime":"2024-01-01T00:00:00Z","sourceIPAddress":"`+tc.addr+`"}`)
		if d.Source == nil || d.Source.Address != tc.addr {
			t.Errorf("%s: source = %+v", tc.addr, d.Source)
			continue
		}
		if got := d.Source.IP; (tc.ip == "" && got.IsValid()) || (tc.ip != "" && got != netip.MustParseAddr(tc.ip)) {
			t.Errorf("%s: source.ip = %v, want %q", tc.addr, got, tc.ip)
		}
		if tc.issue == "" && len(d.SiemScore.Issues) > 0 || tc.issue != "" && !slices.Contains(d.SiemScore.Issues, tc.issue) {
			t.Errorf("%s: issues = %v, want %q", tc.addr, d.SiemScore.Issues, tc.issue)
		}
		if tc.ip == "" && d.Related != nil {
			t.Errorf("%s: a non-IP must not reach related.ip: %+v", tc.addr, d.Related)
		}
	}
	if d := parse(t, `{"eventName":"X","eventSource":"y"}`); d.Source != nil {
		t.Errorf("no sourceIPAddress, no source: %+v", d.Source)
	}
	// An object where the address belongs does not vanish: it is kept as text, and flagged.
	d := parse(t, `{"eventName":"X","eventSource":"y","sourceIPAddress":{"ip":"203.0.113.7","port":443}}`)
	if d.Source == nil || d.Source.Address != `{"ip":"203.0.113.7","port":443}` || d.Source.IP.IsValid() ||
		!slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotString) {
		t.Errorf("an object as source address: %+v %v", d.Source, d.SiemScore.Issues)
	}
}

func TestLowercaseKeys(t *testing.T) {
	// A real record shape: CloudTrail exported with every key lowercased.
	d := parse(t, `{"apiversion":"2012-08-10","awsregion":"eu-west-1","eventcategory":"Data","eventid":"5d4b45ed","eventname":"GetRecords",
	"eventsource":"dynamodb.amazonaws.com","eventtime":"2023-01-10 21:04:02","eventtype":"AwsApiCall","eventversion":"1.08","managementevent":false,
	"useridentity":{"arn":"arn:aws:test_arn"},"recipientaccountid":"123456789012"}`)
	if d.Event.Action != "GetRecords" || d.Event.Provider != "dynamodb.amazonaws.com" || d.Event.ID != "5d4b45ed" || d.Cloud.Region != "eu-west-1" {
		t.Errorf("event = %+v cloud = %+v", d.Event, d.Cloud)
	}
	if !d.Timestamp.Equal(time.Date(2023, 1, 10, 21, 4, 2, 0, time.UTC)) {
		t.Errorf("@timestamp = %v", d.Timestamp)
	}
	ct := d.AWS.CloudTrail
	if ct.UserIdentity.ARN != "arn:aws:test_arn" || ct.ManagementEvent != "false" || ct.APIVersion != "2012-08-10" || ct.EventCategory != "Data" {
		t.Errorf("aws.cloudtrail = %+v", ct)
	}
	if d.Cloud.Account.ID != "123456789012" {
		t.Errorf("without userIdentity.accountId the recipient account is the cloud account: %+v", d.Cloud)
	}
}

func TestTimestamps(t *testing.T) {
	for _, tc := range []struct {
		field, issue string
		want         time.Time
	}{
		{`"eventTime":"2024-05-06T07:08:09.5Z",`, "", time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC)},
		{`"eventTime":"2025-02-25 20:40:06.721",`, "", time.Date(2025, 2, 25, 20, 40, 6, 721e6, time.UTC)},
		{``, ecs.IssueTimestampMissing, fallback},
		{`"eventTime":null,`, ecs.IssueTimestampMissing, fallback},
		{`"eventTime":"redacted",`, ecs.IssueTimestampInvalid, fallback},
		{`"eventTime":"0000-01-01T00:00:00Z",`, ecs.IssueTimestampInvalid, fallback},
		{`"eventTime":{"x":1},`, ecs.IssueTimestampInvalid, fallback},
	} {
		d := parse(t, `{`+tc.field+`"eventName":"X","eventSource":"y"}`)
		if !d.Timestamp.Equal(tc.want) || (tc.issue != "") != slices.Contains(d.SiemScore.Issues, tc.issue) {
			t.Errorf("%s: @timestamp %v issues %v; want %v %q", tc.field, d.Timestamp, d.SiemScore.Issues, tc.want, tc.issue)
		}
	}
}

func TestFreeFormObjects(t *testing.T) {
	d := parse(t, `{"eventName":"X","eventSource":"y","requestParameters":null,"responseElements":{},"additionalEventData":{"MFAUsed":"No","n":5},"serviceEventDetails":[]}`)
	ct := d.AWS.CloudTrail
	if ct.RequestParameters != "" || ct.ResponseElements != "" || ct.ServiceEventDetails != "" || ct.Flattened.ResponseElements != "" {
		t.Errorf("null and empty objects must be dropped: %+v", ct)
	}
	if ct.AdditionalEventData != `{"MFAUsed":"No","n":5}` || flat(t, ct.Flattened.AdditionalEventData)["MFAUsed"] != "No" {
		t.Errorf("additional_eventdata = %q %v", ct.AdditionalEventData, ct.Flattened.AdditionalEventData)
	}

	// Some exports keep requestParameters as a JSON string.
	d = parse(t, `{"eventName":"X","eventSource":"y","requestParameters":"{\"bucketName\":\"b\"}","responseElements":"plain text"}`)
	ct = d.AWS.CloudTrail
	if ct.RequestParameters != `{"bucketName":"b"}` || flat(t, ct.Flattened.RequestParameters)["bucketName"] != "b" {
		t.Errorf("request_parameters from a JSON string = %q %v", ct.RequestParameters, ct.Flattened.RequestParameters)
	}
	if ct.ResponseElements != "plain text" || ct.Flattened.ResponseElements != "" {
		t.Errorf("a non-JSON string stays a string only: %q %v", ct.ResponseElements, ct.Flattened.ResponseElements)
	}

	// Too large to index as a flattened leaf: kept as a string only, as Elastic does.
	big := strings.Repeat("x", flattenedLimit)
	d = parse(t, `{"eventName":"X","eventSource":"y","requestParameters":{"policy":"`+big+`"}}`)
	if ct := d.AWS.CloudTrail; len(ct.RequestParameters) <= flattenedLimit || ct.Flattened.RequestParameters != "" {
		t.Errorf("large request_parameters: %d bytes, flattened %v", len(ct.RequestParameters), ct.Flattened.RequestParameters != "")
	}

	// An array is kept as text; only objects are flattened.
	d = parse(t, `{"eventName":"X","eventSource":"y","requestParameters":[1,2]}`)
	if ct := d.AWS.CloudTrail; ct.RequestParameters != "[1,2]" || ct.Flattened.RequestParameters != "" {
		t.Errorf("array request_parameters = %q", ct.RequestParameters)
	}
}

func TestWrongTypes(t *testing.T) {
	if _, err := new(Parser).Parse(body.Of(event(t, `{"eventName":{},"eventSource":[1],"eventTime":"2024-01-01T00:00:00Z"}`)), fallback); err != ErrNotCloudTrail {
		t.Errorf("err = %v, want ErrNotCloudTrail", err)
	}
	if _, err := new(Parser).Parse(body.Of(map[string]any{}), fallback); err != ErrNotCloudTrail {
		t.Errorf("empty event: err = %v", err)
	}
	// Wrong types for everything but the name: still a document, with what could be read.
	d := parse(t, `{"eventName":"X","userIdentity":"alice","sourceIPAddress":5,"eventTime":true,"tlsDetails":[],"resources":{"a":1},
	"readOnly":"maybe","managementEvent":"T","awsRegion":["us"],"userAgent":{"a":1}}`)
	if d.Event.Action != "X" || d.User != nil || d.UserAgent != nil || d.TLS != nil || d.AWS.CloudTrail.Resources != nil {
		t.Errorf("wrong types must be ignored: %+v", d)
	}
	if d.AWS.CloudTrail.ReadOnly.Set || d.AWS.CloudTrail.ManagementEvent != "true" {
		t.Errorf("booleans: read_only %+v management_event %+v", d.AWS.CloudTrail.ReadOnly, d.AWS.CloudTrail.ManagementEvent)
	}
	if d.Source == nil || d.Source.Address != "5" || !slices.Contains(d.SiemScore.Issues, ecs.IssueSourceNotIP) {
		t.Errorf("a number as source address: %+v %v", d.Source, d.SiemScore.Issues)
	}
	if !slices.Contains(d.SiemScore.Issues, ecs.IssueTimestampInvalid) {
		t.Errorf("a boolean eventTime is invalid: %v", d.SiemScore.Issues)
	}
	// The msgpack decoder's forms: []byte strings, int64 numbers.
	d, err := new(Parser).Parse(body.Of(map[string]any{"eventName": []byte("GetUser"), "eventSource": "iam.amazonaws.com", "eventTime": []byte("2024-01-01T00:00:00Z"),
		"userIdentity": map[string]any{"accountId": int64(123456789012)}}), fallback)
	if err != nil || d.Event.Action != "GetUser" || d.Cloud.Account.ID != "123456789012" || d.Timestamp.Year() != 2024 {
		t.Errorf("msgpack forms: %v %+v", err, d)
	}
}

func TestKey(t *testing.T) {
	k := Key(body.Of(event(t, `{"eventID":"e","eventTime":"2024-01-01T00:00:00Z","recipientAccountId":123456789012}`)))
	if k[0] != "e" || k[1] != "2024-01-01T00:00:00Z" || k[2] != "123456789012" {
		t.Errorf("Key = %v", k)
	}
}

func TestGroupAndRenameTargets(t *testing.T) {
	// The integration's test case for AddUserToGroup: group.name admin, user.target.name Bob,
	// related.user Alice and Bob.
	d := parse(t, `{"eventVersion":"1.0","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"},
	"eventTime":"2014-03-25T21:08:14Z","eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","awsRegion":"us-east-2","sourceIPAddress":"127.0.0.1","userAgent":"AWSConsole",
	"requestParameters":{"userName":"Bob","groupName":"admin"},"responseElements":null}`)
	if d.Group == nil || *d.Group != (ecs.Group{Name: "admin"}) || d.User.Target != (ecs.UserRef{Name: "Bob"}) {
		t.Errorf("group %+v user %+v", d.Group, d.User)
	}
	if !reflect.DeepEqual(d.Related.User, []string{"Alice", "Bob"}) {
		t.Errorf("related.user = %v", d.Related.User)
	}
	d = parse(t, `{"eventSource":"iam.amazonaws.com","eventName":"UpdateUser","eventTime":"2014-03-25T21:08:14Z",
	"requestParameters":{"userName":"Bob","newUserName":"Robert"},"responseElements":{"group":{"groupId":"AGPA1"}}}`)
	if d.User == nil || d.User.Changes.Name != "Robert" || d.User.Target.Name != "Bob" || d.User.Name != "" || d.Group.ID != "AGPA1" {
		t.Errorf("user %+v group %+v", d.User, d.Group)
	}
}

func TestInsightEvent(t *testing.T) {
	// An Insights record names no eventName or eventSource of its own; AWS's documented example.
	d := parse(t, `{"eventVersion":"1.07","eventTime":"2019-10-17T10:05:00Z","awsRegion":"us-east-1","eventID":"aab985f2-3a56-48cc-a8a5-e0af77606f5f",
	"eventType":"AwsCloudTrailInsight","recipientAccountId":"123456789012","sharedEventID":"12edc982-3348-4794-83d3-a3db26525049",
	"insightDetails":{"state":"Start","eventSource":"ssm.amazonaws.com","eventName":"UpdateInstanceAssociationStatus","insightType":"ApiCallRateInsight",
	"insightContext":{"statistics":{"baseline":{"average":1.7561507937},"insight":{"average":50.1}}}},"eventCategory":"Insight"}`)
	if !d.Timestamp.Equal(time.Date(2019, 10, 17, 10, 5, 0, 0, time.UTC)) || len(d.SiemScore.Issues) != 0 {
		t.Errorf("@timestamp %v issues %v", d.Timestamp, d.SiemScore.Issues)
	}
	ct := d.AWS.CloudTrail
	if ct.EventType != "AwsCloudTrailInsight" || ct.EventCategory != "Insight" || flat(t, ct.Flattened.InsightDetails)["insightType"] != "ApiCallRateInsight" {
		t.Errorf("aws.cloudtrail = %+v", ct)
	}
	if d.Event.ID != "aab985f2-3a56-48cc-a8a5-e0af77606f5f" || d.Event.Action != "" || d.Cloud.Account.ID != "123456789012" {
		t.Errorf("event %+v cloud %+v", d.Event, d.Cloud)
	}
}
