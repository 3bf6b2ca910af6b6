// Package bulksink is an Elasticsearch double for benchmarks and tests: an HTTP server that
// answers the _bulk API as a healthy cluster does, stores nothing, and counts what it is sent.
//
// Every create or index item is answered 201, except a create whose _id the sink has already
// answered, which gets 409 as Elasticsearch gives it; so a client that re-sends a chunk sees the
// duplicates it would see against a real cluster, and the counts tell records delivered once
// from records delivered again. Items without an _id (Fluent Bit's native es output) are told
// apart by the hash of their document instead.
//
// Responses carry X-Elastic-Product: Elasticsearch, which go-elasticsearch requires, and every
// other path gets an empty JSON object, so clients that probe the cluster at start-up go on.
package bulksink

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/siemscore/siemscore/processors/jsonw"
)

// Stats counts what the sink was sent.
type Stats struct {
	Requests int // _bulk requests
	Items    int // action lines
	Bytes    int // request body bytes, after decompression
	// Docs are the items answered 201. Duplicates are creates of an _id already answered
	// (409); SameContent are items without an _id whose document equals an earlier one.
	Docs, Duplicates, SameContent int
	// First and Last are when the first and the latest _bulk request arrived.
	First, Last time.Time
}

// Doc is one item as received, for Options.OnDoc. The slices are valid only during the call.
type Doc struct {
	Op, Index, ID string
	Source        []byte
	Duplicate     bool // answered 409
}

// Options configure a Sink.
type Options struct {
	// OnDoc, if set, is called for every item in the order the sink reads them, one call at
	// a time.
	OnDoc func(Doc)
}

// Sink is a running Elasticsearch double.
type Sink struct {
	opts Options
	srv  *http.Server
	ln   net.Listener

	mu      sync.Mutex
	stats   Stats
	ids     hashSet
	content hashSet
}

// Start listens on a free loopback port and serves until Close.
func Start(opts Options) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: opts, ln: ln}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the sink's base URL.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the sink's host:port.
func (s *Sink) Addr() (host string, port int) {
	a := s.ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// Stats returns the counts so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Reset forgets every count and every _id seen.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.ids.reset()
	s.content.reset()
}

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost && r.Method != http.MethodPut || !bytes.HasSuffix([]byte(r.URL.Path), []byte("/_bulk")) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/" {
			_, _ = io.WriteString(w, `{"name":"bulksink","cluster_name":"bulksink","version":{"number":"8.19.0"},"tagline":"You Know, for Search"}`)
			return
		}
		_, _ = io.WriteString(w, "{}")
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, `{"error":"bad gzip"}`, http.StatusBadRequest)
			return
		}
		body = zr
	}
	// The sink shares the machine with the client it measures, so its own cost per byte is
	// kept low: bodies are read into pooled buffers (a fresh one would be zeroed first, every
	// request), sized from the request so that a large body is not copied again at every doubling.
	bp := bodies.Get().(*[]byte)
	defer bodies.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	buf.Grow(int(max(r.ContentLength, 0)) + bytes.MinRead)
	_, err := buf.ReadFrom(body)
	raw := buf.Bytes()
	*bp = raw
	if err != nil {
		http.Error(w, `{"error":"read failed"}`, http.StatusBadRequest)
		return
	}
	// Like Elasticsearch, leave out the item fields a filter_path does not ask for (siemscore
	// asks for _id and status, not _index).
	fp := r.URL.Query().Get("filter_path")
	_, _ = w.Write(s.answer(raw, fp == "" || strings.Contains(fp, "_index")))
}

var bodies = sync.Pool{New: func() any { return new([]byte) }}

