package deliver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
)

// These tests need no Elasticsearch: a fake answers bulk requests, so they can drive responses
// a real server never gives.

// fakeBulk answers every bulk action with the status status(id) returns, after rewriting the
// response with mangle (may be nil).
type fakeBulk struct {
	status func(id string) int
	// statusAt, if set, replaces status with a verdict that also knows the target index.
	statusAt func(index, id string) int
	// refusal, if set, gives the error type and reason of a refused item (default
	// fake_exception).
	refusal  func(id string) (string, string)
	mangle   func(items []map[string]any) []map[string]any
	requests atomic.Int64
}

func (f *fakeBulk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	body, _ := io.ReadAll(r.Body)
	var items []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var action map[string]map[string]string
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sc.Scan() // the document
		id := action["create"]["_id"]
		st := http.StatusCreated
		switch {
		case f.statusAt != nil:
			st = f.statusAt(action["create"]["_index"], id)
		case f.status != nil:
			st = f.status(id)
		}
		res := map[string]any{"_id": id, "status": st}
		if st > 299 {
			typ, reason := "fake_exception", "fake"
			if f.refusal != nil {
				typ, reason = f.refusal(id)
			}
			res["error"] = map[string]any{"type": typ, "reason": reason}
		}
		items = append(items, map[string]any{"create": res})
	}
	if f.mangle != nil {
		items = f.mangle(items)
	}
	json.NewEncoder(w).Encode(map[string]any{"errors": true, "items": items})
}

func fakeDeliverer(t *testing.T, f http.Handler, edit func(*deliver.Config)) *deliver.Deliverer {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return newDeliverer(t, srv.URL, "unit", edit)
}

func TestResponsesThatDoNotMatchAreRetry(t *testing.T) {
	for name, mangle := range map[string]func([]map[string]any) []map[string]any{
		"fewer items": func(it []map[string]any) []map[string]any { return it[:len(it)-1] },
		"more items":  func(it []map[string]any) []map[string]any { return append(it, it[0]) },
		"other _id":   func(it []map[string]any) []map[string]any { it[1]["create"].(map[string]any)["_id"] = "x"; return it },
		"not a create": func(it []map[string]any) []map[string]any {
			it[0] = map[string]any{"index": it[0]["create"]}
			return it
		},
		"no items at all": func([]map[string]any) []map[string]any { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			d := fakeDeliverer(t, &fakeBulk{mangle: mangle}, nil)
			o := d.Deliver(context.Background(), makeRecords("m", 0, 5))
			checkSums(t, o)
			if o.Status != deliver.Retry || o.Created != 0 || !strings.Contains(o.Err.Error(), "does not match") {
				t.Errorf("%+v", o)
			}
		})
	}
	d := fakeDeliverer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		io.WriteString(w, "<html>maintenance</html>")
	}), nil)
	if o := d.Deliver(context.Background(), makeRecords("m", 0, 5)); o.Status != deliver.Retry {
		t.Errorf("non-JSON answer: %+v", o)
	}
}

func TestNotTheRecordsFaultIsRetryNotDeadLetter(t *testing.T) {
	for _, st := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestTimeout} {
		t.Run(fmt.Sprint(st), func(t *testing.T) {
			d := fakeDeliverer(t, &fakeBulk{status: func(id string) int {
				if strings.HasSuffix(id, "1") {
					return st
				}
				return http.StatusCreated
			}}, func(c *deliver.Config) { c.RetryBudget = 50 * time.Millisecond })
			o := d.Deliver(context.Background(), makeRecords("p", 0, 20))
			checkSums(t, o)
			if o.Status != deliver.Retry || o.DeadLettered != 0 || o.Created != 18 {
				t.Errorf("%+v", o)
			}
		})
	}
}

