package pipeline

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// fakeSink records what it is given; deliverErr and letterErr make the next calls fail.
type fakeSink struct {
	mu         sync.Mutex
	recs       []ecs.Record
	letters    []deliver.Undecodable
	deliverErr error
	letterErr  error
	refuse     func(ecs.Record) bool // dead-lettered by "Elasticsearch"
	closed     int
	block      chan struct{} // when set, Deliver waits for it
	entered    chan struct{} // when set, Deliver signals it on entry
}

func (s *fakeSink) Deliver(ctx context.Context, recs []ecs.Record, bad ...deliver.Undecodable) deliver.Outcome {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := deliver.Outcome{Status: deliver.Retry, Records: len(recs) + len(bad), Undecodable: len(bad)}
	switch {
	case s.deliverErr != nil:
		out.Created, out.Err = len(recs)/2, s.deliverErr
		return out
	case s.letterErr != nil && len(bad) > 0:
		out.Err = s.letterErr
		return out
	}
	out.Status = deliver.OK
	for _, u := range bad {
		u.Reason, u.Tag, u.Raw = strings.Clone(u.Reason), strings.Clone(u.Tag), bytes.Clone(u.Raw)
		s.letters = append(s.letters, u)
	}
	out.DeadLettered = len(bad)
	for _, r := range recs {
		switch {
		case s.refuse != nil && s.refuse(r):
			out.DeadLettered++
		case slices.ContainsFunc(s.recs, func(o ecs.Record) bool { return o.ID == r.ID }):
			out.Duplicates++
		default:
			out.Created++
			s.recs = append(s.recs, cloneRecord(r))
		}
	}
	return out
}

// cloneRecord copies a record deeply, strings included: a Sink is lent the flush's memory only
// for the call.
func cloneRecord(r ecs.Record) ecs.Record {
	v := reflect.New(reflect.TypeFor[ecs.Record]()).Elem()
	deepCopy(v, reflect.ValueOf(r))
	return v.Interface().(ecs.Record)
}

func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(strings.Clone(src.String()))
	case reflect.Pointer:
		if !src.IsNil() {
			dst.Set(reflect.New(src.Type().Elem()))
			deepCopy(dst.Elem(), src.Elem())
		}
	case reflect.Slice:
		if !src.IsNil() {
			dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				deepCopy(dst.Index(i), src.Index(i))
			}
		}
	case reflect.Struct:
		if src.Type() == reflect.TypeFor[time.Time]() || src.Type() == reflect.TypeFor[netip.Addr]() {
			dst.Set(src) // no memory of the flush's
			return
		}
		for i := range src.NumField() {
			deepCopy(dst.Field(i), src.Field(i))
		}
	default:
		dst.Set(src)
	}
}