// answer counts a _bulk body and returns the response, with each item's _index if withIndex.
// Only the counting holds the sink's lock: reading the body and writing the answer do not, so
// that concurrent requests (an output's workers) are answered concurrently, as Elasticsearch's
// write threads answer them, and a client sending larger bodies does not queue behind another.
func (s *Sink) answer(body []byte, withIndex bool) []byte {
	now := time.Now()
	// The item's fields are views of body: an item is not kept past the answer.
	type item struct {
		op, index, id []byte
		source        []byte
		hash          uint64
		status        int
	}
	size := len(body)
	var items []item
	for len(body) > 0 {
		var action, source []byte
		action, body = line(body)
		if len(bytes.TrimSpace(action)) == 0 {
			continue
		}
		op, index, id := parseAction(action)
		if string(op) != "delete" {
			source, body = line(body)
		}
		it := item{op: op, index: index, id: id, source: source, status: 201}
		if len(id) > 0 {
			it.hash = xxh3.Hash(id)
		} else {
			it.hash = xxh3.Hash(source)
		}
		items = append(items, it)
	}

	anyDup := false
	s.mu.Lock()
	st := &s.stats
	if st.Requests == 0 {
		st.First = now
	}
	st.Requests++
	st.Last = now
	st.Bytes += size
	for i := range items {
		it := &items[i]
		st.Items++
		dup := false
		switch {
		case len(it.id) > 0:
			if seen := s.ids.add(it.hash); seen && string(it.op) == "create" {
				it.status, dup, anyDup = 409, true, true
				st.Duplicates++
			} else {
				st.Docs++
			}
		default:
			if s.content.add(it.hash) {
				st.SameContent++
			}
			st.Docs++
		}
		if s.opts.OnDoc != nil {
			s.opts.OnDoc(Doc{Op: string(it.op), Index: string(it.index), ID: string(it.id), Source: it.source, Duplicate: dup})
		}
	}
	s.mu.Unlock()

	out := make([]byte, 0, 64+len(items)*96)
	out = append(out, `{"took":1,"errors":`...)
	out = strconv.AppendBool(out, anyDup)
	out = append(out, `,"items":[`...)
	for n, it := range items {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"`...)
		out = append(out, it.op...)
		out = append(out, `":{`...)
		if withIndex {
			out = append(out, `"_index":`...)
			out = jsonw.String(out, it.index)
			out = append(out, ',')
		}
		if len(it.id) > 0 {
			out = append(out, `"_id":`...)
			out = jsonw.String(out, it.id)
			out = append(out, ',')
		}
		out = append(out, `"status":`...)
		out = strconv.AppendInt(out, int64(it.status), 10)
		if it.status == 409 {
			out = append(out, `,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}`...)
		}
		out = append(out, "}}"...)
	}
	return append(out, "]}"...)
}

func line(b []byte) (first, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseAction reads the op, _index and _id of an action line such as
// {"create":{"_index":"logs-x","_id":"abc"}}. Clients write these keys as plain strings, so a
// byte search suffices.
func parseAction(a []byte) (op, index, id []byte) {
	if i := bytes.IndexByte(a, '"'); i >= 0 {
		if j := bytes.IndexByte(a[i+1:], '"'); j >= 0 {
			op = a[i+1 : i+1+j]
		}
	}
	return op, field(a, `"_index":`), field(a, `"_id":`)
}

func field(a []byte, key string) []byte {
	i := bytes.Index(a, []byte(key))
	if i < 0 {
		return nil
	}
	v := bytes.TrimLeft(a[i+len(key):], " ")
	if len(v) == 0 || v[0] != '"' {
		return nil
	}
	end := bytes.IndexByte(v[1:], '"')
	if end < 0 {
		return nil
	}
	return v[1 : 1+end]
}

// hashSet is a set of 64-bit hashes: open addressing with linear probing in one flat array,
// so that an insert into a set of every document of a run costs one cache miss where Go's map
// took several. 0 marks an empty slot; the hash 0 is stored as 1 (a shared slot among 2^64).
type hashSet struct {
	slots []uint64
	n     int
}

// add inserts h and reports whether it was already there.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			s.slots[i] = h
			s.n++
			return false
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots, s.n = make([]uint64, max(2*len(old), 1<<16)), 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// reset empties the set and keeps its memory.
func (s *hashSet) reset() {
	clear(s.slots)
	s.n = 0
}
