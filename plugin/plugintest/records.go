// Package plugintest makes Fluent Bit chunks of CloudTrail, GuardDuty, Zeek Kerberos and other
// records for the plugin's tests and benchmarks, and holds the plugin's integration tests (the
// real .so inside plugin/flbtest, against a real Elasticsearch).
package plugintest

import (
	"fmt"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Base is the event time of record 0; record i is i seconds later.
var Base = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Body is one record body with the kind the router must give it.
type Body struct {
	Kind ecs.Kind
	Map  map[string]any
}

// CloudTrail returns the i-th of a family of distinct CloudTrail events.
func CloudTrail(i int) map[string]any {
	t := Base.Add(time.Duration(i) * time.Second)
	return map[string]any{
		"eventVersion":       "1.08",
		"eventTime":          t.Format(time.RFC3339),
		"eventSource":        "iam.amazonaws.com",
		"eventName":          []string{"GetUser", "ListUsers", "AssumeRole", "CreateAccessKey"}[i%4],
		"eventID":            fmt.Sprintf("ct-%08d", i),
		"awsRegion":          "eu-west-1",
		"sourceIPAddress":    fmt.Sprintf("198.51.%d.%d", i/250%250, i%250+1),
		"recipientAccountId": "123456789012",
		"userAgent":          "aws-cli/2.15.0",
		"userIdentity": map[string]any{
			"type":        "IAMUser",
			"userName":    fmt.Sprintf("user%d", i%50),
			"principalId": fmt.Sprintf("AIDA%06d", i%50),
			"accountId":   "123456789012",
		},
	}
}

// GuardDuty returns the i-th of a family of distinct GuardDuty findings.
func GuardDuty(i int) map[string]any {
	t := Base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	return map[string]any{
		"schemaVersion": "2.0",
		"id":            fmt.Sprintf("gd%030d", i),
		"type":          "Recon:EC2/PortProbeUnprotectedPort",
		"severity":      float64(i%8) + 0.5,
		"title":         "Unprotected port on EC2 instance is being probed",
		"accountId":     "123456789012",
		"region":        "eu-west-1",
		"partition":     "aws",
		"createdAt":     t,
		"updatedAt":     t,
		"service": map[string]any{
			"serviceName": "guardduty",
			"action": map[string]any{
				"actionType": "PORT_PROBE",
				"portProbeAction": map[string]any{
					"portProbeDetails": []any{map[string]any{
						"remoteIpDetails": map[string]any{"ipAddressV4": fmt.Sprintf("203.0.113.%d", i%250+1)},
					}},
				},
			},
		},
	}
}

// Kerberos returns the i-th of a family of distinct Zeek kerberos.log rows, as Zeek's JSON
// writer emits them.
func Kerberos(i int) map[string]any {
	ts := float64(Base.Add(time.Duration(i)*time.Second).UnixMicro()) / 1e6
	return map[string]any{
		"ts":           ts,
		"uid":          fmt.Sprintf("Ck%010d", i),
		"id.orig_h":    fmt.Sprintf("10.1.%d.%d", i/250%250, i%250+1),
		"id.orig_p":    int64(49152 + i%16000),
		"id.resp_h":    "10.0.0.4",
		"id.resp_p":    int64(88),
		"request_type": []string{"AS", "TGS"}[i%2],
		"client":       fmt.Sprintf("user%d/CORP.EXAMPLE", i%40),
		"service":      "krbtgt/CORP.EXAMPLE",
		"success":      i%17 != 0,
		"cipher":       "aes256-cts-hmac-sha1-96",
	}
}

// Generic returns the i-th of a family of records no processor recognises (they ship as is).
func Generic(i int) map[string]any {
	return map[string]any{
		"message": fmt.Sprintf("GET /health %d", i),
		"host":    map[string]any{"name": fmt.Sprintf("web-%d", i%7)},
		"seq":     int64(i),
	}
}

// Mixed returns n bodies, cycling through the four kinds; body i is Mixed(n)[i] for any n > i.
func Mixed(n int) []Body {
	out := make([]Body, n)
	for i := range out {
		switch i % 4 {
		case 0:
			out[i] = Body{ecs.KindCloudTrail, CloudTrail(i)}
		case 1:
			out[i] = Body{ecs.KindGuardDuty, GuardDuty(i)}
		case 2:
			out[i] = Body{ecs.KindKerberos, Kerberos(i)}
		default:
			out[i] = Body{ecs.KindGeneric, Generic(i)}
		}
	}
	return out
}

// Chunk encodes bodies as one v2 chunk, stamped Base + i seconds.
func Chunk(bodies []Body) ([]byte, error) {
	var e decodetest.Encoder
	for i, b := range bodies {
		e.V2(decodetest.EventTime(Base.Add(time.Duration(i)*time.Second)), nil, b.Map)
	}
	return e.Chunk()
}

// PublishBundle writes a model bundle with no model sections, versioned at, to path, as the
// trainer publishes one, signed with key when it is set. Records scored with it say which bundle
// scored them; every part reports its section missing.
func PublishBundle(path string, at time.Time, key []byte) (*bundle.Bundle, error) {
	b, err := bundle.New(bundle.Header{
		Version:     bundle.Version{Time: at},
		TrainedAt:   at,
		WindowStart: at.Add(-24 * time.Hour),
		WindowEnd:   at,
	})
	if err != nil {
		return nil, err
	}
	return b, bundle.Publish(path, b, bundle.DecodeOptions{Key: key})
}
