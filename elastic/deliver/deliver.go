package deliver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	json "github.com/goccy/go-json"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/esreq"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/elastic/template"
	"github.com/siemscore/siemscore/processors/ecs"
)

// ErrClosed is the error of a Deliver call made after, or cut short by, Close.
var ErrClosed = errors.New("deliver: closed")

// Status is what the plugin tells Fluent Bit about a chunk.
type Status uint8

// Statuses. There is no "error" status: a record Elasticsearch will never accept is
// dead-lettered, which counts as delivered; everything else may succeed later.
const (
	// OK: every record is acknowledged by Elasticsearch (FLB_OK).
	OK Status = iota + 1
	// Retry: some records are not; Fluent Bit must send the whole chunk again (FLB_RETRY).
	Retry
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Retry:
		return "retry"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Outcome reports one Deliver call. Created + Duplicates + DeadLettered + Unacknowledged()
// always equals Records.
type Outcome struct {
	Status Status
	// Records counts the entries of the call: the records and the undecodable inputs, of which
	// there were Undecodable.
	Records, Undecodable int
	// Created records were indexed by this call.
	Created int
	// Duplicates were already in Elasticsearch (409 on create): an earlier attempt of the chunk
	// got them through.
	Duplicates int
	// DeadLettered entries are now in the dead-letter data stream or, ToFile of them, in the
	// dead-letter file: records Elasticsearch rejected, and undecodable input.
	DeadLettered, ToFile int
	// Refused records (Redeliver only) were refused again and stay in the dead letter;
	// Refusal says why the last one was.
	Refused int
	Refusal string
	// Retried counts item re-sends after per-item 429/5xx answers.
	Retried int
	// Err says why Status is Retry; credentials are redacted from it.
	Err error

	// Bytes is the size of the bulk bodies sent, re-sends included (before compression).
	Bytes int
	// EncodeTime is the time spent encoding the records; RequestTime the time spent in bulk
	// requests (sending, Elasticsearch's work, the answer). The rest of a call is backoff.
	EncodeTime, RequestTime time.Duration
}

// Unacknowledged is the number of records Elasticsearch has not confirmed.
func (o Outcome) Unacknowledged() int {
	return o.Records - o.Created - o.Duplicates - o.DeadLettered - o.Refused
}

// Stats are a Deliverer's counters since New, for logs and metrics.
type Stats struct {
	Chunks       uint64 // Deliver calls
	FailedChunks uint64 // calls that returned Retry
	Delivered    uint64 // records created
	Duplicates   uint64 // records already present (409)
	Retried      uint64 // item re-sends after 429/5xx
	DeadLettered uint64 // records written to the dead-letter data stream
}

// Deliverer sends chunks to Elasticsearch. It is safe for concurrent use: Fluent Bit's
// `workers N` makes N flushes into one plugin instance at the same time.
type Deliverer struct {
	client   *esclient.Client
	es       esapi.Transport
	redactor *esclient.Redactor
	log      hclog.Logger
	cfg      Config
	// routes holds each kind's target (all the same with Config.Index); dead is the
	// dead-letter target.
	routes map[ecs.Kind]*route
	dead   *route
	// chunks are the per-call states, pooled so that their buffers are reused (see chunk).
	pool sync.Pool
	// file keeps the dead letters the dead-letter data stream cannot hold (nil: none).
	file *deadletter.File
	// host is the host name dead letters say they come from.
	host string
	// conditions reports cluster-level refusals once; largest is the largest bulk body the way
	// to Elasticsearch accepted, which tells a proxy's odd 413 from a record too large.
	conditions *conditions
	largest    atomic.Int64

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	// stop is cancelled when Close stops waiting for in-flight calls.
	stop    context.Context
	stopNow context.CancelFunc

	chunks, failedChunks, delivered, duplicates, retried, deadLettered atomic.Uint64

	installMu sync.Mutex
	installed atomic.Bool
}

// New validates cfg and returns a Deliverer writing through es. log may be nil. The client
// stays the caller's to close, after Close.
func New(es *esclient.Client, cfg Config, log hclog.Logger) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	cfg.Templates.Landing = cfg.Landing
	d := &Deliverer{
		client:     es,
		es:         es,
		redactor:   es.Redactor(),
		log:        log,
		cfg:        cfg,
		routes:     make(map[ecs.Kind]*route),
		conditions: newConditions(log),
	}
	d.host, _ = os.Hostname()
	if cfg.DeadLetterPath != "" {
		f, err := deadletter.Open(cfg.DeadLetterPath, cfg.DeadLetterMaxBytes)
		if err != nil {
			return nil, &esclient.FieldError{Component: "deliver", Field: "DeadLetterPath", Err: err}
		}
		d.file = f
	}
	for _, k := range ecs.Kinds() {
		pipeline := cfg.Pipeline
		if cfg.Index != "" {
			d.routes[k] = newRoute(cfg.Index, ecs.DataStream{}, pipeline)
			continue
		}
		if _, theirs := target.IntegrationDatasets[k.String()]; theirs && cfg.Landing == target.LandingIntegration && pipeline == "" {
			// The integration's default pipeline expects the raw event in `message` and would
			// parse it again (or fail on its absence); records arrive mapped to ECS already.
			// The final pipeline (Fleet's event.ingested and agent checks) still runs.
			pipeline = "_none"
		}
		d.routes[k] = newRoute(cfg.Landing.DataStream(k.String(), cfg.Namespace),
			ecs.DataStream{Type: "logs", Dataset: cfg.Landing.Dataset(k.String()), Namespace: cfg.Namespace}, pipeline)
	}
	if cfg.DeadLetterIndex != "" {
		d.dead = newRoute(cfg.DeadLetterIndex, ecs.DataStream{}, "")
	} else {
		d.dead = newRoute(target.DeadLetter(cfg.Namespace),
			ecs.DataStream{Type: "logs", Dataset: target.DeadLetterDataset, Namespace: cfg.Namespace}, "")
	}
	d.stop, d.stopNow = context.WithCancel(context.Background())
	d.installed.Store(!cfg.Templates.Enabled && cfg.Pipeline == "")
	// Elasticsearch may well be down while Fluent Bit starts; that must not stop the agent, so a
	// failed preparation is retried before the first delivery instead. A pipeline that
	// Elasticsearch says does not exist is a configuration error, though: every record would be
	// refused.
	ctx, cancel := context.WithTimeout(context.Background(), initTemplateTimeout)
	defer cancel()
	if err := d.prepare(ctx); err != nil {
		if errors.Is(err, errNoPipeline) {
			return nil, &esclient.FieldError{Component: "deliver", Field: "Pipeline", Err: err}
		}
		log.Warn("index templates not installed yet; retrying before the first delivery", "error", err)
	}
	return d, nil
}

