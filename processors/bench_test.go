package processors_test

import (
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
)

// A realistic CloudTrail event (an assumed-role API call with TLS details, request and response
// objects), as the Fluent Bit decoder hands it over: integers as int64.
const benchCloudTrail = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA123456789EXAMPLE:bob.ross","arn":"arn:aws:sts::123456789012:assumed-role/DevAdmin/bob.ross","accountId":"123456789012","accessKeyId":"ASIA123456789EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA123456789EXAMPLE","arn":"arn:aws:iam::123456789012:role/DevAdmin","accountId":"123456789012","userName":"DevAdmin"},"webIdFederationData":{},"attributes":{"creationDate":"2024-05-06T07:00:00Z","mfaAuthenticated":"true"}}},"eventTime":"2024-05-06T07:08:09Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.50","userAgent":"aws-cli/2.13.5 Python/3.11.4 Linux/5.15 botocore/2.0","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]},"maxResults":100},"responseElements":null,"requestID":"4f1a2b3c-1111-2222-3333-444455556666","eventID":"a1b2c3d4-5555-6666-7777-888899990000","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}`

const benchKerberos = `{"ts":1588205199.832602,"uid":"CAbcDef12345678gh","id.orig_h":"10.0.1.6","id.orig_p":56880,"id.resp_h":"10.0.0.4","id.resp_p":88,"request_type":"TGS","client":"alice/EXAMPLE.LOCAL","service":"cifs/fs1.example.local","success":true,"till":2136422885.0,"cipher":"aes256-cts-hmac-sha1-96","forwardable":true,"renewable":true}`

func benchBody(b *testing.B, js string) map[string]any {
	v, err := fuzzbody.Decode([]byte(js), fuzzbody.Ints)
	if err != nil {
		b.Fatal(err)
	}
	return v.(map[string]any)
}

// benchAppend measures the hot path: the body, as Fluent Bit's msgpack, is decoded into a
// Batch's tree and routed into a record, the Batch rewound for every body as a flush worker
// does. Once the Batch has grown this allocates nothing.
func benchAppend(b *testing.B, m map[string]any) {
	p, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := msgp.AppendIntf(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	var (
		batch processors.Batch
		ids   processors.Chunk
	)
	batch.Reset(raw)
	fb := time.Now()
	recs := make([]ecs.Record, 0, 1)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		batch.Rewind()
		ids.Reset()
		ev, err := batch.Tree().Decode(0, len(raw))
		if err != nil {
			b.Fatal(err)
		}
		recs = p.AppendBody(recs[:0], &batch, ev, fb, &ids)
	}
	if len(recs) != 1 || recs[0].Doc.Event.Kind == "pipeline_error" {
		b.Fatalf("unexpected records %+v", recs)
	}
}

// BenchmarkAppendMap is the convenience path for bodies already decoded into Go values (files,
// tests): the map is copied into a tree of its own first.
func BenchmarkAppendMap(b *testing.B) {
	p, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	m := benchBody(b, benchCloudTrail)
	fb := time.Now()
	recs := make([]ecs.Record, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		recs = p.Append(recs[:0], m, fb)
	}
}

func BenchmarkAppendCloudTrail(b *testing.B) { benchAppend(b, benchBody(b, benchCloudTrail)) }

func BenchmarkAppendKerberos(b *testing.B) { benchAppend(b, benchBody(b, benchKerberos)) }

// BenchmarkAppendCloudTrailInLog is the tail-input case: the event is a JSON string under "log"
// and has to be decoded first.
func BenchmarkAppendCloudTrailInLog(b *testing.B) {
	benchAppend(b, map[string]any{"log": benchCloudTrail, "stream": "stdout"})
}