// TestWhoseFault drives every row of the package doc's table through a fake: answers about the
// cluster or its configuration are retried and never dead-lettered, answers about the record
// are dead-lettered.
func TestWhoseFault(t *testing.T) {
	for _, c := range []struct {
		status       int
		typ, reason  string
		deadLettered bool
	}{
		{400, "index_closed_exception", "closed", false},
		{403, "cluster_block_exception", "index [x] blocked by: [FORBIDDEN/5/index read-only (api)];", false},
		{429, "cluster_block_exception", "index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark", false},
		{403, "security_exception", "action [indices:data/write/bulk[s]] is unauthorized", false},
		{401, "security_exception", "unable to authenticate", false},
		{404, "index_not_found_exception", "no such index [x]", false},
		{400, "illegal_argument_exception", "pipeline with id [geoip] does not exist", false},
		{400, "illegal_argument_exception", "no write index is defined for alias [x]", false},
		{400, "invalid_index_name_exception", "Invalid index name [X], must be lowercase", false},
		{500, "illegal_state_exception", "There are no ingest nodes in this cluster", false},
		{503, "unavailable_shards_exception", "primary shard is not active", false},
		{429, "es_rejected_execution_exception", "rejected execution", false},
		{429, "circuit_breaking_exception", "[parent] Data too large", false},
		{408, "timeout_exception", "timed out", false},
		{400, "document_parsing_exception", "failed to parse field [n] of type [long]", true},
		{400, "mapper_parsing_exception", "failed to parse", true},
		{400, "strict_dynamic_mapping_exception", "mapping set to strict, dynamic introduction of [x] is not allowed", true},
		{400, "illegal_argument_exception", "Limit of total fields [1000] has been exceeded while adding new fields [1]", true},
		{400, "x_content_parse_exception", "[1:2] Unexpected character", true},
	} {
		t.Run(fmt.Sprintf("%d %s", c.status, c.typ), func(t *testing.T) {
			d := fakeDeliverer(t, &fakeBulk{
				statusAt: func(index, id string) int {
					if strings.HasSuffix(id, "1") && !strings.Contains(index, "deadletter") {
						return c.status
					}
					return http.StatusCreated
				},
				refusal: func(string) (string, string) { return c.typ, c.reason },
			}, func(cfg *deliver.Config) { cfg.RetryBudget = 50 * time.Millisecond })
			o := d.Deliver(context.Background(), makeRecords("w", 0, 20))
			checkSums(t, o)
			switch {
			case c.deadLettered && (o.Status != deliver.OK || o.DeadLettered != 2 || o.Created != 18):
				t.Errorf("the record's fault must be dead-lettered: %+v", o)
			case !c.deadLettered && (o.Status != deliver.Retry || o.DeadLettered != 0 || o.Created != 18):
				t.Errorf("not the record's fault: must be retried, nothing dead-lettered: %+v", o)
			}
		})
	}
}

func TestWholeRequestErrorIsRetry(t *testing.T) {
	d := fakeDeliverer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate"}}`)
	}), nil)
	o := d.Deliver(context.Background(), makeRecords("w", 0, 3))
	checkSums(t, o)
	if o.Status != deliver.Retry || !strings.Contains(o.Err.Error(), "401") || !strings.Contains(o.Err.Error(), "security_exception") {
		t.Errorf("%+v", o)
	}
}

