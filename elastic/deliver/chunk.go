package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/processors/ecs"
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

// chunk is the state of one Deliver or Redeliver call.
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
}

func newChunk(d *Deliverer, tag func() string, recs []ecs.Record, bad []Undecodable) *chunk {
	n := len(recs) + len(bad)
	return &chunk{d: d, tag: tag, recs: recs, bad: bad, state: make([]recState, n), items: make([]item, 0, n), written: map[string]bool{}}
}

func newReplay(d *Deliverer, resends []Resend) *chunk {
	n := len(resends)
	return &chunk{d: d, resends: resends, state: make([]recState, n), items: make([]item, 0, n), written: map[string]bool{}}
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
// input. A record that cannot be encoded becomes its dead-letter entry instead.
//
// The documents are marshalled first and the buffer allocated once at its final size: growing
// it by append would allocate about four times the chunk over the doublings.
func (c *chunk) encode() []int {
	if c.resends != nil {
		return c.encodeResends()
	}
	bodies := make([][]byte, len(c.recs))
	failures := make([]*rejection, len(c.recs))
	size := 0
	ingested := ecs.Time(time.Now().UTC())
	for i := range c.recs {
		r := &c.recs[i]
		rt := c.d.routeOf(r.Kind)
		if r.Doc == nil {
			failures[i] = &rejection{Type: "document_missing_exception", Reason: "the record has no document"}
			continue
		}
		if rt.dataStream != (ecs.DataStream{}) {
			r.Doc.DataStream = rt.dataStream
		}
		// When the document reaches Elasticsearch, as Fleet's final pipeline sets it (Elastic's
		// detection rules run on event.ingested, so late records are still seen).
		r.Doc.Event.Ingested = ingested
		body, err := r.Doc.MarshalJSON()
		if err != nil {
			failures[i] = &rejection{Type: "document_encoding_exception", Reason: err.Error()}
			continue
		}
		bodies[i] = body
		size += len(rt.meta) + len(`,"_id":""}}`) + len(r.ID) + len(body) + 2
	}
	c.buf = make([]byte, 0, size)
	for i, r := range c.recs {
		rt := c.d.routeOf(r.Kind)
		if failures[i] != nil {
			c.addDeadLetter(i, rt.index, 0, *failures[i])
			continue
		}
		c.addItem(i, rt, r.ID, bodies[i], false)
		bodies[i] = nil // the copy in buf is the one sent; let the marshalled one go
	}
	for j, u := range c.bad {
		c.addUndecodable(len(c.recs)+j, u)
	}
	return c.all()
}

// encodeResends writes Redeliver's documents, as they were first sent, as create actions.
func (c *chunk) encodeResends() []int {
	size := 0
	for _, r := range c.resends {
		size += len(`{"create":{"_index":"","_id":""}}`) + len(r.Index) + len(r.ID) + len(r.Doc) + 2
	}
	c.buf = make([]byte, 0, size)
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

func (c *chunk) addItem(rec int, rt *route, id string, body []byte, dead bool) {
	start := len(c.buf)
	c.buf = append(c.buf, rt.meta...)
	if id != "" {
		c.buf = append(c.buf, `,"_id":`...)
		q, _ := json.Marshal(id) // marshalling a Go string cannot fail
		c.buf = append(c.buf, q...)
	}
	c.buf = append(c.buf, "}}\n"...)
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

type bulkResponse struct {
	Items []struct {
		Create *itemResult `json:"create"`
	} `json:"items"`
}

type itemResult struct {
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *rejection `json:"error"`
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
	t0 := time.Now()
	br, err := c.exchange(ctx, body)
	c.requestTime += time.Since(t0)
	switch {
	case errors.Is(err, errTooLarge):
		return c.tooLarge(ctx, batch, next)
	case err != nil:
		return nil, err
	case len(br.Items) != len(batch):
		return nil, fmt.Errorf("%w: %d items for %d actions", errResponse, len(br.Items), len(batch))
	}
	c.d.accepted(len(body))
	// The whole response is checked before any item is believed.
	for k, i := range batch {
		r := br.Items[k].Create
		if r == nil {
			return nil, fmt.Errorf("%w: item %d is not a create result", errResponse, k)
		}
		if id := c.items[i].id; id != "" && r.ID != id {
			return nil, fmt.Errorf("%w: item %d has _id %q, sent %q", errResponse, k, r.ID, id)
		}
	}
	for k, i := range batch {
		if next, err = c.judge(i, br.Items[k].Create, next); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// errTooLarge is a 413 answer to a whole request.
var errTooLarge = errors.New("deliver: request too large")

// exchange sends one bulk body and reads the whole answer.
func (c *chunk) exchange(ctx context.Context, body []byte) (bulkResponse, error) {
	var br bulkResponse
	res, err := esapi.BulkRequest{Body: bytes.NewReader(body), FilterPath: filterPath}.Do(ctx, c.d.es)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return br, fmt.Errorf("deliver: bulk request: %w", cause)
		}
		err = fmt.Errorf("deliver: bulk request: %w", c.d.redactor.Error(err))
		c.d.conditions.raise("Elasticsearch", "unreachable: "+err.Error())
		return br, unavailable(err)
	}
	defer func() {
		// Reading to the end lets the connection be reused.
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}()
	switch {
	case res.StatusCode == http.StatusRequestEntityTooLarge:
		return br, errTooLarge
	case res.IsError():
		err := fmt.Errorf("deliver: bulk request: %s", esclient.Describe(res))
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			c.d.conditions.raise("Elasticsearch", err.Error())
			return br, unavailable(err)
		}
		return br, err
	}
	c.written["Elasticsearch"] = true
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		return br, fmt.Errorf("%w: %w", errResponse, err)
	}
	return br, nil
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
