// Package esfault is a test front for a real Elasticsearch: an HTTP reverse proxy that injects
// the failures a real server cannot be made to produce on demand. Per bulk item it can answer
// 429 storms, 5xx and mapping rejections in place of the server (those items are taken out of
// the forwarded request, so a faked failure really means "not indexed"); per request it can
// answer an error status, reset the connection before or after forwarding, or respond slowly.
// Every response carries X-Elastic-Product: Elasticsearch, as go-elasticsearch requires.
package esfault

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Item is one action of a bulk request as the proxy sees it.
type Item struct {
	Op    string // create, index, ...
	Index string
	ID    string
	// Source is the document line (nil for actions without one).
	Source []byte
	// Seen is how many times the proxy has seen this _id before in a bulk request.
	Seen int
}

// ItemFault decides the fate of one bulk item: 0 forwards it to Elasticsearch; any other
// status is answered by the proxy instead, with a matching error (see ErrorFor).
type ItemFault func(Item) int

// Fault is what happens to one whole request.
type Fault struct {
	// Delay holds the request back before anything else happens.
	Delay time.Duration
	// Status, if set, answers the request with this status without forwarding it.
	Status int
	// Reset closes the connection without an answer, before forwarding.
	Reset bool
	// HoldAnswer (bulk requests) forwards the request, lets Elasticsearch act on it, then holds
	// the answer back this long (or until the client gives up): a client that dies meanwhile
	// never learns that its writes succeeded.
	HoldAnswer time.Duration
	// ResetAfterForward forwards the request, lets Elasticsearch act on it, then closes the
	// connection instead of answering: the client cannot know its writes succeeded.
	ResetAfterForward bool
}

// RequestFault decides the fault for the n-th request (0-based) the proxy receives.
type RequestFault func(r *http.Request, n int) Fault

// Stats counts what the proxy did.
type Stats struct {
	Requests     int         // all requests
	BulkRequests int         // _bulk requests
	Forwarded    int         // bulk items forwarded to Elasticsearch
	Faked        map[int]int // bulk items answered by the proxy, by status
	Resets       int         // connections closed instead of answered
}

// Proxy is a running fault-injecting front.
type Proxy struct {
	srv      *httptest.Server
	upstream *httputil.ReverseProxy

	mu           sync.Mutex
	itemFault    ItemFault
	requestFault RequestFault
	seen         map[string]int
	stats        Stats
}

// New starts a proxy in front of the Elasticsearch at upstream and stops it when the test ends.
func New(t testing.TB, upstream string) *Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("esfault: upstream %q: %v", upstream, err)
	}
	p := &Proxy{
		upstream: httputil.NewSingleHostReverseProxy(u),
		seen:     make(map[string]int),
		stats:    Stats{Faked: make(map[int]int)},
	}
	p.upstream.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			return // the client gave up (a timeout under test): nobody to answer
		}
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]any{"type": "esfault_upstream", "reason": err.Error()}, "status": 502})
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's address, to configure the client with.
func (p *Proxy) URL() string { return p.srv.URL }

// SetItemFault installs f for bulk items (nil forwards everything).
func (p *Proxy) SetItemFault(f ItemFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.itemFault = f
}

// SetRequestFault installs f for whole requests (nil forwards everything).
func (p *Proxy) SetRequestFault(f RequestFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requestFault = f
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Faked = make(map[int]int, len(p.stats.Faked))
	for k, v := range p.stats.Faked {
		s.Faked[k] = v
	}
	return s
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	n := p.stats.Requests
	p.stats.Requests++
	rf, itf := p.requestFault, p.itemFault
	p.mu.Unlock()

	var f Fault
	if rf != nil {
		f = rf(r, n)
	}
	if f.Delay > 0 {
		// Read the body first: only then does net/http notice that the client went away, and
		// cancel the request's context (a hang must end when the client gives up).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.Reset:
		p.reset(w)
		return
	case f.Status != 0:
		writeJSON(w, f.Status, map[string]any{"error": map[string]any{"type": "esfault", "reason": "injected"}, "status": f.Status})
		return
	}
	if !isBulk(r) {
		p.forward(w, r, f.ResetAfterForward)
		return
	}
	if err := p.bulk(w, r, itf, f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"type": "esfault_parse_exception", "reason": err.Error()}, "status": 400})
	}
}

func isBulk(r *http.Request) bool {
	return r.Method != http.MethodGet && (r.URL.Path == "/_bulk" || strings.HasSuffix(r.URL.Path, "/_bulk"))
}

// forward sends r upstream; with resetAfter the answer is thrown away and the connection closed.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, resetAfter bool) {
	if !resetAfter {
		p.upstream.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.upstream.ServeHTTP(rec, r)
	p.reset(w)
}

func (p *Proxy) reset(w http.ResponseWriter) {
	p.mu.Lock()
	p.stats.Resets++
	p.mu.Unlock()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection without logging
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST rather than FIN: a hard reset, as a crashing node gives
	}
	conn.Close()
}