// errNoPipeline marks an ingest pipeline Elasticsearch does not have.
var errNoPipeline = errors.New("no such ingest pipeline")

// initTemplateTimeout bounds the template installation New attempts.
const initTemplateTimeout = 10 * time.Second

// prepare installs the index templates and checks the ingest pipeline once, before anything is
// written: a data stream created before its template would get no mappings, and no lifecycle,
// for good; and records sent through a missing pipeline are refused one by one.
func (d *Deliverer) prepare(ctx context.Context) error {
	if d.installed.Load() {
		return nil
	}
	d.installMu.Lock()
	defer d.installMu.Unlock()
	if d.installed.Load() {
		return nil
	}
	if d.cfg.Pipeline != "" {
		err := esreq.Do(ctx, d.client, esapi.IngestGetPipelineRequest{PipelineID: d.cfg.Pipeline}, "ingest pipeline "+d.cfg.Pipeline, nil)
		switch {
		case esreq.NotFound(err):
			return fmt.Errorf("es_pipeline: %w %q in Elasticsearch (create it first, or unset es_pipeline)", errNoPipeline, d.cfg.Pipeline)
		case err != nil:
			return fmt.Errorf("es_pipeline: %w", err)
		}
	}
	if d.cfg.Templates.Enabled {
		if _, err := template.Install(ctx, d.client, d.cfg.Templates, d.log.Named("template")); err != nil {
			return fmt.Errorf("es_template_install: %w (turn es_template_install off if the templates are managed elsewhere)", err)
		}
	}
	d.installed.Store(true)
	return nil
}

// route is a write target: its name, the start of its bulk action line (the _id and closing
// braces follow), and for data streams named by siemscore the data_stream fields documents
// carry.
type route struct {
	index      string
	meta       []byte
	dataStream ecs.DataStream
	pipeline   string
}

// newRoute makes a route; a pipeline ("_none" to skip the default one) goes into its action line.
func newRoute(index string, ds ecs.DataStream, pipeline string) *route {
	q, _ := json.Marshal(index) // marshalling a Go string cannot fail
	meta := append([]byte(`{"create":{"_index":`), q...)
	if pipeline != "" {
		p, _ := json.Marshal(pipeline)
		meta = append(append(meta, `,"pipeline":`...), p...)
	}
	return &route{index: index, meta: meta, dataStream: ds, pipeline: pipeline}
}

// routeOf returns the target of a kind; a kind this build does not know is shipped as generic.
func (d *Deliverer) routeOf(k ecs.Kind) *route {
	if rt, ok := d.routes[k]; ok {
		return rt
	}
	return d.routes[ecs.KindGeneric]
}

