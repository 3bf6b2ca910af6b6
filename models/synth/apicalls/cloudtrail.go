package apicalls

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/siemscore/siemscore/models/synth/internal/cloudtrail"
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

// record renders event i. Its IDs are derived from the seed and i.
func (ds *Dataset) record(i int) cloudtrail.Record {
	e := ds.Events[i]
	p := &ds.Principals[e.Principal]
	arn, principalID := p.ARN, p.principalID
	if p.Renews && !e.Time.Before(ds.Config.Start.AddDate(0, 0, 1)) {
		// The day's run has its own session: i-<hex> from the role's first session and the day.
		base, _, _ := strings.Cut(principalID, ":")
		session := fmt.Sprintf("i-%017x", xxhash.Sum64String(fmt.Sprint(p.ARN, e.Time.Sub(ds.Config.Start)/(24*time.Hour)))>>4)
		arn = arn[:strings.LastIndexByte(arn, '/')+1] + session
		principalID = base + ":" + session
	}
	id := cloudtrail.Identity{
		Type:        p.identityType,
		PrincipalID: principalID,
		ARN:         arn,
		AccountID:   p.AccountID,
		AccessKeyID: p.accessKeyID,
		UserName:    p.userName,
	}
	if p.issuerARN != "" {
		issuer := cloudtrail.Issuer{Type: "Role", PrincipalID: strings.Split(p.principalID, ":")[0], ARN: p.issuerARN, AccountID: p.AccountID}
		issuer.UserName = issuer.ARN[strings.LastIndexByte(issuer.ARN, '/')+1:]
		id.SessionContext = cloudtrail.RoleSession(issuer, e.Time.Truncate(time.Hour))
	}
	return cloudtrail.APICall(cloudtrail.Call{
		Version:  "1.08",
		Identity: id,
		Time:     e.Time,
		Source:   eventSources[e.API],
		Name:     e.API,
		Region:   p.region,
		IP:       p.sourceIP,
		Agent:    p.userAgent,
		ReadOnly: strings.HasPrefix(e.API, "Describe") || strings.HasPrefix(e.API, "List") || strings.HasPrefix(e.API, "Get") || strings.HasPrefix(e.API, "Lookup"),
	}, ds.rng(1<<48+uint64(i)))
}

// CloudTrailRecord returns event i as a CloudTrail JSON record (the form of one element of a
// CloudTrail log file's "Records" array). Its IDs are derived from the seed and i.
func (ds *Dataset) CloudTrailRecord(i int) ([]byte, error) {
	if i < 0 || i >= len(ds.Events) {
		return nil, fmt.Errorf("apicalls: event %d of %d", i, len(ds.Events))
	}
	b, err := json.Marshal(ds.record(i))
	if err != nil {
		return nil, fmt.Errorf("apicalls: event %d: %w", i, err)
	}
	return b, nil
}

// WriteCloudTrail writes every event as one CloudTrail JSON record per line.
func (ds *Dataset) WriteCloudTrail(w io.Writer) error {
	if err := cloudtrail.WriteLines(w, len(ds.Events), ds.record); err != nil {
		return fmt.Errorf("apicalls: %w", err)
	}
	return nil
}
