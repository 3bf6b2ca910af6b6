package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/jsonw"
)

// recState is where a record of the chunk stands.
type recState uint8

const (
	pending recState = iota
	created
	duplicate
	deadLettered
	refused // replay only: refused again, left in the dead letter
)

// item is one action line plus document in the chunk's buffer: a record, the dead-letter
// entry for a record Elasticsearch rejected, or that of undecodable input.
type item struct {
	rec        int // the entry: a record's index, or len(recs) + the undecodable input's
	start, end int // span of "action\ndocument\n" in chunk.buf
	index      string
	id         string
	dead       bool
	// retry marks an item that failed with 429/5xx and waits for a backoff before re-sending.
	retry bool
}

// chunk is the state of one Deliver or Redeliver call. Chunks are pooled by their Deliverer:
// buf, state and items keep their memory from one call to the next, so a flush's bulk bodies are
// written into memory the flush before it used (see requestBody for why that is safe).
type chunk struct {
	d       *Deliverer
	tag     func() string
	recs    []ecs.Record
	bad     []Undecodable
	resends []Resend   // Redeliver's entries instead of recs and bad
	state   []recState // per entry: the records, then the undecodable inputs
	buf     []byte
	items   []item
	// scratch gathers non-adjacent items into one request body on retry rounds.
	scratch                 []byte
	retried                 int
	bytes                   int
	encodeTime, requestTime time.Duration
	// lastRetryable describes the latest item failure that may succeed later, for the RETRY
	// error; unavailable says whether it was a cluster-level refusal (reported once).
	lastRetryable string
	unavailable   bool
	// toFile are the dead letters too large for the dead-letter data stream, and their entries,
	// written to the dead-letter file once everything else is acknowledged.
	toFile     [][]byte
	toFileRecs []int
	noFile     error  // a record needed the file, and there is none
	refusal    string // Redeliver: why the last refused record was
	// written are the targets an item was written to, whose refusal conditions have cleared.
	written map[string]bool
	// want are the _ids of the request being sent, resp reads its answer.
	want []string
	resp responseReader
}

// newChunk takes a chunk from d's pool for a Deliver call (recs and bad), or a Redeliver call
// (resends).
func newChunk(d *Deliverer, tag func() string, recs []ecs.Record, bad []Undecodable, resends []Resend) *chunk {
	c, _ := d.pool.Get().(*chunk)
	if c == nil {
		c = &chunk{written: map[string]bool{}}
	}
	n := len(recs) + len(bad) + len(resends)
	*c = chunk{d: d, tag: tag, recs: recs, bad: bad, resends: resends, state: slices.Grow(c.state[:0], n)[:n],
		buf: c.buf[:0], items: c.items[:0], toFile: c.toFile[:0], toFileRecs: c.toFileRecs[:0], written: c.written,
		want: c.want[:0], resp: c.resp}
	clear(c.state)
	return c
}

// release returns the chunk to its Deliverer's pool; nothing of it may be used afterwards.
func (c *chunk) release() {
	d := c.d
	clear(c.items) // drop the strings the items and results hold
	clear(c.toFile)
	clear(c.written)
	clear(c.want)
	clear(c.resp.results)
	*c = chunk{state: c.state[:0], buf: c.buf[:0], items: c.items[:0], toFile: c.toFile[:0], toFileRecs: c.toFileRecs[:0],
		written: c.written, want: c.want[:0], resp: c.resp}
	d.pool.Put(c)
}

// errResponse marks a bulk response that cannot be trusted item by item.
var errResponse = errors.New("deliver: bulk response does not match the request")

func (c *chunk) deliver(ctx context.Context) Outcome {
	start := time.Now()
	next := c.encode()
	c.encodeTime = time.Since(start)
	var deadline time.Time // set at the first refusal: the budget is for retrying, not for the first send
	for wait := 1; len(next) > 0; {
		var err error
		if next, err = c.sendRound(ctx, next); err != nil {
			return c.outcome(err)
		}
		if !c.anyRetry(next) {
			continue // only fresh dead-letter entries: send them right away
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(c.d.cfg.RetryBudget)
		}
		delay := c.d.cfg.RetryBackoff.Delay(wait)
		wait++
		if time.Now().Add(delay).After(deadline) {
			return c.outcome(c.retryError("deliver: retry budget of %s spent with %d items still refused", c.d.cfg.RetryBudget, len(next)))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.outcome(context.Cause(ctx))
		case <-t.C:
		}
	}
	return c.outcome(c.writeFile())
}

