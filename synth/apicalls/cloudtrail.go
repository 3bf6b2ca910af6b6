package apicalls

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// eventSources maps each generated API to its service endpoint, CloudTrail's eventSource.
var eventSources = map[string]string{
	"DescribeInstances":              "ec2.amazonaws.com",
	"DescribeVolumes":                "ec2.amazonaws.com",
	"DescribeSnapshots":              "ec2.amazonaws.com",
	"DescribeSecurityGroups":         "ec2.amazonaws.com",
	"CreateSnapshot":                 "ec2.amazonaws.com",
	"DeleteSnapshot":                 "ec2.amazonaws.com",
	"RunInstances":                   "ec2.amazonaws.com",
	"ListBuckets":                    "s3.amazonaws.com",
	"GetBucketAcl":                   "s3.amazonaws.com",
	"GetBucketPolicy":                "s3.amazonaws.com",
	"GetBucketEncryption":            "s3.amazonaws.com",
	"ListUsers":                      "iam.amazonaws.com",
	"ListRoles":                      "iam.amazonaws.com",
	"ListAccessKeys":                 "iam.amazonaws.com",
	"GetAccountAuthorizationDetails": "iam.amazonaws.com",
	"GenerateCredentialReport":       "iam.amazonaws.com",
	"CreateAccessKey":                "iam.amazonaws.com",
	"AssumeRole":                     "sts.amazonaws.com",
	"GetCallerIdentity":              "sts.amazonaws.com",
	"DescribeDBInstances":            "rds.amazonaws.com",
	"DescribeDBSnapshots":            "rds.amazonaws.com",
	"CreateDBSnapshot":               "rds.amazonaws.com",
	"ListFunctions20150331":          "lambda.amazonaws.com",
	"GetFunction20150331v2":          "lambda.amazonaws.com",
	"GetMetricData":                  "monitoring.amazonaws.com",
	"PutMetricData":                  "monitoring.amazonaws.com",
	"DescribeAlarms":                 "monitoring.amazonaws.com",
	"DescribeLogGroups":              "logs.amazonaws.com",
	"FilterLogEvents":                "logs.amazonaws.com",
	"Decrypt":                        "kms.amazonaws.com",
	"GenerateDataKey":                "kms.amazonaws.com",
	"ListKeys":                       "kms.amazonaws.com",
	"GetSecretValue":                 "secretsmanager.amazonaws.com",
	"DescribeConfigRules":            "config.amazonaws.com",
	"GetParameter":                   "ssm.amazonaws.com",
	"DescribeInstanceInformation":    "ssm.amazonaws.com",
	"LookupEvents":                   "cloudtrail.amazonaws.com",
	"DescribeTrails":                 "cloudtrail.amazonaws.com",
}

// cronAPIs are what jobs call: inventories, snapshots, metrics, secrets.
var cronAPIs = []string{
	"DescribeInstances", "DescribeVolumes", "DescribeSnapshots", "CreateSnapshot", "DeleteSnapshot",
	"ListBuckets", "GetBucketEncryption", "ListUsers", "ListAccessKeys", "GenerateCredentialReport",
	"AssumeRole", "DescribeDBInstances", "DescribeDBSnapshots", "CreateDBSnapshot", "ListFunctions20150331",
	"GetMetricData", "PutMetricData", "DescribeLogGroups", "Decrypt", "GenerateDataKey",
	"GetSecretValue", "DescribeConfigRules", "GetParameter", "DescribeInstanceInformation", "DescribeTrails",
}

// humanAPIs are what people click and type: browsing, troubleshooting, the odd change.
var humanAPIs = []string{
	"DescribeInstances", "DescribeSecurityGroups", "RunInstances", "ListBuckets", "GetBucketAcl",
	"GetBucketPolicy", "ListUsers", "ListRoles", "GetAccountAuthorizationDetails", "CreateAccessKey",
	"GetCallerIdentity", "DescribeDBInstances", "ListFunctions20150331", "GetFunction20150331v2",
	"DescribeAlarms", "GetMetricData", "FilterLogEvents", "ListKeys", "GetSecretValue", "LookupEvents",
}

// The JSON shapes of a CloudTrail record, in CloudTrail's field order.
type (
	ctRecord struct {
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
	ctIdentity struct {
		Type           string     `json:"type"`
		PrincipalID    string     `json:"principalId"`
		ARN            string     `json:"arn"`
		AccountID      string     `json:"accountId"`
		AccessKeyID    string     `json:"accessKeyId"`
		UserName       string     `json:"userName,omitempty"`
		SessionContext *ctSession `json:"sessionContext,omitempty"`
	}
	ctSession struct {
		SessionIssuer ctIssuer          `json:"sessionIssuer"`
		Attributes    map[string]string `json:"attributes"`
	}
	ctIssuer struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	}
)

// CloudTrailRecord returns event i as a CloudTrail JSON record (the form of one element of a
// CloudTrail log file's "Records" array). Its IDs are derived from the seed and i.
func (ds *Dataset) CloudTrailRecord(i int) ([]byte, error) {
	if i < 0 || i >= len(ds.Events) {
		return nil, fmt.Errorf("apicalls: event %d of %d", i, len(ds.Events))
	}
	e := ds.Events[i]
	p := &ds.Principals[e.Principal]
	r := ds.rng(1<<48 + uint64(i))
	rec := ctRecord{
		EventVersion: "1.08",
		UserIdentity: ctIdentity{
			Type:        p.identityType,
			PrincipalID: p.principalID,
			ARN:         p.ARN,
			AccountID:   p.AccountID,
			AccessKeyID: p.accessKeyID,
			UserName:    p.userName,
		},
		EventTime:          e.Time.UTC().Format(time.RFC3339),
		EventSource:        eventSources[e.API],
		EventName:          e.API,
		AWSRegion:          p.region,
		SourceIPAddress:    p.sourceIP,
		UserAgent:          p.userAgent,
		RequestID:          uuid(r),
		EventID:            uuid(r),
		ReadOnly:           strings.HasPrefix(e.API, "Describe") || strings.HasPrefix(e.API, "List") || strings.HasPrefix(e.API, "Get") || strings.HasPrefix(e.API, "Lookup"),
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: p.AccountID,
		EventCategory:      "Management",
	}
	if p.issuerARN != "" {
		issuer := ctIssuer{Type: "Role", PrincipalID: strings.Split(p.principalID, ":")[0], ARN: p.issuerARN, AccountID: p.AccountID}
		issuer.UserName = issuer.ARN[strings.LastIndexByte(issuer.ARN, '/')+1:]
		rec.UserIdentity.SessionContext = &ctSession{
			SessionIssuer: issuer,
			Attributes: map[string]string{
				"creationDate":     e.Time.UTC().Truncate(time.Hour).Format(time.RFC3339),
				"mfaAuthenticated": "false",
			},
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("apicalls: event %d: %w", i, err)
	}
	return b, nil
}

// WriteCloudTrail writes every event as one CloudTrail JSON record per line.
func (ds *Dataset) WriteCloudTrail(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for i := range ds.Events {
		b, err := ds.CloudTrailRecord(i)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("apicalls: write CloudTrail: %w", err)
	}
	return nil
}

func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}