// bulk splits the request into forwarded and faked items, forwards the former and answers
// with both, in request order.
func (p *Proxy) bulk(w http.ResponseWriter, r *http.Request, itf ItemFault, f Fault) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	items, lines, err := parseBulk(body, defaultIndex(r.URL.Path))
	if err != nil {
		return err
	}
	verdicts := make([]int, len(items))
	var fwd bytes.Buffer
	nFwd := 0
	p.mu.Lock()
	for i := range items {
		it := &items[i]
		if it.ID != "" {
			it.Seen = p.seen[it.Index+"/"+it.ID]
			p.seen[it.Index+"/"+it.ID]++
		}
		if itf != nil {
			verdicts[i] = itf(*it)
		}
		if verdicts[i] == 0 {
			fwd.Write(lines[i])
			nFwd++
		} else {
			p.stats.Faked[verdicts[i]]++
		}
	}
	p.stats.BulkRequests++
	p.stats.Forwarded += nFwd
	p.mu.Unlock()

	var upstreamItems []json.RawMessage
	var upErrors bool
	if nFwd > 0 {
		status, header, resp := p.roundTrip(r, fwd.Bytes())
		if status != http.StatusOK {
			// A whole-request failure stays one: pass it on untouched.
			copyHeader(w.Header(), header)
			w.WriteHeader(status)
			w.Write(resp)
			return nil
		}
		var parsed struct {
			Errors bool              `json:"errors"`
			Items  []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(resp, &parsed); err != nil || len(parsed.Items) != nFwd {
			return fmt.Errorf("esfault: upstream bulk response has %d items for %d forwarded (%v)", len(parsed.Items), nFwd, err)
		}
		upstreamItems, upErrors = parsed.Items, parsed.Errors
	}
	if f.ResetAfterForward {
		p.reset(w)
		return nil
	}
	if f.HoldAnswer > 0 {
		select {
		case <-time.After(f.HoldAnswer):
		case <-r.Context().Done():
			return nil
		}
	}
	out := make([]json.RawMessage, len(items))
	k := 0
	for i, it := range items {
		if verdicts[i] == 0 {
			out[i] = upstreamItems[k]
			k++
			continue
		}
		errType, reason := ErrorFor(verdicts[i])
		fake, _ := json.Marshal(map[string]any{it.Op: map[string]any{
			"_index": it.Index, "_id": it.ID, "status": verdicts[i],
			"error": map[string]any{"type": errType, "reason": reason},
		}})
		out[i] = fake
		upErrors = true
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": 1, "errors": upErrors, "items": out})
	return nil
}

// ErrorFor returns the error type and reason Elasticsearch gives an item with this status.
func ErrorFor(status int) (errType, reason string) {
	switch {
	case status == http.StatusTooManyRequests:
		return "es_rejected_execution_exception", "rejected execution of coordinating operation [esfault]"
	case status == http.StatusBadRequest:
		return "document_parsing_exception", "[1:2] failed to parse field [esfault] of type [long]: injected mapping rejection"
	case status >= 500:
		return "unavailable_shards_exception", "[esfault][0] primary shard is not active"
	}
	return "esfault_exception", http.StatusText(status)
}

// roundTrip forwards a bulk body to the upstream and returns the whole answer.
func (p *Proxy) roundTrip(r *http.Request, body []byte) (int, http.Header, []byte) {
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Del("Content-Encoding")
	// The answer is parsed and rewritten here, so it must come back uncompressed.
	out.Header.Del("Accept-Encoding")
	out.Header.Set("Content-Length", strconv.Itoa(len(body)))
	rec := httptest.NewRecorder()
	p.upstream.ServeHTTP(rec, out)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("esfault: gzip body: %w", err)
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("esfault: read body: %w", err)
	}
	return b, nil
}

func defaultIndex(path string) string {
	idx, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if idx == "_bulk" {
		return ""
	}
	return idx
}

// parseBulk splits an NDJSON bulk body into items and, for each, its raw lines.
func parseBulk(body []byte, index string) ([]Item, [][]byte, error) {
	var items []Item
	var raw [][]byte
	for len(body) > 0 {
		line, rest := cutLine(body)
		body = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			return nil, nil, fmt.Errorf("esfault: bad bulk action line %q", line)
		}
		it := Item{Index: index}
		for op, meta := range action {
			it.Op, it.ID = op, meta.ID
			if meta.Index != "" {
				it.Index = meta.Index
			}
		}
		itemRaw := append([]byte(nil), line...)
		if it.Op != "delete" {
			src, rest := cutLine(body)
			body = rest
			it.Source = bytes.TrimRight(src, "\r\n")
			itemRaw = append(itemRaw, src...)
		}
		items = append(items, it)
		raw = append(raw, itemRaw)
	}
	return items, raw, nil
}

// cutLine returns the first line including its newline, and the rest.
func cutLine(b []byte) ([]byte, []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return append(b, '\n'), nil
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// Storm answers status for a fraction of the items, chosen by their _id (so the same items
// each time a chunk is re-sent), for their first times attempts; times 0 means every attempt.
func Storm(status int, fraction float64, times int) ItemFault {
	return func(it Item) int {
		if times > 0 && it.Seen >= times {
			return 0
		}
		if float64(xxhash.Sum64String(it.ID))/(1<<64) < fraction {
			return status
		}
		return 0
	}
}

// When answers status for the items pred selects, on every attempt.
func When(status int, pred func(Item) bool) ItemFault {
	return func(it Item) int {
		if pred(it) {
			return status
		}
		return 0
	}
}
