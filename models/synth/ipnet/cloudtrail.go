package ipnet

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/siemscore/siemscore/models/synth/internal/cloudtrail"
)

// A few read-only management calls, so rendered records look like everyday API traffic.
var ctCalls = []struct{ source, name, agent string }{
	{"sts.amazonaws.com", "GetCallerIdentity", "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0"},
	{"ec2.amazonaws.com", "DescribeInstances", "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0"},
	{"s3.amazonaws.com", "ListBuckets", "Boto3/1.34.69 md/Botocore#1.34.69 Python/3.12.2"},
	{"iam.amazonaws.com", "ListRoles", "console.amazonaws.com"},
	{"cloudtrail.amazonaws.com", "LookupEvents", "console.amazonaws.com"},
}

// record renders event i. IDs are derived from seed and i, so rendering is deterministic.
func (e *Event) record(seed uint64, i int) cloudtrail.Record {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	call := ctCalls[r.IntN(len(ctCalls))]
	id := e.Identity
	ui := cloudtrail.Identity{
		Type:        id.Type,
		PrincipalID: e.Principal(),
		AccountID:   id.AccountID,
		AccessKeyID: AWSID(r, "ASIA"),
	}
	if id.Type == "AssumedRole" {
		ui.ARN = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", id.AccountID, id.Name, e.Session)
		ui.SessionContext = cloudtrail.RoleSession(cloudtrail.Issuer{
			Type: "Role", PrincipalID: id.PrincipalID, AccountID: id.AccountID, UserName: id.Name,
			ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", id.AccountID, id.Name),
		}, e.Time.Add(-15*time.Minute))
	} else {
		ui.ARN = fmt.Sprintf("arn:aws:iam::%s:user/%s", id.AccountID, id.Name)
		ui.UserName = id.Name
		ui.AccessKeyID = AWSID(r, "AKIA")
	}
	return cloudtrail.APICall(cloudtrail.Call{
		Version:  "1.09",
		Identity: ui,
		Time:     e.Time,
		Source:   call.source,
		Name:     call.name,
		Region:   "us-east-1",
		IP:       e.IP.String(),
		Agent:    call.agent,
		ReadOnly: true,
	}, r)
}

// WriteCloudTrail writes events as CloudTrail records, one JSON object per line (what a Fluent
// Bit tail input reads). seed makes request and event IDs reproducible.
func WriteCloudTrail(w io.Writer, seed uint64, events []Event) error {
	record := func(i int) cloudtrail.Record { return events[i].record(seed, i) }
	if err := cloudtrail.WriteLines(w, len(events), record); err != nil {
		return fmt.Errorf("ipnet: %w", err)
	}
	return nil
}

// WriteCloudTrailFile writes events as one CloudTrail log file ({"Records": [...]}), the form
// CloudTrail delivers to S3.
func WriteCloudTrailFile(w io.Writer, seed uint64, events []Event) error {
	recs := make([]cloudtrail.Record, len(events))
	for i := range events {
		recs[i] = events[i].record(seed, i)
	}
	b, err := json.Marshal(struct {
		Records []cloudtrail.Record `json:"Records"`
	}{recs})
	if err != nil {
		return fmt.Errorf("ipnet: render CloudTrail file: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ipnet: write CloudTrail file: %w", err)
	}
	return nil
}
