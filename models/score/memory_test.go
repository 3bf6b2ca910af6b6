package score_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/models/internal/heaptest"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// A cardinality attack on the real scoring path: a million CloudTrail calls, each from a
// principal, an address and for an API never seen before (so a new IP entity and a new
// (principal, API) pair each), and a million Kerberos requests, each from a new source host to a
// new server for a new client and service. The events go through the plugin's decoder (whose
// strings share each event's bytes) and the processors, and are scored with a trained bundle.
// The live heap must stay under score.MaxStateBytes, and stop growing once the tables are full.
func TestScorerMemoryIsBoundedUnderACardinalityAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("scores two million records")
	}
	const (
		perKind = 1_000_000
		chunk   = 1000
		step    = 10 * time.Millisecond // 2.8 hours of records: Kerberos windows fill
	)
	sc := score.New()
	if err := sc.Load(bundletest.Full(t)); err != nil {
		t.Fatal(err)
	}
	proc, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := heaptest.Live()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ctCounted, krbScored, krbIncomplete int
	var recs []ecs.Record
	var batch processors.Batch
	var heaps []uint64
	for start := 0; start < perKind; start += chunk {
		var e decodetest.Encoder
		for i := start; i < start+chunk; i++ {
			when := at.Add(time.Duration(i) * step)
			e.V2(decodetest.EventTime(when), nil, cloudTrailCall(i, when))
			e.V2(decodetest.EventTime(when), nil, kerberosRequest(i, when))
		}
		data, err := e.Chunk()
		if err != nil {
			t.Fatal(err)
		}
		batch.Reset(data)
		d := decode.New(batch.Tree())
		for d.Next() {
			ev := d.Event()
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			recs = proc.AppendBody(recs[:0], &batch, ev.Body, ev.Time, nil)
			for i := range recs {
				sc.Score(&recs[i])
				ss := &recs[i].Doc.SiemScore
				switch {
				case recs[i].Kind == ecs.KindCloudTrail && ss.IP.Status == ecs.PartScored && ss.API.DayCount == ecs.Int(1):
					ctCounted++ // scored by the IP model, and a fresh pair in the day counts
				case recs[i].Kind == ecs.KindKerberos && ss.Kerberos.Status == ecs.PartScored:
					krbScored++
				case recs[i].Kind == ecs.KindKerberos && slices.Equal(ss.Kerberos.Reasons, []string{score.ReasonWindowIncomplete}):
					krbIncomplete++ // counted in its host's window, which is not an hour old yet
				default:
					t.Fatalf("%v record: siemscore %+v", recs[i].Kind, *ss)
				}
			}
		}
		if err := d.Err(); err != nil {
			t.Fatal(err)
		}
		if done := start + chunk; done == perKind/4 || done == perKind/2 || done == perKind {
			heap := heaptest.Live() - base
			heaps = append(heaps, heap)
			t.Logf("%7d calls and requests: heap %.1f MiB (bound %.1f MiB)", done, float64(heap)/(1<<20), float64(score.MaxStateBytes)/(1<<20))
			if heap > score.MaxStateBytes {
				t.Fatalf("heap %d bytes after %d records of each kind, bound %d", heap, done, score.MaxStateBytes)
			}
		}
	}
	t.Logf("%d CloudTrail calls scored and counted; Kerberos requests: %d scored, %d in the first hour", ctCounted, krbScored, krbIncomplete)
	if ctCounted != perKind || krbScored+krbIncomplete != perKind || krbScored < perKind/2 {
		t.Error("every record must go through the parts that keep state")
	}
	// Full tables evict instead of growing: the second half of the attack adds (almost) nothing.
	if half, all := heaps[1], heaps[2]; all > half+half/10 {
		t.Errorf("heap grew from %d to %d bytes over the second half of the attack", half, all)
	}
}

func cloudTrailCall(i int, when time.Time) map[string]any {
	return map[string]any{
		"eventVersion":    "1.08",
		"eventTime":       when.Format(time.RFC3339Nano),
		"eventSource":     "iam.amazonaws.com",
		"eventName":       fmt.Sprintf("Api%07d", i),
		"eventID":         fmt.Sprintf("ct-%08d", i),
		"awsRegion":       "eu-west-1",
		"sourceIPAddress": fmt.Sprintf("%d.%d.%d.%d", 11+i>>24, byte(i>>16), byte(i>>8), byte(i)),
		"userIdentity": map[string]any{
			"type":        "IAMUser",
			"principalId": fmt.Sprintf("AIDA%016d", i),
			"arn":         fmt.Sprintf("arn:aws:iam::123456789012:user/u%07d", i),
			"accountId":   "123456789012",
			"userName":    fmt.Sprintf("u%07d", i),
		},
	}
}

func kerberosRequest(i int, when time.Time) map[string]any {
	return map[string]any{
		"ts":           float64(when.UnixMicro()) / 1e6,
		"uid":          fmt.Sprintf("Ck%010d", i),
		"id.orig_h":    fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i)),
		"id.orig_p":    int64(49152),
		"id.resp_h":    fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff),
		"id.resp_p":    int64(88),
		"request_type": "TGS",
		"client":       fmt.Sprintf("user%d/CORP.EXAMPLE", i),
		"service":      fmt.Sprintf("cifs/host%d.corp.example", i),
		"success":      true,
		"cipher":       "rc4-hmac",
	}
}