// retryError says why items are still refused; a cluster-level cause is marked ErrUnavailable.
func (c *chunk) retryError(format string, args ...any) error {
	err := fmt.Errorf(format+" (last: %s)", append(args, c.lastRetryable)...)
	if c.unavailable {
		return unavailable(err)
	}
	return err
}

func (c *chunk) anyRetry(items []int) bool {
	for _, i := range items {
		if c.items[i].retry {
			return true
		}
	}
	return false
}

func (c *chunk) outcome(err error) Outcome {
	out := Outcome{Status: OK, Records: len(c.state), Undecodable: len(c.bad), Retried: c.retried, Bytes: c.bytes, EncodeTime: c.encodeTime, RequestTime: c.requestTime}
	for _, s := range c.state {
		switch s {
		case created:
			out.Created++
		case duplicate:
			out.Duplicates++
		case deadLettered:
			out.DeadLettered++
		case refused:
			out.Refused++
		}
	}
	for _, e := range c.toFileRecs {
		if c.state[e] == deadLettered {
			out.ToFile++
		}
	}
	out.Refusal = c.refusal
	if err == nil {
		for t := range c.written {
			c.d.conditions.clear(t)
		}
	}
	if out.Unacknowledged() > 0 {
		out.Status = Retry
		if err == nil {
			err = errors.New("deliver: records left unacknowledged") // unreachable by construction; never report OK then
		}
		out.Err = c.d.redactor.Error(err)
	}
	return out
}

// encode writes every record as a create action into the chunk buffer, so that items
// 0..len(recs)-1 are the records in order, then the dead-letter entries of the undecodable
// input. A record without a document becomes its dead-letter entry instead.
func (c *chunk) encode() []int {
	if c.resends != nil {
		return c.encodeResends()
	}
	ingested := ecs.Time(time.Now().UTC())
	for i := range c.recs {
		r := &c.recs[i]
		rt := c.d.routeOf(r.Kind)
		if r.Doc == nil {
			c.addDeadLetter(i, rt.index, 0, rejection{Type: "document_missing_exception", Reason: "the record has no document"})
			continue
		}
		if rt.dataStream != (ecs.DataStream{}) {
			r.Doc.DataStream = rt.dataStream
		}
		// When the document reaches Elasticsearch, as Fleet's final pipeline sets it (Elastic's
		// detection rules run on event.ingested, so late records are still seen).
		r.Doc.Event.Ingested = ingested
		start := len(c.buf)
		c.buf = c.appendAction(c.buf, rt, r.ID)
		c.buf = append(ecs.AppendDocument(c.buf, r.Doc), '\n')
		c.items = append(c.items, item{rec: i, start: start, end: len(c.buf), index: rt.index, id: r.ID})
	}
	for j, u := range c.bad {
		c.addUndecodable(len(c.recs)+j, u)
	}
	return c.all()
}

// encodeResends writes Redeliver's documents, as they were first sent, as create actions.
func (c *chunk) encodeResends() []int {
	routes := map[[2]string]*route{}
	for j, r := range c.resends {
		rt, ok := routes[[2]string{r.Index, r.Pipeline}]
		if !ok {
			rt = newRoute(r.Index, ecs.DataStream{}, r.Pipeline)
			routes[[2]string{r.Index, r.Pipeline}] = rt
		}
		c.addItem(j, rt, r.ID, r.Doc, false)
	}
	return c.all()
}

func (c *chunk) all() []int {
	send := make([]int, len(c.items))
	for i := range send {
		send[i] = i
	}
	return send
}

// appendAction writes the action line of a create of id into rt.
func (c *chunk) appendAction(b []byte, rt *route, id string) []byte {
	b = append(b, rt.meta...)
	if id != "" {
		b = jsonw.String(append(b, `,"_id":`...), id)
	}
	return append(b, "}}\n"...)
}

func (c *chunk) addItem(rec int, rt *route, id string, body []byte, dead bool) {
	start := len(c.buf)
	c.buf = c.appendAction(c.buf, rt, id)
	c.buf = append(c.buf, body...)
	c.buf = append(c.buf, '\n')
	c.items = append(c.items, item{rec: rec, start: start, end: len(c.buf), index: rt.index, id: id, dead: dead})
}

// sendRound sends the items in bounded batches and returns those to send again.
func (c *chunk) sendRound(ctx context.Context, send []int) ([]int, error) {
	var next []int
	for len(send) > 0 {
		n, size := 0, 0
		for n < len(send) && n < c.d.cfg.MaxBatchDocs {
			it := c.items[send[n]]
			if n > 0 && size+it.end-it.start > c.d.cfg.MaxBatchBytes {
				break
			}
			size += it.end - it.start
			n++
		}
		var err error
		if next, err = c.sendBatch(ctx, send[:n], next); err != nil {
			return nil, err
		}
		send = send[n:]
	}
	return next, nil
}

