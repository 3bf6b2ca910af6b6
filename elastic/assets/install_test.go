package assets

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
)

const (
	testUser     = "siem-admin"
	testPassword = "pa55-w0rd-never-logged"
)

// request is what a test double received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// double is an HTTP test double that records requests and answers with respond.
type double struct {
	mu       sync.Mutex
	requests []request
	respond  func(r request) (int, string)
	product  string // X-Elastic-Product header to send, for an Elasticsearch double
}

func (d *double) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	d.mu.Lock()
	d.requests = append(d.requests, req)
	d.mu.Unlock()
	status, answer := d.respond(req)
	if d.product != "" {
		w.Header().Set("X-Elastic-Product", d.product)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (d *double) take() []request {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.requests
	d.requests = nil
	return out
}

func connConfig(url string) esclient.Config {
	cfg := esclient.DefaultConfig()
	cfg.Hosts = []string{url}
	cfg.Username, cfg.Password = testUser, testPassword
	cfg.MaxRetries = 0
	cfg.RequestTimeout = 10 * time.Second
	return cfg
}

// uploaded returns the single multipart file of an import request: its form field name, file
// name and content.
func uploaded(t *testing.T, r request) (field, file string, data []byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("%s %s: Content-Type %q is not multipart/form-data", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		t.Fatalf("%s: no part: %v", r.Path, err)
	}
	data, _ = io.ReadAll(part)
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("%s: more than one part", r.Path)
	}
	return part.FormName(), part.FileName(), data
}

func mustContent(t *testing.T, name string) []byte {
	t.Helper()
	return content(t, name)
}

// kibanaDouble answers like Kibana 8.11 for the APIs the installer calls; existing tracks what
// has been installed, so a second run sees overwrites and a 409 for the rule.
func kibanaDouble(t *testing.T) (*double, *httptest.Server) {
	existing := map[string]bool{}
	d := &double{}
	d.respond = func(r request) (int, string) {
		switch {
		case r.Method == http.MethodPost && r.Path == "/kibana/s/soc/api/saved_objects/_import":
			_, _, data := uploaded(t, r)
			var results []map[string]any
			for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
				var so savedObject
				json.Unmarshal(line, &so)
				key := so.Type + "/" + so.ID
				results = append(results, map[string]any{"type": so.Type, "id": so.ID, "overwrite": existing[key]})
				existing[key] = true
			}
			b, _ := json.Marshal(map[string]any{"success": true, "successCount": len(results), "successResults": results})
			return 200, string(b)
		case r.Path == "/kibana/s/soc/api/alerting/rule/6c1f9a7e-2b4d-4e8a-9f35-0d7c2e1b8a64":
			if r.Method == http.MethodPost && existing["rule"] {
				return 409, `{"statusCode":409,"error":"Conflict","message":"Saved object [alert/6c1f9a7e-2b4d-4e8a-9f35-0d7c2e1b8a64] conflict"}`
			}
			existing["rule"] = true
			return 200, `{"id":"6c1f9a7e-2b4d-4e8a-9f35-0d7c2e1b8a64"}`
		case r.Method == http.MethodPost && r.Path == "/kibana/s/soc/api/detection_engine/rules/_import":
			_, _, data := uploaded(t, r)
			n := bytes.Count(data, []byte("\n"))
			return 200, `{"success":true,"success_count":` + itoa(n) + `,"rules_count":` + itoa(n) + `,"errors":[],"exceptions_success":true}`
		}
		return 404, `{"statusCode":404,"error":"Not Found","message":"Not Found"}`
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInstallKibana(t *testing.T) {
	d, srv := kibanaDouble(t)
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})
	kb, err := NewKibana(connConfig(srv.URL+"/kibana"), "soc", log)
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close(context.Background())
	in := &Installer{Kibana: kb, Log: log}
	ctx := context.Background()

	results, err := in.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"kibana-data-view": Created, "kibana-dashboard": Updated, "kibana-rule": Created,
		"security-rules": Installed, "watch": Skipped, "elastalert-rule": Skipped}
	checkOutcomes(t, results, want)

	reqs := d.take()
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	var paths []string
	for _, r := range reqs {
		paths = append(paths, r.Method+" "+r.Path+"?"+r.Query)
		if r.Header.Get("kbn-xsrf") == "" {
			t.Errorf("%s %s: no kbn-xsrf header; Kibana refuses the call", r.Method, r.Path)
		}
		if r.Header.Get("Authorization") != wantBasic {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
	}
	wantPaths := []string{
		"POST /kibana/s/soc/api/saved_objects/_import?overwrite=true",
		"POST /kibana/s/soc/api/saved_objects/_import?overwrite=true",
		"POST /kibana/s/soc/api/alerting/rule/6c1f9a7e-2b4d-4e8a-9f35-0d7c2e1b8a64?",
		"POST /kibana/s/soc/api/detection_engine/rules/_import?overwrite=true",
	}
	if !slices.Equal(paths, wantPaths) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(wantPaths, "\n"))
	}
	for i, name := range map[int]string{0: "kibana-data-view", 1: "kibana-dashboard", 3: "security-rules"} {
		a, _ := Lookup(name)
		field, file, data := uploaded(t, reqs[i])
		if field != "file" || file != a.FileName || !bytes.Equal(data, mustContent(t, name)) {
			t.Errorf("%s upload: field %q file %q, content equal %v", name, field, file, bytes.Equal(data, mustContent(t, name)))
		}
	}
	if ct := reqs[2].Header.Get("Content-Type"); ct != "application/json" || !bytes.Equal(reqs[2].Body, mustContent(t, "kibana-rule")) {
		t.Errorf("rule create: Content-Type %q, body differs from the artifact", ct)
	}

	// Second run: everything replaced, the rule through the update API.
	results, err = in.Install(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want["kibana-data-view"], want["kibana-rule"] = Updated, Updated
	checkOutcomes(t, results, want)
	reqs = d.take()
	if len(reqs) != 5 || reqs[3].Method != http.MethodPut || reqs[3].Path != reqs[2].Path {
		t.Fatalf("second run: want a POST 409 then a PUT of the rule, got %d requests", len(reqs))
	}
	var update map[string]any
	if err := json.Unmarshal(reqs[3].Body, &update); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule_type_id", "consumer", "enabled"} {
		if _, ok := update[k]; ok {
			t.Errorf("rule update carries %q, which Kibana's update API refuses", k)
		}
	}
	for _, k := range []string{"name", "params", "schedule", "actions", "tags"} {
		if _, ok := update[k]; !ok {
			t.Errorf("rule update lacks %q: the update API resets what is left out", k)
		}
	}
	checkNoCredentials(t, logs.String())
	if !strings.Contains(logs.String(), "artifact=kibana-dashboard") {
		t.Errorf("no log line per artifact:\n%s", logs.String())
	}
}

