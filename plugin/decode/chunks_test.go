package decode_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
)

// Chunks shared by the benchmarks and the fuzz seed corpus.

var chunkEpoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// stringsChunk is n v2 events of ten ~45-byte string fields: the case
// measured for fluent-bit-go in the ABI reference (2000 events ≈ 1 MB).
func stringsChunk(tb testing.TB, n int) []byte {
	return build(tb, func(e *decodetest.Encoder) {
		for i := range n {
			body := make(map[string]any, 10)
			for f := range 10 {
				body[fmt.Sprintf("field_%02d", f)] = fmt.Sprintf("value %04d/%02d %s", i, f, strings.Repeat("x", 30))
			}
			e.V2(decodetest.EventTime(chunkEpoch.Add(time.Duration(i)*time.Millisecond)), nil, body)
		}
	})
}

// cloudTrailChunk is n v2 events shaped like CloudTrail S3 data events and
// IAM management events.
func cloudTrailChunk(tb testing.TB, n int) []byte {
	return build(tb, func(e *decodetest.Encoder) {
		for i := range n {
			e.V2(decodetest.EventTime(chunkEpoch.Add(time.Duration(i)*time.Second)),
				map[string]any{"source": "s3://trail-bucket/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/06/x.json.gz"},
				cloudTrailRecord(i))
		}
	})
}

func cloudTrailRecord(i int) map[string]any {
	user := fmt.Sprintf("user%03d", i%37)
	rec := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type":        "AssumedRole",
			"principalId": "AROAEXAMPLEID4567890:" + user,
			"arn":         "arn:aws:sts::123456789012:assumed-role/DataEngineer/" + user,
			"accountId":   "123456789012",
			"accessKeyId": fmt.Sprintf("ASIAEXAMPLE%09d", i),
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{
					"type":        "Role",
					"principalId": "AROAEXAMPLEID4567890",
					"arn":         "arn:aws:iam::123456789012:role/DataEngineer",
					"accountId":   "123456789012",
					"userName":    "DataEngineer",
				},
				"attributes": map[string]any{
					"creationDate":     chunkEpoch.Add(-time.Hour).Format(time.RFC3339),
					"mfaAuthenticated": "false",
				},
			},
		},
		"eventTime":          chunkEpoch.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
		"awsRegion":          "us-east-1",
		"sourceIPAddress":    fmt.Sprintf("203.0.%d.%d", i%256, (i*7)%256),
		"userAgent":          "[aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe command/s3.cp]",
		"requestID":          fmt.Sprintf("%016X", i*2654435761),
		"eventID":            fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i, i*31),
		"eventType":          "AwsApiCall",
		"recipientAccountId": "123456789012",
		"tlsDetails": map[string]any{
			"tlsVersion":               "TLSv1.3",
			"cipherSuite":              "TLS_AES_128_GCM_SHA256",
			"clientProvidedHostHeader": "analytics-raw.s3.us-east-1.amazonaws.com",
		},
	}
	if i%4 == 3 {
		rec["eventSource"] = "iam.amazonaws.com"
		rec["eventName"] = "ListAttachedRolePolicies"
		rec["readOnly"] = true
		rec["managementEvent"] = true
		rec["eventCategory"] = "Management"
		rec["requestParameters"] = map[string]any{"roleName": "DataEngineer", "maxItems": int64(100)}
		rec["responseElements"] = nil
		return rec
	}
	key := fmt.Sprintf("raw/2024/05/06/part-%05d.parquet", i)
	rec["eventSource"] = "s3.amazonaws.com"
	rec["eventName"] = "GetObject"
	rec["readOnly"] = true
	rec["managementEvent"] = false
	rec["eventCategory"] = "Data"
	rec["requestParameters"] = map[string]any{
		"bucketName": "analytics-raw",
		"Host":       "analytics-raw.s3.us-east-1.amazonaws.com",
		"key":        key,
	}
	rec["responseElements"] = nil
	rec["additionalEventData"] = map[string]any{
		"SignatureVersion":     "SigV4",
		"CipherSuite":          "TLS_AES_128_GCM_SHA256",
		"bytesTransferredIn":   0.0,
		"AuthenticationMethod": "AuthHeader",
		"x-amz-id-2":           "Xq3Example+zP1Example/9d2ExampleKLmNoPqRsTuVwXyZ0123456789abcdefGHIJ=",
		"bytesTransferredOut":  float64(1024 * (i%500 + 1)),
	}
	rec["resources"] = []any{
		map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::analytics-raw/" + key},
		map[string]any{"accountId": "123456789012", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::analytics-raw"},
	}
	return rec
}