// filterPath trims the bulk response to what is judged per item.
var filterPath = []string{"errors", "items.*._id", "items.*.status", "items.*.error"}

// itemResult is one item of a bulk response.
type itemResult struct {
	create     bool // the item is a create result
	idMismatch bool // its _id is not the one sent, which is then in ID
	ID         string
	Status     int
	Error      *rejection
}

// rejection is Elasticsearch's error object for an item.
type rejection struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *rejection `json:"caused_by,omitempty"`
}

func (r *rejection) String() string {
	if r == nil {
		return "no error detail"
	}
	s := r.Type + ": " + r.Reason
	if r.CausedBy != nil {
		s += " (caused by " + r.CausedBy.String() + ")"
	}
	return s
}

func (c *chunk) sendBatch(ctx context.Context, batch, next []int) ([]int, error) {
	for _, i := range batch {
		if c.items[i].retry {
			c.retried++
		}
	}
	body := c.body(batch)
	c.bytes += len(body)
	c.want = c.want[:0]
	for _, i := range batch {
		c.want = append(c.want, c.items[i].id)
	}
	t0 := time.Now()
	err := c.exchange(ctx, body)
	c.requestTime += time.Since(t0)
	results := c.resp.results
	switch {
	case errors.Is(err, errTooLarge):
		return c.tooLarge(ctx, batch, next)
	case err != nil:
		return nil, err
	case len(results) != len(batch):
		return nil, fmt.Errorf("%w: %d items for %d actions", errResponse, len(results), len(batch))
	}
	c.d.accepted(len(body))
	// The whole response is checked before any item is believed.
	for k, i := range batch {
		r := &results[k]
		if !r.create {
			return nil, fmt.Errorf("%w: item %d is not a create result", errResponse, k)
		}
		if r.idMismatch {
			return nil, fmt.Errorf("%w: item %d has _id %q, sent %q", errResponse, k, r.ID, c.items[i].id)
		}
	}
	for k, i := range batch {
		if next, err = c.judge(i, &results[k], next); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// errTooLarge is a 413 answer to a whole request.
var errTooLarge = errors.New("deliver: request too large")

// bulkPath is the bulk endpoint with filterPath.
var bulkPath = "/_bulk?filter_path=" + url.QueryEscape(strings.Join(filterPath, ","))

// exchange sends one bulk body and reads the whole answer into c.resp.results.
func (c *chunk) exchange(ctx context.Context, body []byte) error {
	rb := &requestBody{data: body}
	defer rb.release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, bulkPath, rb.reader())
	if err != nil {
		return fmt.Errorf("deliver: bulk request: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return rb.reader(), nil }
	req.Header.Set("Content-Type", "application/json")
	httpRes, err := c.d.es.Perform(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("deliver: bulk request: %w", cause)
		}
		err = fmt.Errorf("deliver: bulk request: %w", c.d.redactor.Error(err))
		c.d.conditions.raise("Elasticsearch", "unreachable: "+err.Error())
		return unavailable(err)
	}
	res := &esapi.Response{StatusCode: httpRes.StatusCode, Header: httpRes.Header, Body: httpRes.Body}
	defer func() {
		// Reading to the end lets the connection be reused.
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}()
	switch {
	case res.StatusCode == http.StatusRequestEntityTooLarge:
		return errTooLarge
	case res.IsError():
		err := fmt.Errorf("deliver: bulk request: %s", esclient.Describe(res))
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			c.d.conditions.raise("Elasticsearch", err.Error())
			return unavailable(err)
		}
		return err
	}
	c.written["Elasticsearch"] = true
	if err := c.resp.read(res.Body, c.want); err != nil {
		return fmt.Errorf("%w: %w", errResponse, err)
	}
	return nil
}

// tooLarge handles a 413 (the request exceeds http.max_content_length or a proxy's limit): the
// batch is sent again in halves. A single document refused alone is too large for the way to
// Elasticsearch, and goes whole to the dead-letter file, unless that way has taken a request at
// least as large before: then the 413 is not about size (a proxy refusing for another reason)
// and the document is retried.
func (c *chunk) tooLarge(ctx context.Context, batch, next []int) ([]int, error) {
	if len(batch) > 1 {
		half := len(batch) / 2
		next, err := c.sendBatch(ctx, batch[:half], next)
		if err != nil {
			return nil, err
		}
		return c.sendBatch(ctx, batch[half:], next)
	}
	i := batch[0]
	it := &c.items[i]
	size := it.end - it.start
	if largest := c.d.largest.Load(); int64(size) <= largest {
		it.retry = true
		c.unavailable = true
		c.lastRetryable = fmt.Sprintf("HTTP 413 for a request of %d bytes, after one of %d bytes went through", size, largest)
		c.d.conditions.raise("Elasticsearch", "answers 413 (request entity too large) to requests smaller than some it accepted: a proxy's limit or its configuration")
		return append(next, i), nil
	}
	rej := rejection{Type: "request_entity_too_large", Reason: fmt.Sprintf("the document (%d bytes with its action line) alone exceeds the request size limit of the way to Elasticsearch", size)}
	c.fileDeadLetter(i, http.StatusRequestEntityTooLarge, rej)
	return next, nil
}

// judge applies one item result and appends the item to next if it must be sent again.
func (c *chunk) judge(i int, r *itemResult, next []int) ([]int, error) {
	it := &c.items[i]
	it.retry = false
	switch classify(r.Status, r.Error) {
	case vCreated:
		c.settle(it, created)
	case vDuplicate:
		c.settle(it, duplicate)
	case vOverload:
		it.retry = true
		c.lastRetryable = fmt.Sprintf("HTTP %d %s", r.Status, r.Error)
		return append(next, i), nil
	case vCluster:
		it.retry = true
		c.unavailable = true
		c.lastRetryable = fmt.Sprintf("HTTP %d %s", r.Status, r.Error)
		c.d.conditions.raise(it.index, c.lastRetryable)
		return append(next, i), nil
	default:
		rej := r.Error
		if rej == nil {
			rej = &rejection{Type: "http_" + fmt.Sprint(r.Status), Reason: http.StatusText(r.Status)}
		}
		switch {
		case c.resends != nil:
			c.state[it.rec] = refused
			c.refusal = fmt.Sprintf("HTTP %d %s", r.Status, rej)
		case it.dead:
			// The dead-letter data stream refuses the dead letter itself (a mapping of the
			// operator's own): the file keeps it.
			c.fileDeadLetter(i, r.Status, *rej)
		default:
			c.d.log.Debug("record rejected; dead-lettering it", "index", it.index, "id", it.id, "status", r.Status, "error", rej.String())
			c.addDeadLetter(it.rec, it.index, r.Status, *rej)
			return append(next, len(c.items)-1), nil
		}
	}
	return next, nil
}

// settle records an acknowledged item; a dead-letter entry acknowledges its record either way.
func (c *chunk) settle(it *item, s recState) {
	c.written[it.index] = true
	if it.dead {
		s = deadLettered
	}
	c.state[it.rec] = s
}

// requestBody hands the HTTP transport readers (the request's, and one per retry) over a
// slice of the chunk's buffer. The transport may still be writing a body when the answer has
// arrived (a server can answer before reading everything); once the exchange is over, release
// cuts every reader off, so that no byte of the buffer is read after the chunk has gone back to
// the pool and been reused for another request.
type requestBody struct {
	mu       sync.Mutex
	data     []byte
	released bool
}

var errBodyReleased = errors.New("deliver: request body read after its exchange ended")

func (b *requestBody) reader() io.ReadCloser { return &bodyReader{b: b} }

func (b *requestBody) release() {
	b.mu.Lock()
	b.released = true
	b.mu.Unlock()
}

type bodyReader struct {
	b   *requestBody
	off int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	switch {
	case r.b.released:
		return 0, errBodyReleased
	case r.off >= len(r.b.data):
		return 0, io.EOF
	}
	n := copy(p, r.b.data[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error { return nil }

// body returns the request body for a batch: a slice of the chunk buffer when its items are
// adjacent (the first round), else the items gathered into scratch.
func (c *chunk) body(batch []int) []byte {
	first, last := c.items[batch[0]], c.items[batch[len(batch)-1]]
	adjacent := true
	for k := 1; k < len(batch) && adjacent; k++ {
		adjacent = c.items[batch[k]].start == c.items[batch[k-1]].end
	}
	if adjacent {
		return c.buf[first.start:last.end]
	}
	// A fresh buffer, not a reused one: the HTTP transport may still be writing the previous
	// body when the response has already arrived.
	c.scratch = make([]byte, 0, len(c.scratch))
	for _, i := range batch {
		c.scratch = append(c.scratch, c.buf[c.items[i].start:c.items[i].end]...)
	}
	return c.scratch
}