func checkOutcomes(t *testing.T, results []Result, want map[string]Outcome) {
	t.Helper()
	if len(results) != len(want) {
		t.Fatalf("%d results for %d artifacts", len(results), len(want))
	}
	for _, r := range results {
		if r.Outcome != want[r.Artifact.Name] || r.Err != nil || r.Detail == "" {
			t.Errorf("%s: %s %q %v, want %s", r.Artifact.Name, r.Outcome, r.Detail, r.Err, want[r.Artifact.Name])
		}
	}
}

func checkNoCredentials(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testPassword, base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))} {
		if strings.Contains(s, secret) {
			t.Errorf("a credential leaked into %q", s)
		}
	}
}

func TestInstallKibanaFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		artifact string
		status   int
		answer   string
		want     []string
	}{
		{"missing reference", "kibana-dashboard", 200,
			`{"success":false,"successCount":10,"errors":[{"type":"lens","id":"siemscore-lens-ip-pairs","error":{"type":"missing_references","references":[{"type":"index-pattern","id":"siemscore-logs"}]}}]}`,
			[]string{"1 of 11 objects failed", "lens siemscore-lens-ip-pairs: missing_references", "[missing index-pattern siemscore-logs]"}},
		{"bad credentials echoed", "kibana-dashboard", 401,
			`{"statusCode":401,"error":"Unauthorized","message":"[security_exception] unable to authenticate user with Basic ` +
				base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword)) + `"}`,
			[]string{"Kibana rejected the credentials (HTTP 401)", esclient.Redacted}},
		{"no privileges", "security-rules", 403, `{"statusCode":403,"message":"Unauthorized to create rules"}`,
			[]string{"lacks the privileges", "HTTP 403"}},
		{"no such API", "kibana-rule", 404, `{"statusCode":404,"error":"Not Found"}`,
			[]string{"no such API or space (HTTP 404)"}},
		{"rule rejected", "security-rules", 200,
			`{"success":false,"success_count":4,"rules_count":5,"errors":[{"rule_id":"c27b5e84-1f9a-4d36-b8e0-5a7c3d92e6f1","error":{"status_code":400,"message":"threshold.value: Expected number"}}]}`,
			[]string{"1 of 5 rules failed", "rule c27b5e84-1f9a-4d36-b8e0-5a7c3d92e6f1: HTTP 400: threshold.value"}},
		{"not JSON", "security-rules", 200, `<html>proxy login</html>`, []string{"unexpected answer", "<html>proxy login</html>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &double{respond: func(request) (int, string) { return tc.status, tc.answer }}
			srv := httptest.NewServer(d)
			defer srv.Close()
			kb, err := NewKibana(connConfig(srv.URL), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer kb.Close(context.Background())
			a, _ := Lookup(tc.artifact)
			results, err := (&Installer{Kibana: kb}).Install(context.Background(), a)
			if err == nil || len(results) != 1 || results[0].Outcome != Failed || !errors.Is(err, results[0].Err) {
				t.Fatalf("want one failure, got %+v, %v", results, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "assets: "+tc.artifact+": ") {
				t.Errorf("error does not name the artifact: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			checkNoCredentials(t, msg)
			if got := d.take(); len(got) != 1 || !strings.HasPrefix(got[0].Path, "/api/") {
				t.Errorf("default space: want one call under /api/, got %v", got)
			}
		})
	}
	if _, err := NewKibana(connConfig("http://127.0.0.1:1"), "Bad Space", nil); err == nil {
		t.Error("an invalid space ID must be refused")
	}
}

func TestInstallWatchDouble(t *testing.T) {
	created := false
	d := &double{product: "Elasticsearch"}
	d.respond = func(r request) (int, string) {
		if r.Method != http.MethodPut || r.Path != "/_watcher/watch/siemscore-high-score" {
			return 404, `{}`
		}
		if !created {
			created = true
			return 201, `{"_id":"siemscore-high-score","_version":1,"_seq_no":0,"_primary_term":1,"created":true}`
		}
		return 200, `{"_id":"siemscore-high-score","_version":2,"_seq_no":1,"_primary_term":1,"created":false}`
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	es, err := esclient.New(connConfig(srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close(context.Background())
	a, _ := Lookup("watch")
	in := &Installer{ES: es}
	for i, want := range []Outcome{Created, Updated} {
		results, err := in.Install(context.Background(), a)
		if err != nil || results[0].Outcome != want {
			t.Fatalf("run %d: %+v %v, want %s", i, results, err, want)
		}
	}
	for _, r := range d.take() {
		if !bytes.Equal(r.Body, mustContent(t, "watch")) {
			t.Error("the watch body differs from the artifact")
		}
	}

	for _, tc := range []struct {
		status int
		answer string
		want   error
	}{
		{403, `{"error":{"root_cause":[{"type":"security_exception","reason":"current license is non-compliant for [watcher]","license.expired.feature":"watcher"}],"type":"security_exception","reason":"current license is non-compliant for [watcher]"},"status":403}`, ErrWatcherNotLicensed},
		{400, `{"error":"no handler found for uri [/_watcher/watch/siemscore-high-score] and method [PUT]"}`, ErrWatcherUnavailable},
		{405, `{"error":"Incorrect HTTP method for uri [/_watcher/watch/x] and method [PUT], allowed: [POST]","status":405}`, ErrWatcherUnavailable},
	} {
		d.respond = func(request) (int, string) { return tc.status, tc.answer }
		_, err := in.Install(context.Background(), a)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "HTTP "+itoa(tc.status)) {
			t.Errorf("HTTP %d: got %v, want %v", tc.status, err, tc.want)
		}
	}
}

// TestInstallWatchRealElasticsearch puts the watch into the real test server. The harness
// server has no Watcher module, so the installer must say so; a cluster given with ES_URL that
// has Watcher must store the watch as shipped.
func TestInstallWatchRealElasticsearch(t *testing.T) {
	cfg := esclient.DefaultConfig()
	cfg.Hosts = []string{estest.URL(t)}
	es, err := esclient.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close(context.Background())
	a, _ := Lookup("watch")
	results, err := (&Installer{ES: es}).Install(context.Background(), a)
	switch {
	case errors.Is(err, ErrWatcherUnavailable), errors.Is(err, ErrWatcherNotLicensed):
		t.Logf("as expected for this cluster: %v", err)
		if results[0].Outcome != Failed {
			t.Errorf("outcome %s", results[0].Outcome)
		}
	case err != nil:
		t.Fatalf("unclassified failure: %v", err)
	default:
		t.Cleanup(func() { es.Watcher.DeleteWatch(a.ID) })
		res, err := es.Watcher.GetWatch(a.ID)
		if err != nil || res.IsError() {
			t.Fatalf("installed watch not readable: %v %v", res, err)
		}
		defer res.Body.Close()
		var got struct {
			Watch watchDef `json:"watch"`
		}
		json.NewDecoder(res.Body).Decode(&got)
		if got.Watch.Trigger.Schedule.Interval != watch(t).Trigger.Schedule.Interval {
			t.Errorf("stored watch differs: %+v", got.Watch)
		}
	}
}
