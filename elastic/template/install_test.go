package template

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

func newClient(t *testing.T, url string) *esclient.Client {
	t.Helper()
	c := esclient.DefaultConfig()
	c.Hosts = []string{url}
	cl, err := esclient.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

func getJSON(t *testing.T, url, path string, out any) int {
	t.Helper()
	res, err := http.Get(url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return res.StatusCode
}

// isolatedConfig installs under a name and patterns of the test's own, so tests here never
// touch the templates other packages' tests rely on.
func isolatedConfig(t *testing.T) Config {
	t.Helper()
	tag := strings.TrimPrefix(estest.UniqueName(t, "x"), "x-")
	cfg := DefaultConfig()
	cfg.Name = "sstest-" + tag
	cfg.Patterns = []string{"logs-sstest" + tag + ".*-*"}
	cfg.DeadLetterPatterns = []string{"logs-sstest" + tag + ".deadletter-*"}
	cfg.Replicas = 0
	t.Cleanup(func() {
		for _, name := range []string{cfg.LogsTemplate(), cfg.DeadLetterTemplate()} {
			req, _ := http.NewRequest(http.MethodDelete, estest.URL(t)+"/_index_template/"+name, nil)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}
	})
	return cfg
}

func TestInstallIsIdempotent(t *testing.T) {
	url := estest.URL(t)
	cl := newClient(t, url)
	cfg := isolatedConfig(t)
	cfg.Retention = 30 * 24 * time.Hour

	res, err := Install(context.Background(), cl, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The harness server has no ILM: detection must fall back to data stream lifecycle.
	if res.Lifecycle != LifecycleDataStream || len(res.Written) != 2 || len(res.Unchanged) != 0 {
		t.Fatalf("first install: %+v", res)
	}
	res, err = Install(context.Background(), cl, cfg, nil)
	if err != nil || len(res.Written) != 0 || len(res.Unchanged) != 2 {
		t.Fatalf("second install must write nothing: %+v %v", res, err)
	}

	var got struct {
		IndexTemplates []struct {
			IndexTemplate struct {
				Priority int `json:"priority"`
				Version  int `json:"version"`
				Template struct {
					Lifecycle struct {
						DataRetention string `json:"data_retention"`
					} `json:"lifecycle"`
					Settings map[string]any `json:"settings"`
				} `json:"template"`
				Meta map[string]any `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	getJSON(t, url, "/_index_template/"+cfg.LogsTemplate(), &got)
	it := got.IndexTemplates[0].IndexTemplate
	if it.Priority != 250 || it.Version != SchemaVersion || it.Template.Lifecycle.DataRetention != "30d" || it.Meta["managed_by"] != "siemscore" {
		t.Errorf("installed template: %+v", it)
	}
	if _, ilm := it.Template.Settings["index"].(map[string]any)["lifecycle"]; ilm {
		t.Errorf("no ILM policy may be referenced without ILM: %v", it.Template.Settings)
	}

	// A changed configuration is written again.
	cfg.Retention = 7 * 24 * time.Hour
	res, err = Install(context.Background(), cl, cfg, nil)
	if err != nil || len(res.Written) != 2 {
		t.Fatalf("changed retention: %+v %v", res, err)
	}
}

func TestConcurrentInstallsAgree(t *testing.T) {
	url := estest.URL(t)
	cfg := isolatedConfig(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			_, err := Install(context.Background(), newClient(t, url), cfg, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	res, err := Install(context.Background(), newClient(t, url), cfg, nil)
	if err != nil || len(res.Unchanged) != 2 {
		t.Errorf("after concurrent installs: %+v %v", res, err)
	}
}

func TestNewerSchemaIsLeftAlone(t *testing.T) {
	url := estest.URL(t)
	cl := newClient(t, url)
	cfg := isolatedConfig(t)
	newer := fmt.Sprintf(`{"index_patterns":[%q],"priority":%d,"data_stream":{},"_meta":{"schema_version":%d,"hash":"from-the-future"}}`,
		cfg.Patterns[0], cfg.Priority, SchemaVersion+1)
	req, _ := http.NewRequest(http.MethodPut, url+"/_index_template/"+cfg.LogsTemplate(), strings.NewReader(newer))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", res, err)
	}
	res.Body.Close()
	r, err := Install(context.Background(), cl, cfg, nil)
	if err != nil || len(r.Newer) != 1 || r.Newer[0] != cfg.LogsTemplate() || len(r.Written) != 1 {
		t.Errorf("%+v %v", r, err)
	}
}

// fill sets every leaf of a document to a value of its type, so one document exercises the
// whole mapping.
func fill(v reflect.Value) {
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)))
		return
	case addrType:
		v.Set(reflect.ValueOf(netip.MustParseAddr("192.0.2.10")))
		return
	case reflect.TypeFor[ecs.OptTime]():
		v.Set(reflect.ValueOf(ecs.Time(time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC))))
		return
	case reflect.TypeFor[ecs.OptFloat]():
		v.Set(reflect.ValueOf(ecs.Float(1.5)))
		return
	case reflect.TypeFor[ecs.OptInt]():
		v.Set(reflect.ValueOf(ecs.Int(7)))
		return
	case reflect.TypeFor[ecs.OptBool]():
		v.Set(reflect.ValueOf(ecs.Bool(true)))
		return
	case reflect.TypeFor[ecs.RawJSON]():
		v.Set(reflect.ValueOf(ecs.RawJSON(`{"user":{"name":"a"},"count":3}`)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("value")
	case reflect.Int, reflect.Int64:
		v.SetInt(42)
	case reflect.Float64:
		v.SetFloat(0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Tag.Get("json") != "-" {
				fill(v.Field(i))
			}
		}
	}
}

// TestEveryKindIndexesWithTheMappedTypes installs the production templates, writes a document
// with every field set into each kind's data stream and a dead-letter document with every field
// set into the dead-letter one, and checks in _mapping that Elasticsearch mapped each field as
// the template says (not dynamically). The documents are written with a plain bulk request:
// what is checked is the template, whatever writes through it.
func TestEveryKindIndexesWithTheMappedTypes(t *testing.T) {
	url := estest.URL(t)
	cl := newClient(t, url)
	cfg := DefaultConfig() // the templates delivery writes through (same config as elastic/deliver's tests)
	cfg.Replicas = 0
	if _, err := Install(context.Background(), cl, cfg, nil); err != nil {
		t.Fatal(err)
	}
	ns := strings.TrimPrefix(estest.UniqueName(t, "x"), "x-")

	var bulk strings.Builder
	add := func(index string, doc any) {
		body, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q}}\n%s\n", index, body)
	}
	for _, k := range ecs.Kinds() {
		ds := target.DataStream(k.String(), ns)
		t.Cleanup(func() { estest.DeleteDataStream(t, ds) })
		doc := &ecs.Document{}
		fill(reflect.ValueOf(doc).Elem())
		doc.DataStream = ecs.DataStream{Type: "logs", Dataset: target.DatasetPrefix + k.String(), Namespace: ns}
		doc.Passthrough = `{"kubernetes":{"pod":"p","restarts":2}}`
		add(ds, doc)
	}
	dead := &ecs.DeadLetterDocument{}
	fill(reflect.ValueOf(dead).Elem())
	dead.DataStream = ecs.DataStream{Type: "logs", Dataset: target.DeadLetterDataset, Namespace: ns}
	add(target.DeadLetter(ns), dead)
	t.Cleanup(func() { estest.DeleteDataStream(t, target.DeadLetter(ns)) })

	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if code := postJSON(t, url, "/_bulk?refresh=true", bulk.String(), &res); code != http.StatusOK || res.Errors || len(res.Items) != len(ecs.Kinds())+1 {
		t.Fatalf("bulk: HTTP %d, %+v", code, res)
	}

	logs := loadMappings(t, logsMappings)
	for _, k := range ecs.Kinds() {
		ds := target.DataStream(k.String(), ns)
		checkInstalledMapping(t, url, ds, logs, reflect.TypeFor[ecs.Document]())
		m := installedMapping(t, url, ds)
		if f, _ := mappedField(m, "kubernetes.pod"); f["type"] != "keyword" {
			t.Errorf("%s: passthrough string kubernetes.pod mapped as %v, want keyword", ds, f)
		}
		if f, _ := mappedField(m, "kubernetes.restarts"); f["type"] != "long" {
			t.Errorf("%s: passthrough number mapped as %v, want long", ds, f)
		}
	}
	checkInstalledMapping(t, url, target.DeadLetter(ns), loadMappings(t, deadLetterMappings), reflect.TypeFor[ecs.DeadLetterDocument]())
}

// postJSON sends body (NDJSON for _bulk) and decodes the JSON answer into out.
func postJSON(t *testing.T, url, path, body string, out any) int {
	t.Helper()
	res, err := http.Post(url+path, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// installedMapping returns the mapping of a data stream's write index.
func installedMapping(t *testing.T, url, ds string) map[string]any {
	t.Helper()
	var got map[string]struct {
		Mappings map[string]any `json:"mappings"`
	}
	if st := getJSON(t, url, "/"+ds+"/_mapping", &got); st != http.StatusOK || len(got) == 0 {
		t.Fatalf("%s: _mapping HTTP %d", ds, st)
	}
	// The write index is the newest: backing index names end in a zero-padded generation.
	names := slices.Sorted(maps.Keys(got))
	return got[names[len(names)-1]].Mappings
}

func checkInstalledMapping(t *testing.T, url, ds string, want map[string]any, docType reflect.Type) {
	t.Helper()
	got := installedMapping(t, url, ds)
	for _, l := range leaves(docType, "") {
		w, _ := mappedField(want, l.path)
		g, ok := mappedField(got, l.path)
		if !ok || g["type"] != w["type"] {
			t.Errorf("%s: %s mapped as %v, the template says %v", ds, l.path, g, w)
		}
	}
}

// fakeILM is a cluster with ILM: it answers the status call and records what is installed.
type fakeILM struct {
	mu  sync.Mutex
	put map[string]map[string]any
}

func (f *fakeILM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_ilm/status":
		io.WriteString(w, `{"operation_mode":"RUNNING"}`)
	case r.Method == http.MethodGet:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{}`)
	case r.Method == http.MethodPut:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.put[r.URL.Path] = body
		f.mu.Unlock()
		io.WriteString(w, `{"acknowledged":true}`)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestILMDetectedAndAttached(t *testing.T) {
	f := &fakeILM{put: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Retention = 90 * 24 * time.Hour
	res, err := Install(context.Background(), newClient(t, srv.URL), cfg, nil)
	if err != nil || res.Lifecycle != LifecycleILM || len(res.Written) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	policy := f.put["/_ilm/policy/siemscore-logs"]["policy"].(map[string]any)
	phases := policy["phases"].(map[string]any)
	if phases["delete"].(map[string]any)["min_age"] != "90d" || phases["hot"] == nil {
		t.Errorf("policy %v", policy)
	}
	for _, name := range []string{"siemscore-logs", "siemscore-deadletter"} {
		tmpl := f.put["/_index_template/"+name]["template"].(map[string]any)
		if tmpl["settings"].(map[string]any)["index.lifecycle.name"] != "siemscore-logs" {
			t.Errorf("%s: settings %v", name, tmpl["settings"])
		}
		if _, dsl := tmpl["lifecycle"]; dsl {
			t.Errorf("%s: data stream lifecycle set next to ILM", name)
		}
	}
}

func TestDisabledInstallsNothing(t *testing.T) {
	f := &fakeILM{put: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Enabled = false
	if _, err := Install(context.Background(), newClient(t, srv.URL), cfg, nil); err != nil || len(f.put) != 0 {
		t.Errorf("disabled install wrote %v (%v)", f.put, err)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for field, edit := range map[string]func(*Config){
		"Name":               func(c *Config) { c.Name = "Bad Name" },
		"Priority":           func(c *Config) { c.Priority = 200 },
		"Patterns":           func(c *Config) { c.Patterns = nil },
		"DeadLetterPatterns": func(c *Config) { c.DeadLetterPatterns = []string{"A*"} },
		"Lifecycle":          func(c *Config) { c.Lifecycle = "forever" },
		"Retention":          func(c *Config) { c.Retention = time.Minute },
		"ILMPolicy":          func(c *Config) { c.ILMPolicy = "a b" },
		"Replicas":           func(c *Config) { c.Replicas = -2 },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	c := DefaultConfig()
	c.Lifecycle, c.Retention = LifecycleNone, 48*time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Retention") {
		t.Errorf("retention without lifecycle: %v", err)
	}
	for d, want := range map[time.Duration]string{
		90 * 24 * time.Hour: "90d", 36 * time.Hour: "36h", 90 * time.Minute: "90m", 3601 * time.Second: "3601s",
	} {
		if got := esDuration(d); got != want {
			t.Errorf("esDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

// TestChangedTemplateRollsExistingDataStreamsOver shows why Install rolls over: a field added
// to the template reaches a data stream that already exists at its next write.
func TestChangedTemplateRollsExistingDataStreamsOver(t *testing.T) {
	url := estest.URL(t)
	cl := newClient(t, url)
	cfg := isolatedConfig(t)
	if _, err := Install(context.Background(), cl, cfg, nil); err != nil {
		t.Fatal(err)
	}
	ds := strings.Replace(cfg.Patterns[0], "*", "cloudtrail", 1)
	ds = strings.Replace(ds, "*", "default", 1)
	t.Cleanup(func() { estest.DeleteDataStream(t, ds) })
	write := func(id string) {
		req, _ := http.NewRequest(http.MethodPut, url+"/"+ds+"/_create/"+id, strings.NewReader(`{"@timestamp":"2024-01-01T00:00:00Z"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("write %s: %v %v", id, res, err)
		}
		res.Body.Close()
	}
	write("1")

	// The next siemscore version maps one more field.
	orig := logsMappings
	t.Cleanup(func() { logsMappings = orig })
	m := loadMappings(t, orig)
	m["properties"].(map[string]any)["siemscore"].(map[string]any)["properties"].(map[string]any)["probe_field"] = map[string]any{"type": "float"}
	logsMappings, _ = json.Marshal(m)

	res, err := Install(context.Background(), cl, cfg, nil)
	if err != nil || !slices.Contains(res.Written, cfg.LogsTemplate()) || !slices.Equal(res.RolledOver, []string{ds}) {
		t.Fatalf("%+v %v", res, err)
	}
	write("2")
	if f, ok := mappedField(installedMapping(t, url, ds), "siemscore.probe_field"); !ok || f["type"] != "float" {
		t.Errorf("the existing data stream did not take up the new field: %v", f)
	}
}
