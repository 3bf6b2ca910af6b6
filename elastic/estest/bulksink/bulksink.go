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
	"sync"
	"time"

	"github.com/zeebo/xxh3"
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
	ids     map[uint64]struct{}
	content map[uint64]struct{}
}

// Start listens on a free loopback port and serves until Close.
func Start(opts Options) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: opts, ln: ln, ids: make(map[uint64]struct{}), content: make(map[uint64]struct{})}
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
	clear(s.ids)
	clear(s.content)
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
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, `{"error":"read failed"}`, http.StatusBadRequest)
		return
	}
	_, _ = w.Write(s.answer(raw))
}

// answer counts the items of one bulk body and returns the response.
func (s *Sink) answer(body []byte) []byte {
	now := time.Now()
	out := make([]byte, 0, 64+len(body)/16)
	out = append(out, `{"took":1,"errors":false,"items":[`...)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	if st.Requests == 0 {
		st.First = now
	}
	st.Requests++
	st.Last = now
	st.Bytes += len(body)
	anyDup := false
	for n := 0; len(body) > 0; n++ {
		var action, source []byte
		action, body = line(body)
		if len(bytes.TrimSpace(action)) == 0 {
			n--
			continue
		}
		op, index, id := parseAction(action)
		if op != "delete" {
			source, body = line(body)
		}
		st.Items++
		status, dup := 201, false
		switch {
		case id != "":
			h := xxh3.HashString(id)
			if _, seen := s.ids[h]; seen && op == "create" {
				status, dup, anyDup = 409, true, true
				st.Duplicates++
			} else {
				s.ids[h] = struct{}{}
				st.Docs++
			}
		default:
			h := xxh3.Hash(source)
			if _, seen := s.content[h]; seen {
				st.SameContent++
			}
			s.content[h] = struct{}{}
			st.Docs++
		}
		if s.opts.OnDoc != nil {
			s.opts.OnDoc(Doc{Op: op, Index: index, ID: id, Source: source, Duplicate: dup})
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"`...)
		out = append(out, op...)
		out = append(out, `":{"_index":`...)
		out = strconv.AppendQuote(out, index)
		if id != "" {
			out = append(out, `,"_id":`...)
			out = strconv.AppendQuote(out, id)
		}
		out = append(out, `,"status":`...)
		out = strconv.AppendInt(out, int64(status), 10)
		if dup {
			out = append(out, `,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}`...)
		}
		out = append(out, "}}"...)
	}
	if anyDup {
		// Elasticsearch says errors:true when any item failed, a 409 included.
		out = bytes.Replace(out, []byte(`"errors":false`), []byte(`"errors":true`), 1)
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
func parseAction(a []byte) (op, index, id string) {
	if i := bytes.IndexByte(a, '"'); i >= 0 {
		if j := bytes.IndexByte(a[i+1:], '"'); j >= 0 {
			op = string(a[i+1 : i+1+j])
		}
	}
	return op, field(a, `"_index":`), field(a, `"_id":`)
}

func field(a []byte, key string) string {
	i := bytes.Index(a, []byte(key))
	if i < 0 {
		return ""
	}
	v := bytes.TrimLeft(a[i+len(key):], " ")
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(v[1:], '"')
	if end < 0 {
		return ""
	}
	return string(v[1 : 1+end])
}