// Deliver sends the records, and the dead letters of the undecodable input, and reports whether
// Elasticsearch acknowledged all of them. It blocks until then, until the retry budget is
// spent, or until ctx ends. Deliver owns the records' documents for the duration of the call:
// it sets their data_stream fields to the data stream they are written to.
func (d *Deliverer) Deliver(ctx context.Context, records []ecs.Record, bad ...Undecodable) Outcome {
	ctx, end, ok := d.begin(ctx)
	if !ok {
		return Outcome{Status: Retry, Records: len(records) + len(bad), Undecodable: len(bad), Err: ErrClosed}
	}
	defer end()

	var out Outcome
	if err := d.prepare(ctx); err != nil {
		out = Outcome{Status: Retry, Records: len(records) + len(bad), Undecodable: len(bad), Err: d.redactor.Error(err)}
	} else {
		c := newChunk(d, tagOf(ctx), records, bad, nil)
		out = c.deliver(ctx)
		c.release()
	}
	d.account(out)
	return out
}

// Resend is a record to write again exactly as it was first sent: a dead letter's original,
// for replay.
type Resend struct {
	Index    string // the index or data stream it was meant for
	Pipeline string // the ingest pipeline it was sent through ("_none": the default one skipped)
	ID       string
	Doc      []byte // the JSON document
}

// Redeliver writes records again with op create under their own _ids, as Deliver would, except
// that a record refused again is counted as Refused and left where it is rather than
// dead-lettered a second time. A record already there counts as a duplicate.
func (d *Deliverer) Redeliver(ctx context.Context, resends []Resend) Outcome {
	ctx, end, ok := d.begin(ctx)
	if !ok {
		return Outcome{Status: Retry, Records: len(resends), Err: ErrClosed}
	}
	defer end()
	c := newChunk(d, nil, nil, nil, resends)
	defer c.release()
	return c.deliver(ctx)
}

// begin registers a call in flight, unless the Deliverer is closed (ok false); the context it
// returns ends when Close cuts the calls in flight short. end must be called when the call is.
func (d *Deliverer) begin(ctx context.Context) (_ context.Context, end func(), ok bool) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ctx, nil, false
	}
	d.inflight.Add(1)
	d.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	stopWatch := context.AfterFunc(d.stop, func() { cancel(ErrClosed) })
	return ctx, func() {
		stopWatch()
		cancel(nil)
		d.inflight.Done()
	}, true
}

type tagKey struct{}

// WithTag returns ctx carrying the Fluent Bit tag of the chunk being delivered, which its dead
// letters record. tag is called only when a dead letter needs it.
func WithTag(ctx context.Context, tag func() string) context.Context {
	return context.WithValue(ctx, tagKey{}, tag)
}

func tagOf(ctx context.Context) func() string {
	if f, ok := ctx.Value(tagKey{}).(func() string); ok {
		return f
	}
	return func() string { return "" }
}

// accepted notes that the way to Elasticsearch took a bulk body of n bytes.
func (d *Deliverer) accepted(n int) {
	for {
		cur := d.largest.Load()
		if int64(n) <= cur || d.largest.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

func (d *Deliverer) account(out Outcome) {
	d.chunks.Add(1)
	d.delivered.Add(uint64(out.Created))
	d.duplicates.Add(uint64(out.Duplicates))
	d.retried.Add(uint64(out.Retried))
	d.deadLettered.Add(uint64(out.DeadLettered))
	if out.Status != OK {
		d.failedChunks.Add(1)
		d.log.Debug("chunk not acknowledged; Fluent Bit will retry it",
			"records", out.Records, "created", out.Created, "duplicates", out.Duplicates,
			"dead_lettered", out.DeadLettered, "unacknowledged", out.Unacknowledged(),
			"retried_items", out.Retried, "error", out.Err)
	}
}

// Stats returns the counters since New.
func (d *Deliverer) Stats() Stats {
	return Stats{
		Chunks:       d.chunks.Load(),
		FailedChunks: d.failedChunks.Load(),
		Delivered:    d.delivered.Load(),
		Duplicates:   d.duplicates.Load(),
		Retried:      d.retried.Load(),
		DeadLettered: d.deadLettered.Load(),
	}
}

// Close refuses new Deliver calls (they return Retry with ErrClosed) and waits for the calls in
// flight to finish with a definite outcome. If ctx ends first, it cuts those calls short (they
// return Retry, so Fluent Bit keeps their chunks) and still waits for them to return, which
// they do promptly. Close starts nothing that outlives it and may be called more than once.
func (d *Deliverer) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()

	// No goroutine of its own: the context's end cancels the calls in flight, which then
	// return promptly, and the wait below ends.
	var cut atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		cut.Store(true)
		d.stopNow()
	})
	d.inflight.Wait()
	stop()
	d.stopNow()
	var err error
	if cut.Load() {
		err = fmt.Errorf("deliver: close: in-flight chunks cut short: %w", context.Cause(ctx))
	}
	if d.file != nil {
		err = errors.Join(err, d.file.Close())
	}
	return err
}
