package deliver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/esfault"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/elastic/template"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// These tests run against the real Elasticsearch (elastic/estest); esfault sits in front of it
// where a failure must be forced.

func TestCreateThenIdempotentResend(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	d := newDeliverer(t, url, ns, func(c *deliver.Config) { c.MaxBatchDocs = 37 }) // several requests per chunk
	recs := makeRecords(ns, 0, 400)

	o := d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 400 || o.Duplicates != 0 {
		t.Fatalf("first delivery: %+v", o)
	}
	for _, k := range allKinds {
		if n := count(t, url, target.DataStream(k.String(), ns)); n != 100 {
			t.Errorf("%s: %d documents, want 100", k, n)
		}
	}

	// Fluent Bit re-sends a chunk it got RETRY for: every record is then a 409.
	o = d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 0 || o.Duplicates != 400 {
		t.Fatalf("re-sent chunk: %+v", o)
	}
	// A chunk half old, half new.
	o = d.Deliver(context.Background(), makeRecords(ns, 200, 400))
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 200 || o.Duplicates != 200 {
		t.Fatalf("overlapping chunk: %+v", o)
	}
	if n := count(t, url, streams(ns)...); n != 600 {
		t.Errorf("%d documents, want 600 (each record exactly once)", n)
	}

	var found struct {
		Hits struct {
			Hits []struct {
				Source struct {
					DataStream map[string]string `json:"data_stream"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	ds := target.DataStream("kerberos", ns)
	esCall(t, url, http.MethodPost, "/"+ds+"/_search", `{"query":{"ids":{"values":["`+recs[3].ID+`"]}}}`, &found)
	if h := found.Hits.Hits; len(h) != 1 || h[0].Source.DataStream["dataset"] != "siemscore.kerberos" || h[0].Source.DataStream["namespace"] != ns {
		t.Errorf("documents must name their data stream: %+v", h)
	}
	if s := d.Stats(); s.Chunks != 3 || s.Delivered != 600 || s.Duplicates != 600 || s.FailedChunks != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestFixedIndex(t *testing.T) {
	url := estest.URL(t)
	index := estest.CreateIndex(t, "siemscore-fixed", "")
	ns := estest.Namespace(t)
	d := newDeliverer(t, url, ns, func(c *deliver.Config) { c.Index = index })
	o := d.Deliver(context.Background(), makeRecords(ns, 0, 50))
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 50 || count(t, url, index) != 50 {
		t.Fatalf("%+v, %d in %s", o, count(t, url, index), index)
	}
}

func TestItem429StormIsRetriedInProcess(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	// A third of the items are refused on their first two attempts.
	p.SetItemFault(esfault.Storm(http.StatusTooManyRequests, 1.0/3, 2))
	d := newDeliverer(t, p.URL(), ns, nil)
	recs := makeRecords(ns, 0, 300)

	o := d.Deliver(context.Background(), recs)
	checkSums(t, o)
	faked := p.Stats().Faked[http.StatusTooManyRequests]
	if o.Status != deliver.OK || o.Created != 300 {
		t.Fatalf("%+v", o)
	}
	if faked < 120 || faked > 280 || o.Retried != faked {
		t.Errorf("proxy refused %d items; %d re-sends reported (want equal, about 200)", faked, o.Retried)
	}
	if n := count(t, url, streams(ns)...); n != 300 {
		t.Errorf("%d documents, want 300", n)
	}
}

func TestItem5xxPersistingGivesRetryThenFluentBitResendCompletes(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	p.SetItemFault(esfault.Storm(http.StatusServiceUnavailable, 0.25, 0)) // never recovers by itself
	d := newDeliverer(t, p.URL(), ns, func(c *deliver.Config) { c.RetryBudget = 2 * time.Second })
	recs := makeRecords(ns, 0, 200)

	o := d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.Retry || o.Unacknowledged() == 0 || o.Created == 0 || o.Retried == 0 {
		t.Fatalf("want Retry with some created, some unacknowledged, some re-sent: %+v", o)
	}
	if !strings.Contains(o.Err.Error(), "retry budget") || !strings.Contains(o.Err.Error(), "503") {
		t.Errorf("error should say the budget ran out on 503s: %v", o.Err)
	}
	firstCreated, missing := o.Created, o.Unacknowledged()

	p.SetItemFault(nil)
	o = d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Duplicates != firstCreated || o.Created != missing {
		t.Fatalf("resend: %+v (first attempt created %d, left %d)", o, firstCreated, missing)
	}
	if n := count(t, url, streams(ns)...); n != 200 {
		t.Errorf("%d documents, want 200", n)
	}
	if s := d.Stats(); s.FailedChunks != 1 || s.Chunks != 2 {
		t.Errorf("stats %+v", s)
	}
}

// deadLetters returns the dead-letter documents of a namespace, by record ID.
func deadLetters(t *testing.T, url, ns string) map[string]ecs.DeadLetterDocument {
	t.Helper()
	dl := target.DeadLetter(ns)
	count(t, url, dl) // refresh
	var res struct {
		Hits struct {
			Hits []struct {
				Source ecs.DeadLetterDocument `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	esCall(t, url, http.MethodGet, "/"+dl+"/_search?size=100&ignore_unavailable=true", "", &res)
	out := map[string]ecs.DeadLetterDocument{}
	for _, h := range res.Hits.Hits {
		out[h.Source.SiemScore.DeadLetter.ID] = h.Source
	}
	return out
}

func TestMappingConflictIsDeadLettered(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	d := newDeliverer(t, url, ns, nil)

	// The passthrough field "kubernetes" first arrives as an object...
	first := makeRecords(ns, 0, 4, ecs.KindGeneric)
	for _, r := range first {
		r.Doc.Passthrough = `{"kubernetes":{"pod":"a"}}`
	}
	if o := d.Deliver(context.Background(), first); o.Status != deliver.OK || o.Created != 4 {
		t.Fatalf("%+v", o)
	}
	// ...then as a string: Elasticsearch rejects those documents for good (HTTP 400).
	second := makeRecords(ns, 4, 6, ecs.KindGeneric)
	for i, r := range second {
		if i%2 == 0 {
			r.Doc.Passthrough = `{"kubernetes":"pod-a"}`
		}
	}
	o := d.Deliver(context.Background(), second)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 3 || o.DeadLettered != 3 {
		t.Fatalf("%+v", o)
	}
	dls := deadLetters(t, url, ns)
	if len(dls) != 3 {
		t.Fatalf("%d dead letters, want 3: %v", len(dls), dls)
	}
	for i, r := range second {
		dl, ok := dls[r.ID]
		if ok != (i%2 == 0) {
			t.Errorf("record %s: dead-lettered=%v", r.ID, ok)
			continue
		}
		if !ok {
			continue
		}
		x := dl.SiemScore.DeadLetter
		if dl.Error.Type != "document_parsing_exception" || !strings.Contains(dl.Error.Message, "kubernetes") {
			t.Errorf("error: %+v", dl.Error)
		}
		if x.Status != http.StatusBadRequest || x.Index != target.DataStream("generic", ns) || x.Kind != "generic" {
			t.Errorf("dead letter: %+v", x)
		}
		if !strings.Contains(x.Original, `"kubernetes":"pod-a"`) || !strings.Contains(x.Original, `"name":"`+r.Doc.User.Name+`"`) {
			t.Errorf("original not kept: %s", x.Original)
		}
		if dl.Timestamp.IsZero() || time.Since(dl.Timestamp) > time.Hour {
			t.Errorf("dead-letter time %v", dl.Timestamp)
		}
	}

	// The re-sent chunk dead-letters nothing twice.
	o = d.Deliver(context.Background(), second)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Duplicates != 3 || o.DeadLettered != 3 {
		t.Fatalf("resend: %+v", o)
	}
	if n := count(t, url, target.DeadLetter(ns)); n != 3 {
		t.Errorf("%d dead letters after the re-send, want 3", n)
	}
}

func TestDeadLetterWriteFailureIsRetry(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	dl := target.DeadLetter(ns)
	rejected := func(it esfault.Item) bool { return strings.HasSuffix(it.ID, "0") }
	p.SetItemFault(func(it esfault.Item) int {
		switch {
		case it.Index == dl && it.Seen == 0:
			return http.StatusTooManyRequests // the first dead-letter write is pushed back once...
		case it.Index == dl:
			return 0
		case rejected(it):
			return http.StatusBadRequest
		}
		return 0
	})
	d := newDeliverer(t, p.URL(), ns, nil)
	recs := makeRecords(ns, 0, 30)
	o := d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.OK || o.DeadLettered != 3 || o.Created != 27 || o.Retried != 3 {
		t.Fatalf("...and then succeeds: %+v", o)
	}

	// A dead-letter target that rejects too: the chunk cannot be acknowledged.
	p.SetItemFault(func(it esfault.Item) int {
		if it.Index == dl || rejected(it) {
			return http.StatusBadRequest
		}
		return 0
	})
	recs = makeRecords(ns, 100, 30)
	o = d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.Retry || o.DeadLettered != 0 || !strings.Contains(o.Err.Error(), "dead-letter") {
		t.Fatalf("%+v", o)
	}
}

func TestWholeRequestFaults(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	d := newDeliverer(t, p.URL(), ns, nil)

	t.Run("503 then fine: the client retries the request", func(t *testing.T) {
		p.SetRequestFault(func(_ *http.Request, n int) esfault.Fault {
			if n < 2 {
				return esfault.Fault{Status: http.StatusServiceUnavailable}
			}
			return esfault.Fault{}
		})
		defer p.SetRequestFault(nil)
		o := d.Deliver(context.Background(), makeRecords(ns, 0, 20))
		if checkSums(t, o); o.Status != deliver.OK || o.Created != 20 {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("connection resets: RETRY", func(t *testing.T) {
		p.SetRequestFault(func(*http.Request, int) esfault.Fault { return esfault.Fault{Reset: true} })
		defer p.SetRequestFault(nil)
		o := d.Deliver(context.Background(), makeRecords(ns, 100, 20))
		if checkSums(t, o); o.Status != deliver.Retry || o.Unacknowledged() != 20 {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("answer lost after indexing: RETRY, then the re-send finds duplicates", func(t *testing.T) {
		recs := makeRecords(ns, 200, 20)
		p.SetRequestFault(once(esfault.Fault{ResetAfterForward: true}))
		noRetry := newDelivererVia(t, newClient(t, p.URL(), func(c *esclient.Config) { c.MaxRetries = 0 }), ns, nil)
		o := noRetry.Deliver(context.Background(), recs)
		if checkSums(t, o); o.Status != deliver.Retry || o.Unacknowledged() != 20 {
			t.Fatalf("%+v", o)
		}
		o = d.Deliver(context.Background(), recs)
		if checkSums(t, o); o.Status != deliver.OK || o.Duplicates != 20 {
			t.Fatalf("re-send: %+v", o)
		}
		// esclient re-sends the request itself after the lost answer: it lands on the same _ids.
		p.SetRequestFault(once(esfault.Fault{ResetAfterForward: true}))
		o = d.Deliver(context.Background(), makeRecords(ns, 400, 20))
		if checkSums(t, o); o.Status != deliver.OK || o.Duplicates != 20 || o.Created != 0 {
			t.Fatalf("client-level re-send: %+v", o)
		}
		p.SetRequestFault(nil)
	})
	t.Run("slow server beyond the request timeout: RETRY", func(t *testing.T) {
		p.SetRequestFault(func(*http.Request, int) esfault.Fault { return esfault.Fault{Delay: 2 * time.Second} })
		defer p.SetRequestFault(nil)
		cl := newClient(t, p.URL(), func(c *esclient.Config) { c.RequestTimeout = 200 * time.Millisecond; c.MaxRetries = 1 })
		o := newDelivererVia(t, cl, ns, nil).Deliver(context.Background(), makeRecords(ns, 600, 5))
		if checkSums(t, o); o.Status != deliver.Retry || !strings.Contains(o.Err.Error(), "timeout") {
			t.Fatalf("%+v", o)
		}
	})
	if n := count(t, url, streams(ns)...); n != 60 {
		t.Errorf("%d documents, want 60 (3 x 20; the reset and slow chunks never arrived)", n)
	}
}

func TestRequestTooLargeIsSplit(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	const limit = 8 << 10 // like a proxy's client_max_body_size
	p.SetRequestFault(func(r *http.Request, _ int) esfault.Fault {
		if r.ContentLength > limit {
			return esfault.Fault{Status: http.StatusRequestEntityTooLarge}
		}
		return esfault.Fault{}
	})
	recs := func(from int) []ecs.Record {
		r := makeRecords(ns, from, 100)
		r[7].Doc.Message = strings.Repeat("x", 3*limit) + "end" // alone above the limit
		return r
	}

	// Without a dead-letter file, the record too large for any request keeps its chunk in
	// Fluent Bit: it is never shortened to fit.
	d := newDeliverer(t, p.URL(), ns, nil)
	o := d.Deliver(context.Background(), recs(0))
	checkSums(t, o)
	if o.Status != deliver.Retry || o.Created != 99 || o.DeadLettered != 0 || !strings.Contains(o.Err.Error(), "dead_letter_path") {
		t.Fatalf("no file: %+v", o)
	}

	// With one, the record goes there whole, with why, when and where from.
	dir := t.TempDir()
	d = newDeliverer(t, p.URL(), ns, func(c *deliver.Config) { c.DeadLetterPath, c.RetryBudget = dir, 200*time.Millisecond })
	big := recs(0)
	o = d.Deliver(deliver.WithTag(context.Background(), func() string { return "app.big" }), big)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Duplicates != 99 || o.DeadLettered != 1 || o.ToFile != 1 {
		t.Fatalf("with a file: %+v", o)
	}
	var got []deadletter.Entry
	if err := deadletter.ReadPath(dir, func(e deadletter.Entry) error { got = append(got, e); return e.Err }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d dead letters in the file, want 1", len(got))
	}
	dl, x := got[0].Doc, got[0].Doc.SiemScore.DeadLetter
	var doc map[string]any
	if err := json.Unmarshal([]byte(x.Original), &doc); err != nil || doc["message"] != big[7].Doc.Message {
		t.Errorf("the original must be the whole document: %d bytes, %v", len(x.Original), err)
	}
	if dl.Error.Type != "request_entity_too_large" || x.Status != http.StatusRequestEntityTooLarge || x.ID != big[7].ID ||
		x.Tag != "app.big" || x.Index == "" || dl.Host.Name == "" || time.Since(dl.Timestamp) > time.Hour {
		t.Errorf("dead letter: %+v %+v host %q at %v", dl.Error, x, dl.Host.Name, dl.Timestamp)
	}
	if got[0].Replayable() != nil {
		t.Errorf("a record too large must be replayable: %v", got[0].Replayable())
	}

	// A 413 for a document smaller than a request the way already took is not about its size
	// (a proxy refusing for another reason): retried, not dead-lettered.
	p.SetRequestFault(func(r *http.Request, _ int) esfault.Fault {
		if strings.Contains(r.URL.Path, "_bulk") {
			return esfault.Fault{Status: http.StatusRequestEntityTooLarge}
		}
		return esfault.Fault{}
	})
	o = d.Deliver(context.Background(), makeRecords(ns, 500, 1))
	checkSums(t, o)
	if o.Status != deliver.Retry || o.DeadLettered != 0 || !errors.Is(o.Err, deliver.ErrUnavailable) {
		t.Errorf("413 for a small record after larger requests went through: %+v", o)
	}
}

// A document Elasticsearch cannot parse, and a record without a document, are dead-lettered;
// the records around them are written. (The processors render the passthrough and flattened
// fields, which are always valid JSON; invalid text here stands for any document Elasticsearch
// refuses as a whole.)
func TestUnparsableAndMissingDocumentsAreDeadLettered(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	d := newDeliverer(t, url, ns, nil)
	recs := makeRecords(ns, 0, 3)
	recs[1].Doc.Passthrough = `{"ratio":NaN}`
	recs[2].Doc = nil
	o := d.Deliver(context.Background(), recs)
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 1 || o.DeadLettered != 2 {
		t.Fatalf("%+v", o)
	}
	dls := deadLetters(t, url, ns)
	bad := dls[recs[1].ID]
	if bad.SiemScore.DeadLetter.Status != 400 || !strings.Contains(bad.SiemScore.DeadLetter.Original, `"ratio":NaN`) ||
		!strings.Contains(bad.SiemScore.DeadLetter.Original, `"@timestamp"`) {
		t.Errorf("unparsable record: %+v", bad)
	}
	if dls[recs[2].ID].Error.Type != "document_missing_exception" {
		t.Errorf("record without document: %+v", dls[recs[2].ID])
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	p.SetItemFault(esfault.Storm(http.StatusTooManyRequests, 0.1, 1))
	d := newDeliverer(t, p.URL(), ns, nil)
	const workers, chunks, size = 8, 6, 150
	var wg sync.WaitGroup
	outs := make(chan deliver.Outcome, workers*chunks)
	for w := range workers {
		wg.Go(func() {
			for c := range chunks {
				outs <- d.Deliver(context.Background(), makeRecords(ns, (w*chunks+c)*size, size))
			}
		})
	}
	wg.Wait()
	close(outs)
	created := 0
	for o := range outs {
		checkSums(t, o)
		if o.Status != deliver.OK {
			t.Errorf("%+v", o)
		}
		created += o.Created
	}
	total := workers * chunks * size
	if created != total || count(t, url, streams(ns)...) != total {
		t.Errorf("created %d, indexed %d, want %d", created, count(t, url, streams(ns)...), total)
	}
	if s := d.Stats(); s.Delivered != uint64(total) || s.Chunks != workers*chunks || s.Retried == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestServerRestartMidStream stops the real server while chunks flow. Chunks caught by the
// outage come back RETRY; re-sent after the restart, every record ends up indexed exactly once.
func TestServerRestartMidStream(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	d := newDeliverer(t, url, ns, func(c *deliver.Config) { c.RetryBudget = time.Second })
	const chunks, size = 6, 100
	for c := range 2 {
		deliverUntilOK(t, d, makeRecords(ns, c*size, size), 1)
	}

	estest.Stop(t)
	o := d.Deliver(context.Background(), makeRecords(ns, 2*size, size))
	checkSums(t, o)
	if o.Status != deliver.Retry || o.Unacknowledged() != size {
		t.Fatalf("delivery into a stopped server: %+v", o)
	}
	estest.Start(t)

	var retried int
	for c := 2; c < chunks; c++ {
		outs := deliverUntilOK(t, d, makeRecords(ns, c*size, size), 200)
		retried += len(outs) - 1
	}
	if n := count(t, url, streams(ns)...); n != chunks*size {
		t.Errorf("%d documents after the restart, want %d (each record exactly once)", n, chunks*size)
	}
	t.Logf("chunks re-sent after the restart: %d", retried)
}

func TestCloseWaitsThenRefuses(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	p.SetRequestFault(func(*http.Request, int) esfault.Fault { return esfault.Fault{Delay: 300 * time.Millisecond} })
	d := newDeliverer(t, p.URL(), ns, nil)
	started := make(chan struct{})
	done := make(chan deliver.Outcome)
	var finished time.Time // when Deliver returned; read after receiving from done
	go func() {
		close(started)
		o := d.Deliver(context.Background(), makeRecords(ns, 0, 10))
		finished = time.Now()
		done <- o
	}()
	<-started
	waitInFlight(t, p)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	select {
	case o := <-done:
		if checkSums(t, o); o.Status != deliver.OK || o.Created != 10 {
			t.Errorf("in-flight chunk during Close: %+v", o)
		}
		if finished.After(closed) {
			t.Error("Close returned before the in-flight Deliver finished")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight Deliver never finished")
	}
	o := d.Deliver(context.Background(), makeRecords(ns, 10, 10))
	if checkSums(t, o); o.Status != deliver.Retry || !errors.Is(o.Err, deliver.ErrClosed) {
		t.Errorf("Deliver after Close: %+v", o)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseDeadlineCutsInFlightShort(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	p := esfault.New(t, url)
	p.SetRequestFault(func(*http.Request, int) esfault.Fault { return esfault.Fault{Delay: 5 * time.Second} })
	d := newDeliverer(t, p.URL(), ns, nil)
	done := make(chan deliver.Outcome, 1)
	go func() { done <- d.Deliver(context.Background(), makeRecords(ns, 0, 10)) }()
	waitInFlight(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); err == nil {
		t.Error("Close must report that it cut in-flight chunks short")
	}
	select {
	case o := <-done:
		if checkSums(t, o); o.Status != deliver.Retry || !errors.Is(o.Err, deliver.ErrClosed) {
			t.Errorf("cut-short chunk: %+v", o)
		}
	case <-time.After(2 * time.Second):
		// Deliver's return reaches done a moment after Close saw it end; well before the
		// request's 5 s delay is over, it must have.
		t.Fatal("the in-flight Deliver did not end when Close cut it short")
	}
}

// waitInFlight returns once the proxy holds a request: the Deliver that sent it is in flight.
func waitInFlight(t *testing.T, p *esfault.Proxy) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Requests == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the proxy")
		}
	}
}

// once returns a request fault that hits the first request only.
func once(f esfault.Fault) esfault.RequestFault {
	var o sync.Once
	return func(*http.Request, int) esfault.Fault {
		var out esfault.Fault
		o.Do(func() { out = f })
		return out
	}
}

// Undecodable input goes to the dead-letter data stream in the same bulk request as the chunk's
// records, whole (base64) and with the reason; a re-send writes nothing twice.
func TestUndecodableInputIsDeadLettered(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	d := newDeliverer(t, url, ns, nil)
	recs := makeRecords(ns, 0, 3, ecs.KindGeneric)
	bad := []deliver.Undecodable{
		{ID: ns + "-bad-1", Tag: "app.log", Reason: "wrong event shape", Raw: []byte{0xc1, 0x01}},
		{ID: ns + "-bad-2", Tag: "app.log", Reason: "undecodable msgpack", Raw: []byte{0xdc, 0xff}},
	}
	o := d.Deliver(context.Background(), recs, bad...)
	if o.Status != deliver.OK || o.Records != 5 || o.Undecodable != 2 || o.Created != 3 || o.DeadLettered != 2 {
		t.Fatalf("%+v", o)
	}
	got := deadLetters(t, url, ns)
	for _, u := range bad {
		doc, ok := got[u.ID]
		want := base64.StdEncoding.EncodeToString(u.Raw)
		switch {
		case !ok:
			t.Errorf("no dead letter for %s", u.ID)
		case doc.SiemScore.DeadLetter.Original != want || doc.Error.Type != deliver.DecodeErrorType ||
			!strings.Contains(doc.Error.Message, u.Reason) || !strings.Contains(doc.Error.Message, u.Tag):
			t.Errorf("dead letter of %s: %+v", u.ID, doc)
		}
	}
	// A dead letter already there acknowledges its input as dead-lettered again.
	again := d.Deliver(context.Background(), recs, bad...)
	if again.Status != deliver.OK || again.Duplicates != 3 || again.DeadLettered != 2 || again.Created != 0 {
		t.Errorf("re-send: %+v", again)
	}
	if n := count(t, url, target.DeadLetter(ns)); n != 2 {
		t.Errorf("%d dead-letter documents after the re-send, want 2", n)
	}
}

// A Deliverer created while Elasticsearch is unreachable installs its templates before it
// writes the first record: a data stream created before its template would keep no mappings.
func TestTemplatesInstalledBeforeTheFirstRecord(t *testing.T) {
	url := estest.URL(t)
	ns := strings.TrimPrefix(estest.UniqueName(t, "x"), "x-")
	proxy := esfault.New(t, url)
	var mu sync.Mutex
	var paths []string
	down := true
	proxy.SetRequestFault(func(r *http.Request, _ int) esfault.Fault {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return esfault.Fault{Status: http.StatusServiceUnavailable}
		}
		paths = append(paths, r.Method+" "+r.URL.Path)
		return esfault.Fault{}
	})
	tc := template.DefaultConfig()
	tc.Name, tc.Priority, tc.Replicas = "sstest-"+ns, 400, 0
	tc.Patterns, tc.DeadLetterPatterns = []string{target.DataStream("*", ns)}, []string{target.DeadLetter(ns)}
	t.Cleanup(func() {
		for _, k := range ecs.Kinds() {
			estest.DeleteDataStream(t, target.DataStream(k.String(), ns))
		}
		for _, name := range []string{tc.LogsTemplate(), tc.DeadLetterTemplate()} {
			esCall(t, url, http.MethodDelete, "/_index_template/"+name, "", nil)
		}
	})
	cl := newClient(t, proxy.URL(), func(c *esclient.Config) { c.MaxRetries = 0 })
	d := newDelivererVia(t, cl, ns, func(c *deliver.Config) { c.Templates = tc })
	if o := d.Deliver(context.Background(), makeRecords(ns, 0, 2, ecs.KindCloudTrail)); o.Status != deliver.Retry {
		t.Fatalf("while Elasticsearch is down: %+v", o)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if o := d.Deliver(context.Background(), makeRecords(ns, 0, 2, ecs.KindCloudTrail)); o.Status != deliver.OK || o.Created != 2 {
		t.Fatalf("once it is up: %+v", o)
	}
	mu.Lock()
	defer mu.Unlock()
	firstTemplate, firstBulk := -1, -1
	for i, p := range paths {
		if firstTemplate < 0 && strings.HasPrefix(p, "PUT /_index_template/") {
			firstTemplate = i
		}
		if firstBulk < 0 && strings.HasSuffix(p, "/_bulk") {
			firstBulk = i
		}
	}
	if firstTemplate < 0 || firstBulk < firstTemplate {
		t.Errorf("requests %v: the templates were not installed before the first bulk request", paths)
	}
	var got map[string]any
	if esCall(t, url, http.MethodGet, "/_index_template/"+tc.LogsTemplate(), "", &got); got["index_templates"] == nil {
		t.Errorf("template %s not installed: %v", tc.LogsTemplate(), got)
	}
}

// TestClusterRefusalsAreRetryNotDeadLetter puts the real server in each state in which it
// refuses every record of an index for reasons that are not the record's, checks that the chunk
// is retried with nothing dead-lettered and the cause logged once however often it is retried,
// then lifts the condition and checks that the same chunk goes through whole.
func TestClusterRefusalsAreRetryNotDeadLetter(t *testing.T) {
	url := estest.URL(t)
	ns := readertest.Namespace(t, url)
	for _, c := range []struct {
		name, set, unset, cause string
	}{
		{"closed index", "_close", "_open", "index_closed_exception"},
		{"read-only block", `{"index.blocks.read_only":true}`, `{"index.blocks.read_only":null}`, "cluster_block_exception"},
		{"write block", `{"index.blocks.write":true}`, `{"index.blocks.write":null}`, "cluster_block_exception"},
		{"flood-stage block", `{"index.blocks.read_only_allow_delete":true}`, `{"index.blocks.read_only_allow_delete":null}`, "cluster_block_exception"},
		{"missing pipeline", `{"index.default_pipeline":"siemscore-missing"}`, `{"index.default_pipeline":null}`, "pipeline with id [siemscore-missing] does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs flblogtest.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
			cfg := deliver.DefaultConfig()
			// A plain index that no template matches: installing siemscore's templates (other
			// packages' tests do, concurrently) rolls over every siemscore data stream, which
			// would move the writes to a new backing index without the refusal under test.
			index := "siemscore-refusals-" + strings.ReplaceAll(c.name, " ", "-") + "-" + ns
			cfg.Namespace, cfg.Index, cfg.Templates.Enabled = ns, index, false
			cfg.RetryBudget, cfg.RetryBackoff = 300*time.Millisecond, esclient.Backoff{Min: 20 * time.Millisecond, Max: 50 * time.Millisecond}
			d, err := deliver.New(newClient(t, url, nil), cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close(context.Background())
			tag := strings.ReplaceAll(c.name, " ", "-")
			if o := d.Deliver(context.Background(), makeRecords(tag+"-first", 0, 4, ecs.KindGeneric)); o.Status != deliver.OK {
				t.Fatalf("before: %+v", o)
			}
			write := index
			apply := func(op string) {
				t.Helper()
				method, path, body := http.MethodPut, "/"+write+"/_settings", op
				if strings.HasPrefix(op, "_") {
					method, path, body = http.MethodPost, "/"+write+"/"+op, ""
				}
				if st := esCall(t, url, method, path, body, nil); st != http.StatusOK {
					t.Fatalf("%s %s: HTTP %d", method, path, st)
				}
			}
			apply(c.set)
			lifted := false
			defer func() {
				if !lifted {
					apply(c.unset)
				}
			}()
			recs := makeRecords(tag, 0, 10, ecs.KindGeneric)
			for range 3 { // Fluent Bit retrying the chunk
				o := d.Deliver(context.Background(), recs)
				checkSums(t, o)
				if o.Status != deliver.Retry || o.DeadLettered != 0 || o.Created != 0 || !errors.Is(o.Err, deliver.ErrUnavailable) || !strings.Contains(o.Err.Error(), c.cause) {
					t.Fatalf("while the index refuses: %+v", o)
				}
			}
			if n := strings.Count(logs.String(), "Elasticsearch refuses writes"); n != 1 || !strings.Contains(logs.String(), c.cause) {
				t.Errorf("the cause must be logged once, logged %d times:\n%s", n, logs.String())
			}
			apply(c.unset)
			lifted = true
			o := d.Deliver(context.Background(), recs)
			checkSums(t, o)
			if o.Status != deliver.OK || o.Created != 10 || o.DeadLettered != 0 {
				t.Fatalf("after lifting it: %+v", o)
			}
			if !strings.Contains(logs.String(), "accepts writes again") {
				t.Errorf("the end of the condition must be logged:\n%s", logs.String())
			}
			if n := count(t, url, target.DeadLetter(ns)); n != 0 {
				t.Errorf("%d dead letters", n)
			}
		})
	}
}
