package ipnet

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// ctRecord is the subset of a CloudTrail record the generator fills: everything the
// processors and the IP model read, plus the fields every real record has.
type ctRecord struct {
	EventVersion       string     `json:"eventVersion"`
	UserIdentity       ctIdentity `json:"userIdentity"`
	EventTime          string     `json:"eventTime"`
	EventSource        string     `json:"eventSource"`
	EventName          string     `json:"eventName"`
	AWSRegion          string     `json:"awsRegion"`
	SourceIPAddress    string     `json:"sourceIPAddress"`
	UserAgent          string     `json:"userAgent"`
	RequestParameters  any        `json:"requestParameters"`
	ResponseElements   any        `json:"responseElements"`
	RequestID          string     `json:"requestID"`
	EventID            string     `json:"eventID"`
	ReadOnly           bool       `json:"readOnly"`
	EventType          string     `json:"eventType"`
	ManagementEvent    bool       `json:"managementEvent"`
	RecipientAccountID string     `json:"recipientAccountId"`
	EventCategory      string     `json:"eventCategory"`
}

type ctIdentity struct {
	Type           string     `json:"type"`
	PrincipalID    string     `json:"principalId"`
	ARN            string     `json:"arn"`
	AccountID      string     `json:"accountId"`
	AccessKeyID    string     `json:"accessKeyId"`
	UserName       string     `json:"userName,omitempty"`
	SessionContext *ctSession `json:"sessionContext,omitempty"`
}

type ctSession struct {
	SessionIssuer ctIssuer          `json:"sessionIssuer"`
	Attributes    map[string]string `json:"attributes"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// A few read-only management calls, so rendered records look like everyday API traffic.
var ctCalls = []struct{ source, name, agent string }{
	{"sts.amazonaws.com", "GetCallerIdentity", "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0"},
	{"ec2.amazonaws.com", "DescribeInstances", "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0"},
	{"s3.amazonaws.com", "ListBuckets", "Boto3/1.34.69 md/Botocore#1.34.69 Python/3.12.2"},
	{"iam.amazonaws.com", "ListRoles", "console.amazonaws.com"},
	{"cloudtrail.amazonaws.com", "LookupEvents", "console.amazonaws.com"},
}

// record renders event i. IDs are derived from seed and i, so rendering is deterministic.
func (e *Event) record(seed uint64, i int) ctRecord {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	call := ctCalls[r.IntN(len(ctCalls))]
	id := e.Identity
	ui := ctIdentity{
		Type:        id.Type,
		PrincipalID: e.Principal(),
		AccountID:   id.AccountID,
		AccessKeyID: awsID(r, "ASIA"),
	}
	if id.Type == "AssumedRole" {
		ui.ARN = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", id.AccountID, id.Name, e.Session)
		ui.SessionContext = &ctSession{
			SessionIssuer: ctIssuer{
				Type: "Role", PrincipalID: id.PrincipalID, AccountID: id.AccountID, UserName: id.Name,
				ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", id.AccountID, id.Name),
			},
			Attributes: map[string]string{
				"creationDate":     e.Time.Add(-15 * time.Minute).UTC().Format(time.RFC3339),
				"mfaAuthenticated": "false",
			},
		}
	} else {
		ui.ARN = fmt.Sprintf("arn:aws:iam::%s:user/%s", id.AccountID, id.Name)
		ui.UserName = id.Name
		ui.AccessKeyID = awsID(r, "AKIA")
	}
	return ctRecord{
		EventVersion:       "1.09",
		UserIdentity:       ui,
		EventTime:          e.Time.UTC().Format(time.RFC3339),
		EventSource:        call.source,
		EventName:          call.name,
		AWSRegion:          "us-east-1",
		SourceIPAddress:    e.IP.String(),
		UserAgent:          call.agent,
		RequestID:          uuid(r),
		EventID:            uuid(r),
		ReadOnly:           true,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: id.AccountID,
		EventCategory:      "Management",
	}
}

func uuid(r *rand.Rand) string {
	hi, lo := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xfff, 0x8000|lo>>48&0x3fff, lo&0xffffffffffff)
}

// WriteCloudTrail writes events as CloudTrail records, one JSON object per line (what a Fluent
// Bit tail input reads). seed makes request and event IDs reproducible.
func WriteCloudTrail(w io.Writer, seed uint64, events []Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range events {
		if err := enc.Encode(events[i].record(seed, i)); err != nil {
			return fmt.Errorf("ipnet: render event %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ipnet: write CloudTrail records: %w", err)
	}
	return nil
}

// WriteCloudTrailFile writes events as one CloudTrail log file ({"Records": [...]}), the form
// CloudTrail delivers to S3.
func WriteCloudTrailFile(w io.Writer, seed uint64, events []Event) error {
	recs := make([]ctRecord, len(events))
	for i := range events {
		recs[i] = events[i].record(seed, i)
	}
	b, err := json.Marshal(struct {
		Records []ctRecord `json:"Records"`
	}{recs})
	if err != nil {
		return fmt.Errorf("ipnet: render CloudTrail file: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ipnet: write CloudTrail file: %w", err)
	}
	return nil
}
