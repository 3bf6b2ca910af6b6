// Package pipeline is what one siemscore [OUTPUT] instance does with a chunk: decode the
// msgpack, turn each event into ECS records (processors), score them, and deliver them to
// Elasticsearch (elastic/deliver), returning the delivery's status, which the exported
// functions map to FLB_OK / FLB_RETRY. It knows nothing of cgo.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/plugin/decode"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Scorer adds the model scores to a record. It must be safe for concurrent use: Fluent Bit
// workers flush in parallel. A Scorer that is also an io.Closer is closed with the Instance.
type Scorer interface {
	Score(rec *ecs.Record)
}

// Sink delivers records: elastic/deliver's Deliverer, or a test's stand-in. It must be safe
// for concurrent use.
type Sink interface {
	// Deliver returns OK once every record is acknowledged: written, already present (same
	// _id), or written to the dead-letter target with the reason Elasticsearch gave, and the
	// undecodable input is in the dead-letter target too; otherwise the chunk must be retried.
	Deliver(ctx context.Context, recs []ecs.Record, bad ...deliver.Undecodable) deliver.Outcome
	// Close releases connections; it is called once, after the last Deliver has returned.
	Close(ctx context.Context) error
}

// Options configure an Instance.
type Options struct {
	Processor *processors.Processor
	Scorer    Scorer
	Sink      Sink
	// Budget bounds one flush's delivery, retries included; past it the flush returns Retry.
	Budget time.Duration
	// BatchRecords is how many records of a chunk are built and delivered at a time (0 means
	// DefaultBatchRecords). A Fluent Bit chunk holds up to about 2 MB, several thousand
	// Kerberos rows: delivering it in parts bounds a flush's memory by a part instead of by the
	// chunk. The chunk is OK only when every part is.
	BatchRecords int
	// Grace is how long flushes in progress may go on once Fluent Bit stops (Stopping, Close)
	// before their requests are cancelled and they return Retry; flushes that start after
	// that get Grace as their budget. Zero cuts them at once.
	Grace time.Duration
	Log   hclog.Logger
	// Closers are closed with the Instance, after the sink (the geo databases' watcher).
	Closers []io.Closer
}

// DefaultBatchRecords is the default Options.BatchRecords, the default of es_bulk_max_records.
const DefaultBatchRecords = 500

// Instance runs flushes for one [OUTPUT] instance. Flush may be called concurrently.
type Instance struct {
	opts Options

	mu       sync.RWMutex // orders closed against inflight.Add
	closed   bool
	inflight sync.WaitGroup
	counts   counters
	// workers are the memory flushes run in, each taken by one flush at a time: about one per
	// Fluent Bit worker thread, reused from flush to flush.
	workers sync.Pool

	// cut is cancelled a grace period after Fluent Bit began to stop; it cancels the flushes
	// that were running then.
	cut      context.Context
	cutNow   context.CancelFunc
	stopping sync.Once
	cutTimer *time.Timer
}

// worker is one flush's memory: the chunk's copy and its decoded bodies, the documents, the
// record and undecodable-input lists, and the numbering of the chunk's records (which spans
// its parts).
type worker struct {
	batch processors.Batch
	ids   processors.Chunk
	recs  []ecs.Record
	bad   []deliver.Undecodable
}