func TestNotElasticsearchIsRetry(t *testing.T) {
	d := fakeDeliverer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"errors":false,"items":[]}`) // no X-Elastic-Product: OpenSearch, a stray proxy...
	}), nil)
	o := d.Deliver(context.Background(), makeRecords("n", 0, 3))
	if checkSums(t, o); o.Status != deliver.Retry {
		t.Errorf("%+v", o)
	}
}

func TestErrorsNeverCarryCredentials(t *testing.T) {
	const secret = "hunter2-Pw"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusBadRequest)
		// A proxy that echoes the request's Authorization header in its error page.
		fmt.Fprintf(w, `{"error":"bad request with header %s"}`, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	cl := newClient(t, srv.URL, func(c *esclient.Config) { c.Username, c.Password = "elastic", secret })
	d := newDelivererVia(t, cl, "unit", nil)
	o := d.Deliver(context.Background(), makeRecords("c", 0, 2))
	if o.Status != deliver.Retry || strings.Contains(o.Err.Error(), secret) || !strings.Contains(o.Err.Error(), esclient.Redacted) {
		t.Errorf("%v", o.Err)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for field, edit := range map[string]func(*deliver.Config){
		"Namespace":       func(c *deliver.Config) { c.Namespace = "a-b" },
		"Index":           func(c *deliver.Config) { c.Index = "Upper" },
		"DeadLetterIndex": func(c *deliver.Config) { c.DeadLetterIndex = "_x" },
		"MaxBatchBytes":   func(c *deliver.Config) { c.MaxBatchBytes = 5 },
		"MaxBatchDocs":    func(c *deliver.Config) { c.MaxBatchDocs = 0 },
		"RetryBudget":     func(c *deliver.Config) { c.RetryBudget = -time.Second },
		"RetryBackoff":    func(c *deliver.Config) { c.RetryBackoff.Min = 0 },
	} {
		c := deliver.DefaultConfig()
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	c := deliver.DefaultConfig()
	c.Index, c.DeadLetterIndex = "same", "same"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "DeadLetterIndex") {
		t.Errorf("dead letters into the main index: %v", err)
	}
	if err := deliver.DefaultConfig().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}

// TestConcurrentDeliverAndCloseLeakNothing runs many concurrent flushes, with per-item 429s to
// exercise the retry loop, closes in the middle, and checks that every outcome is consistent
// and that no goroutine outlives Close and the client's Close.
func TestConcurrentDeliverAndCloseLeakNothing(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var tries sync.Map
	f := &fakeBulk{status: func(id string) int {
		n, _ := tries.LoadOrStore(id, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 && strings.HasSuffix(id, "3") {
			return http.StatusTooManyRequests
		}
		return http.StatusCreated
	}}
	srv := httptest.NewServer(f)
	c := esclient.DefaultConfig()
	c.Hosts = []string{srv.URL}
	cl, err := esclient.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := deliver.DefaultConfig()
	cfg.RetryBackoff = esclient.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	cfg.Templates.Enabled = false
	d, err := deliver.New(cl, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	const workers = 8
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for c := 0; ; c++ {
				o := d.Deliver(context.Background(), makeRecords(fmt.Sprintf("w%d-%d", w, c), 0, 50))
				checkSums(t, o)
				if o.Status == deliver.OK {
					ok.Add(1)
					continue
				}
				if !errors.Is(o.Err, deliver.ErrClosed) {
					t.Errorf("unexpected %+v", o)
				}
				refused.Add(1)
				return
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := cl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if ok.Load() == 0 || refused.Load() != workers {
		t.Errorf("%d chunks delivered, %d refused after Close (want >0 and %d)", ok.Load(), refused.Load(), workers)
	}
	s := d.Stats()
	if s.Chunks != uint64(ok.Load()) || s.Delivered != 50*s.Chunks || s.Retried == 0 {
		t.Errorf("stats %+v after %d OK chunks", s, ok.Load())
	}
	goleak.VerifyNone(t, before)
}

// TestResponseForms: the bulk response is read token by token, so what a server adds or how it
// lays the answer out must not matter: an answer without filter_path applied (took, _index,
// result, _shards, _seq_no), pretty-printed, with members in another order, with an item error
// carrying its cause, and 409 for a record already there.
func TestResponseForms(t *testing.T) {
	var deadLetters atomic.Int64
	d := fakeDeliverer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		body, _ := io.ReadAll(r.Body)
		var items []string
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		for i := 0; i < len(lines); i += 2 {
			var action map[string]map[string]string
			if err := json.Unmarshal([]byte(lines[i]), &action); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			a := action["create"]
			var item string
			switch {
			case strings.Contains(a["_index"], "deadletter"):
				deadLetters.Add(1)
				item = fmt.Sprintf(`{"create": {"_index": %q, "_id": %q, "status": 201, "result": "created"}}`, a["_index"], a["_id"])
			case strings.HasSuffix(a["_id"], "1"):
				item = fmt.Sprintf(`{ "create" : { "status" : 409, "_id" : %q, "error" : { "type" : "version_conflict_engine_exception", "reason" : "[x]: version conflict" } } }`, a["_id"])
			case strings.HasSuffix(a["_id"], "2"):
				item = fmt.Sprintf(`{"create":{"_index":%q,"_id":%q,"status":400,"error":{"type":"document_parsing_exception","reason":"failed to parse","caused_by":{"type":"illegal_argument_exception","reason":"bad value \"x\""}}}}`, a["_index"], a["_id"])
			default:
				item = fmt.Sprintf(`{"create":{"_index":%q,"_id":%q,"_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":7,"_primary_term":1,"status":201}}`, a["_index"], a["_id"])
			}
			items = append(items, item)
		}
		fmt.Fprintf(w, "{\n  \"took\" : 3,\n  \"errors\" : true,\n  \"items\" : [\n    %s\n  ]\n}\n", strings.Join(items, ",\n    "))
	}), nil)
	o := d.Deliver(context.Background(), makeRecords("f", 0, 10))
	checkSums(t, o)
	if o.Status != deliver.OK || o.Created != 8 || o.Duplicates != 1 || o.DeadLettered != 1 || deadLetters.Load() != 1 {
		t.Errorf("%+v, %d dead letters written", o, deadLetters.Load())
	}
}