func (s *fakeSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

// countingScorer marks every record it sees.
type countingScorer struct{ n atomic.Int64 }

func (s *countingScorer) Score(r *ecs.Record) {
	s.n.Add(1)
	r.Doc.SiemScore.Model.Status = ecs.ModelScored
	r.Doc.SiemScore.Model.Version = "test"
}

func newInstance(t *testing.T, sink Sink, sc Scorer) *Instance {
	t.Helper()
	proc, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(Options{Processor: proc, Scorer: sc, Sink: sink, Budget: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

func tag() string { return "aws.test" }

func TestFlushDeliversEveryRecordWithItsKind(t *testing.T) {
	sink, sc := &fakeSink{}, &countingScorer{}
	in := newInstance(t, sink, sc)
	bodies := plugintest.Mixed(400)
	chunk, err := plugintest.Chunk(bodies)
	if err != nil {
		t.Fatal(err)
	}
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("Flush = %v", code)
	}
	if len(sink.recs) != len(bodies) {
		t.Fatalf("%d records delivered, want %d", len(sink.recs), len(bodies))
	}
	for i, r := range sink.recs {
		if r.Kind != bodies[i].Kind {
			t.Errorf("record %d: kind %v, want %v", i, r.Kind, bodies[i].Kind)
		}
		if r.Doc.SiemScore.Model.Status != ecs.ModelScored {
			t.Errorf("record %d was not scored", i)
		}
	}
	if sc.n.Load() != int64(len(bodies)) {
		t.Errorf("scorer saw %d records, want %d", sc.n.Load(), len(bodies))
	}
	st := in.Stats()
	if st.Flushes != 1 || st.Records != 400 || st.Written != 400 || st.Retries != 0 || st.DeadLettered != 0 {
		t.Errorf("stats %+v", st)
	}

	// Fluent Bit re-sends a chunk after RETRY: the same IDs come back and nothing is duplicated.
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("second Flush = %v", code)
	}
	if st := in.Stats(); st.Written != 400 || st.Duplicates != 400 {
		t.Errorf("after re-send: %+v", st)
	}
}

func TestEveryEventFormIsDeliveredAndGroupMarkersAreNot(t *testing.T) {
	sink := &fakeSink{}
	in := newInstance(t, sink, &countingScorer{})
	var e decodetest.Encoder
	t0 := plugintest.Base
	e.GroupStart(map[string]any{"resource": "otel"}, map[string]any{"service.name": "x"})
	e.V2(decodetest.EventTime(t0), map[string]any{"otel": "meta"}, plugintest.CloudTrail(1))
	e.V1(decodetest.EventTime(t0), plugintest.GuardDuty(2))
	e.V2(decodetest.IntSeconds(t0.Unix()), nil, plugintest.Kerberos(3))
	e.V2(decodetest.UintSeconds(uint64(t0.Unix())), nil, plugintest.Generic(4))
	e.V1(decodetest.FloatSeconds(float64(t0.Unix())+0.25), plugintest.Generic(5))
	e.GroupEnd()
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("Flush = %v", code)
	}
	if len(sink.recs) != 5 || len(sink.letters) != 0 {
		t.Fatalf("%d records, %d dead letters; want 5 and 0", len(sink.recs), len(sink.letters))
	}
	want := []ecs.Kind{ecs.KindCloudTrail, ecs.KindGuardDuty, ecs.KindKerberos, ecs.KindGeneric, ecs.KindGeneric}
	for i, r := range sink.recs {
		if r.Kind != want[i] {
			t.Errorf("record %d: %v, want %v", i, r.Kind, want[i])
		}
	}
	// The Fluent Bit time is the fallback @timestamp of a record without its own.
	if got := sink.recs[4].Doc.Timestamp; !got.Equal(t0.Add(250 * time.Millisecond)) {
		t.Errorf("float timestamp: @timestamp %v", got)
	}
	if st := in.Stats(); st.GroupMarkers != 2 {
		t.Errorf("group markers skipped: %d, want 2", st.GroupMarkers)
	}
}

func TestMalformedInputIsDeadLetteredWithTheReason(t *testing.T) {
	sink := &fakeSink{}
	in := newInstance(t, sink, &countingScorer{})
	var e decodetest.Encoder
	e.V2(decodetest.EventTime(plugintest.Base), nil, plugintest.CloudTrail(1))
	e.Value("not an event")                                                       // wrong shape
	e.Value([]any{decodetest.FloatSeconds(-5), map[string]any{"a": "b"}})         // bad timestamp
	e.V2(decodetest.EventTime(plugintest.Base), nil, plugintest.GuardDuty(2))     // fine
	e.Value([]any{decodetest.EventTime(plugintest.Base), []any{"body", "array"}}) // body not a map
	tailAt := e.Len()
	e.Raw([]byte{0xdc, 0xff}) // array 16 header, then nothing: undecodable tail
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("Flush = %v", code)
	}
	if len(sink.recs) != 2 {
		t.Errorf("%d records delivered, want 2", len(sink.recs))
	}
	if len(sink.letters) != 4 {
		t.Fatalf("%d dead letters, want 4: %+v", len(sink.letters), sink.letters)
	}
	for i, want := range []string{"wrong event shape", "invalid timestamp", "wrong event shape", "undecodable msgpack"} {
		l := sink.letters[i]
		if !strings.Contains(l.Reason, want) || l.Tag != "aws.test" || len(l.Raw) == 0 || l.ID == "" {
			t.Errorf("dead letter %d = %+v, want reason %q", i, l, want)
		}
	}
	if tail := sink.letters[3].Raw; !bytes.Equal(tail, chunk[tailAt:]) {
		t.Errorf("tail dead letter holds % x, want % x", tail, chunk[tailAt:])
	}
	if st := in.Stats(); st.DeadLettered != 4 || st.Records != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestIncompleteDeliveryAsksForARetry(t *testing.T) {
	chunk, err := plugintest.Chunk(plugintest.Mixed(10))
	if err != nil {
		t.Fatal(err)
	}
	sink := &fakeSink{deliverErr: errors.New("elasticsearch unreachable")}
	in := newInstance(t, sink, &countingScorer{})
	if code := in.Flush(chunk, tag); code != deliver.Retry {
		t.Errorf("Flush with a failing sink = %v, want RETRY", code)
	}

	var e decodetest.Encoder
	e.Value(42)
	bad, _ := e.Chunk()
	sink2 := &fakeSink{letterErr: errors.New("dead-letter index unreachable")}
	in2 := newInstance(t, sink2, &countingScorer{})
	if code := in2.Flush(append(bad, chunk...), tag); code != deliver.Retry {
		t.Errorf("Flush whose dead letter fails = %v, want RETRY", code)
	}
	if len(sink2.recs) != 0 {
		t.Errorf("records were delivered although the chunk will be re-sent")
	}
	if st := in2.Stats(); st.Retries != 1 {
		t.Errorf("retries %d, want 1", st.Retries)
	}
}

func TestRefusedRecordsCountAsDelivered(t *testing.T) {
	chunk, err := plugintest.Chunk(plugintest.Mixed(8))
	if err != nil {
		t.Fatal(err)
	}
	sink := &fakeSink{refuse: func(r ecs.Record) bool { return r.Kind == ecs.KindGuardDuty }}
	in := newInstance(t, sink, &countingScorer{})
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("Flush = %v", code)
	}
	if st := in.Stats(); st.Written != 6 || st.DeadLettered != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestConcurrentFlushes(t *testing.T) {
	sink := &fakeSink{}
	in := newInstance(t, sink, &countingScorer{})
	bodies := plugintest.Mixed(800)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for c := w; c < 40; c += 4 {
				chunk, err := plugintest.Chunk(bodies[c*20 : c*20+20])
				if err != nil {
					t.Error(err)
					return
				}
				if code := in.Flush(chunk, tag); code != deliver.OK {
					t.Errorf("chunk %d: %v", c, code)
				}
			}
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range sink.recs {
		ids[r.ID] = true
	}
	if len(ids) != 800 {
		t.Errorf("%d distinct records, want 800", len(ids))
	}
}

func TestCloseWaitsForFlushesInProgress(t *testing.T) {
	sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	in := newInstance(t, sink, &countingScorer{})
	chunk, err := plugintest.Chunk(plugintest.Mixed(4))
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan deliver.Status)
	go func() { flushed <- in.Flush(chunk, tag) }()
	<-sink.entered

	closed := make(chan error)
	go func() { closed <- in.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a flush was delivering")
	case <-time.After(100 * time.Millisecond):
	}
	// A flush arriving during shutdown is not processed half-way: Fluent Bit keeps the chunk.
	if code := in.Flush(chunk, tag); code != deliver.Retry {
		t.Errorf("Flush during Close = %v, want RETRY", code)
	}
	close(sink.block)
	if code := <-flushed; code != deliver.OK {
		t.Errorf("flush in progress = %v, want OK", code)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if sink.closed != 1 {
		t.Errorf("sink closed %d times, want 1", sink.closed)
	}
}

func TestNewChecksOptions(t *testing.T) {
	proc, _ := processors.New(processors.Options{})
	ok := Options{Processor: proc, Scorer: &countingScorer{}, Sink: &fakeSink{}, Budget: time.Second}
	for name, edit := range map[string]func(*Options){
		"processor": func(o *Options) { o.Processor = nil },
		"scorer":    func(o *Options) { o.Scorer = nil },
		"sink":      func(o *Options) { o.Sink = nil },
		"budget":    func(o *Options) { o.Budget = 0 },
	} {
		o := ok
		edit(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	if _, err := New(ok); err != nil {
		t.Error(err)
	}
}

// partSink records the size of every Deliver call and fails the one numbered failAt (from 1).
type partSink struct {
	fakeSink
	parts  []int
	failAt int
}

func (s *partSink) Deliver(ctx context.Context, recs []ecs.Record, bad ...deliver.Undecodable) deliver.Outcome {
	s.mu.Lock()
	s.parts = append(s.parts, len(recs))
	n := len(s.parts)
	s.mu.Unlock()
	if n == s.failAt {
		return deliver.Outcome{Status: deliver.Retry, Records: len(recs) + len(bad), Undecodable: len(bad), Err: errors.New("cluster away")}
	}
	return s.fakeSink.Deliver(ctx, recs, bad...)
}

// A chunk larger than BatchRecords is built and delivered in parts, each delivered before the
// next is built; a part that fails makes the flush a Retry and stops it. Undecodable input goes
// with the part it was met in.
func TestChunkDeliveredInParts(t *testing.T) {
	var e decodetest.Encoder
	for i := range 1200 {
		if i == 700 {
			e.Value("not an event")
		}
		e.V2(decodetest.EventTime(plugintest.Base), nil, plugintest.Kerberos(i))
	}
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		failAt    int
		code      deliver.Status
		parts     []int
		delivered int
		letters   int
	}{
		{0, deliver.OK, []int{500, 500, 200}, 1200, 1},
		{2, deliver.Retry, []int{500, 500}, 500, 0}, // the dead letter was in the failed part
		{3, deliver.Retry, []int{500, 500, 200}, 1000, 1},
	} {
		sink := &partSink{failAt: tc.failAt}
		in, err := New(Options{Processor: proc, Scorer: &countingScorer{}, Sink: sink, Budget: 5 * time.Second, BatchRecords: 500})
		if err != nil {
			t.Fatal(err)
		}
		if code := in.Flush(chunk, tag); code != tc.code {
			t.Errorf("failing part %d: Flush = %v, want %v", tc.failAt, code, tc.code)
		}
		if !slices.Equal(sink.parts, tc.parts) || len(sink.recs) != tc.delivered || len(sink.letters) != tc.letters {
			t.Errorf("failing part %d: parts %v, %d records and %d dead letters delivered; want %v, %d and %d",
				tc.failAt, sink.parts, len(sink.recs), len(sink.letters), tc.parts, tc.delivered, tc.letters)
		}
		in.Close()
	}
}

// hangingSink waits for its context like a request to an Elasticsearch that never answers,
// then reports the chunk unacknowledged.
type hangingSink struct {
	fakeSink
	entered chan struct{}
}

func (s *hangingSink) Deliver(ctx context.Context, recs []ecs.Record, bad ...deliver.Undecodable) deliver.Outcome {
	s.entered <- struct{}{}
	<-ctx.Done()
	return deliver.Outcome{Status: deliver.Retry, Records: len(recs) + len(bad), Err: context.Cause(ctx)}
}

// Shutdown takes the grace, not the flush budget: a flush stuck on Elasticsearch is cancelled
// once the grace is over and answers RETRY, and nothing is left running.
func TestCloseCutsAHungFlushAfterTheGrace(t *testing.T) {
	before := goleak.IgnoreCurrent()
	sink := &hangingSink{entered: make(chan struct{}, 1)}
	proc, _ := processors.New(processors.Options{})
	const grace = 300 * time.Millisecond
	in, err := New(Options{Processor: proc, Scorer: &countingScorer{}, Sink: sink, Budget: time.Hour, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	chunk, err := plugintest.Chunk(plugintest.Mixed(4))
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan deliver.Status, 1)
	go func() { flushed <- in.Flush(chunk, tag) }()
	<-sink.entered
	start := time.Now()
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if code := <-flushed; code != deliver.Retry {
		t.Errorf("the cut flush answered %v, want RETRY", code)
	}
	if took < grace || took > grace+5*time.Second {
		t.Errorf("Close took %v with a grace of %v and a budget of an hour", took, grace)
	}
	goleak.VerifyNone(t, before)
}

// Stopping (Fluent Bit's stop signal) starts the grace without Close: the flush in progress is
// cut when it ends, and a flush that starts later gets the grace as its budget.
func TestStoppingBoundsFlushesBeforeExit(t *testing.T) {
	sink := &hangingSink{entered: make(chan struct{}, 1)}
	proc, _ := processors.New(processors.Options{})
	const grace = 200 * time.Millisecond
	in, err := New(Options{Processor: proc, Scorer: &countingScorer{}, Sink: sink, Budget: time.Hour, Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	chunk, _ := plugintest.Chunk(plugintest.Mixed(2))
	flushed := make(chan time.Duration, 2)
	run := func() {
		start := time.Now()
		if code := in.Flush(chunk, tag); code != deliver.Retry {
			t.Errorf("flush = %v, want RETRY", code)
		}
		flushed <- time.Since(start)
	}
	go run()
	<-sink.entered
	in.Stopping()
	if d := <-flushed; d > grace+5*time.Second {
		t.Errorf("the flush in progress took %v after Stopping with a grace of %v", d, grace)
	}
	go run()
	<-sink.entered
	if d := <-flushed; d < grace || d > grace+5*time.Second {
		t.Errorf("a flush after the grace took %v, want about %v", d, grace)
	}
}
