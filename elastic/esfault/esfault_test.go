package esfault

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// upstream is a stand-in Elasticsearch that creates every bulk item and remembers the _ids.
type upstream struct {
	mu  sync.Mutex
	ids []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if !strings.HasSuffix(r.URL.Path, "_bulk") {
		io.WriteString(w, `{"ok":true}`)
		return
	}
	var items []any
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		var a map[string]map[string]string
		json.Unmarshal(sc.Bytes(), &a)
		sc.Scan()
		u.mu.Lock()
		u.ids = append(u.ids, a["create"]["_id"])
		u.mu.Unlock()
		items = append(items, map[string]any{"create": map[string]any{"_id": a["create"]["_id"], "status": 201}})
	}
	json.NewEncoder(w).Encode(map[string]any{"errors": false, "items": items})
}

func bulkBody(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"create\":{\"_index\":\"logs-x-y\",\"_id\":\"id%d\"}}\n{\"n\":%d}\n", i, i)
	}
	return b.String()
}

type bulkAnswer struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		ID     string `json:"_id"`
		Status int    `json:"status"`
		Error  struct {
			Type string `json:"type"`
		} `json:"error"`
	} `json:"items"`
}

func post(t *testing.T, url string, body []byte, gz bool) (*http.Response, bulkAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/_bulk", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a bulkAnswer
	json.NewDecoder(res.Body).Decode(&a)
	return res, a
}

func TestStormRewritesOnlyChosenItemsInOrder(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p := New(t, srv.URL)
	p.SetItemFault(Storm(http.StatusTooManyRequests, 0.5, 1))

	var gzBody bytes.Buffer
	zw := gzip.NewWriter(&gzBody)
	io.WriteString(zw, bulkBody(200))
	zw.Close()
	res, a := post(t, p.URL(), gzBody.Bytes(), true)
	if res.Header.Get("X-Elastic-Product") != "Elasticsearch" || len(a.Items) != 200 || !a.Errors {
		t.Fatalf("answer: %v %d items errors=%v", res.Header, len(a.Items), a.Errors)
	}
	refused := 0
	for i, it := range a.Items {
		c := it["create"]
		if c.ID != fmt.Sprintf("id%d", i) {
			t.Fatalf("item %d is %s: order lost", i, c.ID)
		}
		if c.Status == http.StatusTooManyRequests {
			refused++
			if c.Error.Type != "es_rejected_execution_exception" {
				t.Errorf("item %d error %q", i, c.Error.Type)
			}
		}
	}
	if refused < 70 || refused > 130 || len(up.ids) != 200-refused || p.Stats().Faked[429] != refused {
		t.Errorf("refused %d, forwarded %d, stats %+v", refused, len(up.ids), p.Stats())
	}
	// times=1: the second attempt of every item goes through.
	_, a = post(t, p.URL(), []byte(bulkBody(200)), false)
	for _, it := range a.Items {
		if it["create"].Status != http.StatusCreated {
			t.Fatalf("second attempt refused: %+v", it)
		}
	}
}

func TestRequestFaults(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p := New(t, srv.URL)

	p.SetRequestFault(func(*http.Request, int) Fault { return Fault{Status: http.StatusServiceUnavailable} })
	if res, _ := post(t, p.URL(), []byte(bulkBody(1)), false); res.StatusCode != 503 || res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("status fault: %d %v", res.StatusCode, res.Header)
	}
	for _, f := range []Fault{{Reset: true}, {ResetAfterForward: true}} {
		p.SetRequestFault(func(*http.Request, int) Fault { return f })
		before := len(up.ids)
		req, _ := http.NewRequest(http.MethodPost, p.URL()+"/_bulk", strings.NewReader(bulkBody(3)))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Errorf("%+v: the client got an answer", f)
		}
		if forwarded := len(up.ids) - before; forwarded != map[bool]int{true: 3, false: 0}[f.ResetAfterForward] {
			t.Errorf("%+v: %d items reached the server", f, forwarded)
		}
	}
	p.SetRequestFault(nil)
	res, err := http.Get(p.URL() + "/_cluster/health")
	if err != nil || res.StatusCode != 200 || res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("pass-through: %v %v", res, err)
	}
	if s := p.Stats(); s.Resets != 2 || s.Requests != 4 {
		t.Errorf("stats %+v", s)
	}
}
