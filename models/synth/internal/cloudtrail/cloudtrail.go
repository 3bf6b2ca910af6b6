// Package cloudtrail renders the synthetic generators' events as CloudTrail records, so every
// generator writes the one JSON shape the processors are tested against.
package cloudtrail

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// The JSON shapes of a CloudTrail record, in CloudTrail's field order: the subset the
// generators fill, which is everything the processors and models read plus the fields every
// real record has.
type (
	Record struct {
		EventVersion       string   `json:"eventVersion"`
		UserIdentity       Identity `json:"userIdentity"`
		EventTime          string   `json:"eventTime"`
		EventSource        string   `json:"eventSource"`
		EventName          string   `json:"eventName"`
		AWSRegion          string   `json:"awsRegion"`
		SourceIPAddress    string   `json:"sourceIPAddress"`
		UserAgent          string   `json:"userAgent"`
		RequestParameters  any      `json:"requestParameters"`
		ResponseElements   any      `json:"responseElements"`
		RequestID          string   `json:"requestID"`
		EventID            string   `json:"eventID"`
		ReadOnly           bool     `json:"readOnly"`
		EventType          string   `json:"eventType"`
		ManagementEvent    bool     `json:"managementEvent"`
		RecipientAccountID string   `json:"recipientAccountId"`
		EventCategory      string   `json:"eventCategory"`
	}
	Identity struct {
		Type           string   `json:"type"`
		PrincipalID    string   `json:"principalId"`
		ARN            string   `json:"arn"`
		AccountID      string   `json:"accountId"`
		AccessKeyID    string   `json:"accessKeyId"`
		UserName       string   `json:"userName,omitempty"`
		SessionContext *Session `json:"sessionContext,omitempty"`
	}
	Session struct {
		SessionIssuer Issuer            `json:"sessionIssuer"`
		Attributes    map[string]string `json:"attributes"`
	}
	Issuer struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	}
)

// RoleSession is the sessionContext of a session of the role issuer, created at created.
func RoleSession(issuer Issuer, created time.Time) *Session {
	return &Session{
		SessionIssuer: issuer,
		Attributes: map[string]string{
			"creationDate":     created.UTC().Format(time.RFC3339),
			"mfaAuthenticated": "false",
		},
	}
}

// Call is what varies between generated management API calls.
type Call struct {
	Version  string // eventVersion
	Identity Identity
	Time     time.Time
	Source   string // eventSource, the service endpoint
	Name     string // eventName, the API
	Region   string
	IP       string // sourceIPAddress
	Agent    string // userAgent
	ReadOnly bool
}

// APICall renders c as a management API call made in the identity's own account. Its request and
// event IDs are drawn from r, so a seeded r renders the same record every time.
func APICall(c Call, r *rand.Rand) Record {
	return Record{
		EventVersion:       c.Version,
		UserIdentity:       c.Identity,
		EventTime:          c.Time.UTC().Format(time.RFC3339),
		EventSource:        c.Source,
		EventName:          c.Name,
		AWSRegion:          c.Region,
		SourceIPAddress:    c.IP,
		UserAgent:          c.Agent,
		RequestID:          uuid(r),
		EventID:            uuid(r),
		ReadOnly:           c.ReadOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: c.Identity.AccountID,
		EventCategory:      "Management",
	}
}

// uuid draws a version 4 UUID from r.
func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}

// WriteLines writes the records record(0) … record(n-1) one JSON object per line, the form a
// Fluent Bit tail input reads.
func WriteLines(w io.Writer, n int, record func(i int) Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range n {
		if err := enc.Encode(record(i)); err != nil {
			return fmt.Errorf("cloudtrail: render record %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cloudtrail: write records: %w", err)
	}
	return nil
}
