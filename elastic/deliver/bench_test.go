package deliver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/processors/ecs"
)

const benchChunk = 500 // records per chunk: ~650 KB encoded, a typical Fluent Bit chunk

// benchDocs returns CloudTrail-like documents of realistic size (~1.3 KB encoded).
func benchDocs(n int) []*ecs.Document {
	docs := make([]*ecs.Document, n)
	for i := range docs {
		docs[i] = &ecs.Document{
			Timestamp: time.Date(2024, 3, 1, 0, 0, i, 0, time.UTC),
			ECS:       ecs.ECSInfo{Version: ecs.Version},
			Event: ecs.Event{Kind: "event", Category: []string{"iam"}, Type: []string{"info"}, Action: "AssumeRole",
				Provider: "sts.amazonaws.com", Outcome: "success", ID: fmt.Sprintf("ev-%d", i),
				Dataset: "siemscore.cloudtrail", RiskScoreNorm: ecs.Float(12.5)},
			Source:    &ecs.Endpoint{Address: "198.51.100.7", IP: netip.MustParseAddr("198.51.100.7")},
			User:      &ecs.User{Name: fmt.Sprintf("user%d", i%50), ID: "AIDAEXAMPLE"},
			UserAgent: &ecs.UserAgent{Original: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"},
			Cloud:     &ecs.Cloud{Provider: "aws", Region: "eu-west-1", Account: ecs.CloudAccount{ID: "123456789012"}},
			Related:   &ecs.Related{IP: []netip.Addr{netip.MustParseAddr("198.51.100.7")}, User: []string{fmt.Sprintf("user%d", i%50)}},
			AWS: &ecs.AWS{CloudTrail: &ecs.CloudTrail{
				UserIdentity:      ecs.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/u", AccessKeyID: "AKIAEXAMPLE"},
				RequestID:         "0f9c1f7e-1234-4a5b-9c8d-0123456789ab",
				EventType:         "AwsApiCall",
				EventVersion:      "1.08",
				EventCategory:     "Management",
				ManagementEvent:   "true",
				ReadOnly:          ecs.Bool(true),
				RequestParameters: `{"roleArn":"arn:aws:iam::123456789012:role/deploy","roleSessionName":"ci"}`,
				Flattened: ecs.CloudTrailFlat{
					RequestParameters: `{"durationSeconds":3600,"roleArn":"arn:aws:iam::123456789012:role/deploy","roleSessionName":"ci"}`,
				},
			}},
			SiemScore: ecs.SiemScore{
				Model: ecs.ModelInfo{Version: "2024.03.01", Status: ecs.ModelScored},
				IP: ecs.IPScore{Status: ecs.PartScored, Entity: "user", Score: ecs.Float(0.42), ScoreNorm: ecs.Float(12.5),
					Severity: ecs.SeverityWarning, Reasons: []string{"ip_seen_before"}},
				API: ecs.APIScore{Status: ecs.PartScored, Automated: ecs.Bool(false), Periodicity: ecs.Float(0.1),
					ScoreNorm: ecs.Float(3), Severity: ecs.SeverityWarning},
			},
		}
	}
	return docs
}

// benchChunks hands out chunks of distinct records (new _ids, shared documents), so every
// delivery creates documents instead of meeting 409s.
type benchChunks struct {
	mu   sync.Mutex
	docs []*ecs.Document
	tag  string
	next int
}

func (c *benchChunks) take() []ecs.Record {
	c.mu.Lock()
	from := c.next
	c.next += len(c.docs)
	c.mu.Unlock()
	recs := make([]ecs.Record, len(c.docs))
	for i, d := range c.docs {
		recs[i] = ecs.Record{Kind: ecs.KindCloudTrail, ID: fmt.Sprintf("%s-%09d", c.tag, from+i), Doc: d}
	}
	return recs
}

// runBench delivers chunks from workers goroutines and reports records/s, the share of time
// spent encoding, and bytes per chunk.
func runBench(b *testing.B, d *deliver.Deliverer, chunks *benchChunks, workers int) {
	var mu sync.Mutex
	var records, bytes int
	var encode, request time.Duration
	b.ReportAllocs()
	runOne := func() {
		o := d.Deliver(context.Background(), chunks.take())
		if o.Status != deliver.OK {
			b.Fatalf("%+v", o)
		}
		mu.Lock()
		records += o.Created
		bytes += o.Bytes
		encode += o.EncodeTime
		request += o.RequestTime
		mu.Unlock()
	}
	start := time.Now()
	if workers == 1 {
		for b.Loop() {
			runOne()
		}
	} else {
		var wg sync.WaitGroup
		n := b.N
		work := make(chan struct{}, n)
		for range n {
			work <- struct{}{}
		}
		close(work)
		b.ResetTimer()
		start = time.Now()
		for range workers {
			wg.Go(func() {
				for range work {
					runOne()
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	chunksDone := records / benchChunk
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(100*encode.Seconds()/(encode+request).Seconds(), "%encode")
	b.ReportMetric(float64(bytes)/float64(max(chunksDone, 1)), "body-B/chunk")
}

// BenchmarkDeliverNullES measures the shipper's own cost: encoding, HTTP and response parsing
// against a server that answers at once.
func BenchmarkDeliverNullES(b *testing.B) {
	srv := httptest.NewServer(&fakeBulk{})
	defer srv.Close()
	d := newDeliverer(b, srv.URL, "bench", nil)
	runBench(b, d, &benchChunks{docs: benchDocs(benchChunk), tag: "null"}, 1)
}

// BenchmarkDeliverElasticsearch measures delivery into the real server, with one worker and
// with four concurrent flushes (Fluent Bit `workers 4`).
func BenchmarkDeliverElasticsearch(b *testing.B) {
	url := estest.URL(b)
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ns := readertest.Namespace(b, url)
			d := newDeliverer(b, url, ns, nil)
			runBench(b, d, &benchChunks{docs: benchDocs(benchChunk), tag: ns}, workers)
		})
	}
}

// BenchmarkEncodeChunk isolates encoding a chunk (what EncodeTime measures) for comparison.
func BenchmarkEncodeChunk(b *testing.B) {
	docs := benchDocs(benchChunk)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = 0
		for _, d := range docs {
			body, err := d.MarshalJSON()
			if err != nil {
				b.Fatal(err)
			}
			n += len(body)
		}
	}
	b.ReportMetric(float64(benchChunk)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n), "doc-B/chunk")
}