// New returns an Instance.
func New(opts Options) (*Instance, error) {
	switch {
	case opts.Processor == nil:
		return nil, errors.New("pipeline: no processor")
	case opts.Scorer == nil:
		return nil, errors.New("pipeline: no scorer")
	case opts.Sink == nil:
		return nil, errors.New("pipeline: no sink")
	case opts.Budget <= 0:
		return nil, errors.New("pipeline: the flush budget must be positive")
	case opts.Grace < 0:
		return nil, errors.New("pipeline: the shutdown grace must not be negative")
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.BatchRecords <= 0 {
		opts.BatchRecords = DefaultBatchRecords
	}
	in := &Instance{opts: opts}
	in.cut, in.cutNow = context.WithCancel(context.Background())
	return in, nil
}

// Flush processes one chunk. chunk must stay valid and unchanged until Flush returns; nothing
// keeps a reference to it afterwards. tag is called only when a log line or dead letter needs it.
func (in *Instance) Flush(chunk []byte, tag func() string) deliver.Status {
	in.mu.RLock()
	if in.closed {
		in.mu.RUnlock()
		in.opts.Log.Error("flush after shutdown began; asking Fluent Bit to retry the chunk")
		return deliver.Retry
	}
	in.inflight.Add(1)
	in.mu.RUnlock()
	defer in.inflight.Done()

	budget := in.opts.Budget
	if in.cut.Err() != nil {
		budget = min(budget, in.opts.Grace) // Fluent Bit is stopping and the grace is over
	}
	ctx, cancel := context.WithTimeout(deliver.WithTag(context.Background(), tag), budget)
	defer cancel()
	if in.cut.Err() == nil {
		defer context.AfterFunc(in.cut, cancel)()
	}
	w, _ := in.workers.Get().(*worker)
	if w == nil {
		w = new(worker)
	}
	defer in.workers.Put(w)
	w.batch.Reset(append(w.batch.Tree().Buffer()[:0], chunk...))
	w.ids.Reset()
	d := decode.New(w.batch.Tree())
	c := &in.counts
	status := deliver.OK
	for more := true; more && status == deliver.OK; {
		t0 := time.Now()
		var b batch
		b, more = in.build(w, d, tag)
		t1 := time.Now()
		if len(b.recs) > 0 || len(b.bad) > 0 {
			status = in.deliver(ctx, b, tag)
		}
		c.buildNanos.Add(int64(t1.Sub(t0)))
		c.deliverNanos.Add(int64(time.Since(t1)))
		c.records.Add(int64(len(b.recs)))
	}
	st := d.Stats()
	c.flushes.Add(1)
	c.groupMarkers.Add(int64(st.GroupStarts + st.GroupEnds))
	if status != deliver.OK {
		c.retries.Add(1)
	}
	return status
}

// batch is one part of a chunk turned into records and undecodable input.
type batch struct {
	recs []ecs.Record
	bad  []deliver.Undecodable
}

// build decodes and processes the next part of a chunk in w's memory: events until
// BatchRecords records are built, and reports whether the chunk may hold more. It never
// fails: what cannot be processed becomes a dead letter (input that is not a log event) or a
// pipeline_error record (an event the processors could not parse, see
// processors.AppendBody).
func (in *Instance) build(w *worker, d *decode.Decoder, tag func() string) (b batch, more bool) {
	w.batch.Rewind()
	b = batch{recs: w.recs[:0], bad: w.bad[:0]}
	defer func() { w.recs, w.bad = b.recs, b.bad }()
	for more = true; more && len(b.recs) < in.opts.BatchRecords; {
		if more = d.Next(); !more {
			if err := d.Err(); err != nil {
				b.bad = append(b.bad, undecodable(&w.ids, tag(), err, d.Tail()))
			}
			break
		}
		ev := d.Event()
		if ev.Err != nil {
			b.bad = append(b.bad, undecodable(&w.ids, tag(), ev.Err, ev.Raw))
			continue
		}
		// Each record is scored as soon as it is built, while its document is still in the
		// CPU's cache.
		n := len(b.recs)
		b.recs = in.opts.Processor.AppendBody(b.recs, &w.batch, ev.Body, ev.Time, &w.ids)
		for i := n; i < len(b.recs); i++ {
			in.opts.Scorer.Score(&b.recs[i])
		}
	}
	return b, more
}

// undecodable is the dead letter of input that is not a log event. The same bytes with the same
// reason (a chunk Fluent Bit sends again, or two instances sharing the dead-letter stream) make
// one document.
func undecodable(ids *processors.Chunk, tag string, err error, raw []byte) deliver.Undecodable {
	reason := err.Error()
	return deliver.Undecodable{
		ID:  ids.UndecodableID(deliver.DecodeErrorType, reason, raw),
		Tag: tag, Reason: reason, Raw: raw,
	}
}

func (in *Instance) deliver(ctx context.Context, b batch, tag func() string) deliver.Status {
	log := in.opts.Log
	out := in.opts.Sink.Deliver(ctx, b.recs, b.bad...)
	in.counts.written.Add(int64(out.Created))
	in.counts.duplicates.Add(int64(out.Duplicates))
	in.counts.deadLettered.Add(int64(out.DeadLettered))
	if out.Status != deliver.OK {
		// A cluster-level cause (unreachable, refusing writes) is logged once by the sink when it
		// starts and when it ends, not with every chunk it holds back.
		level := hclog.Warn
		if errors.Is(out.Err, deliver.ErrUnavailable) {
			level = hclog.Debug
		}
		log.Log(level, "delivery incomplete; the chunk will be retried", "tag", tag(), "records", len(b.recs), "undecodable", len(b.bad),
			"written", out.Created, "duplicates", out.Duplicates, "dead_lettered", out.DeadLettered, "error", out.Err)
		return deliver.Retry
	}
	for _, u := range b.bad {
		log.Warn("undecodable input dead-lettered", "tag", u.Tag, "bytes", len(u.Raw), "reason", u.Reason)
	}
	if refused := out.DeadLettered - len(b.bad); refused > 0 {
		log.Warn("records refused by Elasticsearch were dead-lettered", "tag", tag(), "count", refused)
	}
	if log.IsDebug() {
		log.Debug("flush delivered", "tag", tag(), "records", len(b.recs), "written", out.Created,
			"duplicates", out.Duplicates, "dead_lettered", out.DeadLettered)
	}
	return deliver.OK
}

// sinkCloseTimeout bounds closing the sink's connections at shutdown, once no flush runs.
const sinkCloseTimeout = 5 * time.Second

// Stopping tells the instance that Fluent Bit is stopping: flushes still running Grace from now
// are cancelled and return Retry (Fluent Bit keeps their chunks); later flushes get Grace as
// their budget. Later calls do nothing.
func (in *Instance) Stopping() {
	in.stopping.Do(func() {
		in.mu.Lock()
		in.cutTimer = time.AfterFunc(in.opts.Grace, in.cutNow)
		in.mu.Unlock()
	})
}

// Close stops accepting flushes, gives those in progress Grace to finish, cancels the ones still
// running then (they return Retry), waits for them to return, then closes the sink. It returns
// within Grace plus the time a cancelled flush takes to unwind. Later calls do nothing.
func (in *Instance) Close() error {
	in.Stopping()
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil
	}
	in.closed = true
	in.mu.Unlock()
	in.inflight.Wait()
	in.mu.Lock()
	in.cutTimer.Stop()
	in.mu.Unlock()
	in.cutNow()
	ctx, cancel := context.WithTimeout(context.Background(), sinkCloseTimeout)
	defer cancel()
	var scorerErr error
	if c, ok := in.opts.Scorer.(io.Closer); ok {
		scorerErr = c.Close()
	}
	errs := []error{in.opts.Sink.Close(ctx), scorerErr}
	for _, c := range in.opts.Closers {
		errs = append(errs, c.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pipeline: close: %w", err)
	}
	return nil
}

// Stats counts what an Instance has done since it started.
type Stats struct {
	Flushes      int64 // Flush calls
	Retries      int64 // flushes that returned Retry
	Records      int64 // records built from events (a CloudTrail Records document gives several)
	Written      int64
	Duplicates   int64
	DeadLettered int64 // records refused by Elasticsearch, plus undecodable input
	GroupMarkers int64 // OpenTelemetry group markers skipped
	// Build is the time spent decoding, routing and scoring; Deliver the time spent in the
	// sink (encoding, requests, waiting for Elasticsearch, in-process retries).
	Build, Deliver time.Duration
}

// counters are Stats, updated concurrently.
type counters struct {
	flushes, retries, records, written, duplicates, deadLettered, groupMarkers atomic.Int64
	buildNanos, deliverNanos                                                   atomic.Int64
}

// Stats returns the totals so far.
func (in *Instance) Stats() Stats {
	c := &in.counts
	return Stats{
		Flushes: c.flushes.Load(), Retries: c.retries.Load(), Records: c.records.Load(),
		Written: c.written.Load(), Duplicates: c.duplicates.Load(), DeadLettered: c.deadLettered.Load(),
		GroupMarkers: c.groupMarkers.Load(),
		Build:        time.Duration(c.buildNanos.Load()), Deliver: time.Duration(c.deliverNanos.Load()),
	}
}
