package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// The plugin and the siemscore binary are built once per test binary: a c-shared build takes
// minutes on a busy machine.
var (
	buildOnce sync.Once
	buildDir  string
	soPath    string
	cliPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries returns the paths of out_siemscore.so and siemscore.
func binaries(t testing.TB) (so, cli string) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "siemscore-companion"); buildErr != nil {
			return
		}
		soPath, cliPath = filepath.Join(buildDir, "out_siemscore.so"), filepath.Join(buildDir, "siemscore")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		if buildErr = flbtest.BuildPlugin(ctx, "github.com/siemscore/siemscore/plugin", soPath); buildErr != nil {
			return
		}
		out, err := exec.CommandContext(ctx, "go", "build", "-o", cliPath, "github.com/siemscore/siemscore/cmd/siemscore").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build siemscore: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return soPath, cliPath
}

// env is one test's Elasticsearch: a client, a models index and data stream namespaces, all
// removed when the test ends.
type env struct {
	t      testing.TB
	url    string
	es     *esclient.Client
	models *modelstore.Index
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := estest.URL(t)
	es := readertest.Client(t, url)
	name := estest.UniqueName(t, "siemscore-models")
	x, err := modelstore.NewIndex(es, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res, err := es.Indices.Delete([]string{name}); err == nil {
			res.Body.Close()
		}
	})
	return &env{t: t, url: url, es: es, models: x}
}

// put stores bytes under b's version in the models index, as another trainer would.
func (e *env) put(b *bundle.Bundle, data []byte) {
	e.t.Helper()
	if _, err := e.models.Put(context.Background(), b.Header(), data); err != nil {
		e.t.Fatal(err)
	}
}

// props are an [OUTPUT]'s properties for the plugin with a companion following e's models
// index; extra companion_args may be added.
func (e *env) props(cli, ns, alias, cacheDir string, retrain string, args ...string) map[string]string {
	return map[string]string{
		"es_hosts": e.url, "es_namespace": ns, "plugin_alias": alias,
		"companion_path": cli, "companion_args": strings.Join(append([]string{"--watch-every", "200ms"}, args...), " "),
		"models_index": e.models.Name(), "model_cache_dir": cacheDir, "model_retrain_interval": retrain,
	}
}

// freePort returns a TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cloudTrailChunk is chunk c of a stream of chunks of size distinct CloudTrail records, record i
// of it being plugintest.CloudTrail(c*size + i).
func cloudTrailChunk(c, size int) (flbtest.Chunk, error) {
	bodies := make([]plugintest.Body, size)
	for i := range bodies {
		bodies[i] = plugintest.Body{Kind: ecs.KindCloudTrail, Map: plugintest.CloudTrail(c*size + i)}
	}
	data, err := plugintest.Chunk(bodies)
	return flbtest.Chunk{Tag: "aws.cloudtrail", Data: data}, err
}

// feeder streams chunks 0, 1, 2, ... of cloudTrailChunk to a host from its own goroutine, while
// the test publishes, kills and waits: flbtest.Host.Send blocks until the host has read what it
// is given, and the host reads one chunk per Config.Interval, so the records flow steadily.
type feeder struct {
	h     *flbtest.Host
	size  int
	limit int // most chunks sent: a test that never stops its feeder still ends
	sent  atomic.Int64
	stopc chan struct{}
	done  chan struct{}
	err   error
	once  sync.Once
}

func startFeeder(t testing.TB, h *flbtest.Host, size, limit int) *feeder {
	f := &feeder{h: h, size: size, limit: limit, stopc: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	t.Cleanup(func() { f.stop(t) })
	return f
}

func (f *feeder) run() {
	defer close(f.done)
	for c := 0; c < f.limit; c++ {
		select {
		case <-f.stopc:
			return
		default:
		}
		chunk, err := cloudTrailChunk(c, f.size)
		if err == nil {
			err = f.h.Send(chunk)
		}
		if err != nil {
			f.err = fmt.Errorf("chunk %d: %w", c, err)
			return
		}
		f.sent.Add(1)
	}
}

// waitSent waits until n more chunks than now have been handed to the host.
func (f *feeder) waitSent(t testing.TB, n int, what string) {
	t.Helper()
	want := f.sent.Load() + int64(n)
	waitFor(t, time.Duration(n)*time.Second+10*time.Second, fmt.Sprintf("%d more chunks %s", n, what), func() bool {
		select {
		case <-f.done:
			t.Fatalf("the feeder stopped after %d chunks (limit %d): %v", f.sent.Load(), f.limit, f.err)
		default:
		}
		return f.sent.Load() >= want
	})
}

// stop ends the stream: no chunk after the one being sent, then the host's input is closed, so
// the host flushes what it holds and exits. It returns the number of records sent.
func (f *feeder) stop(t testing.TB) int {
	t.Helper()
	f.once.Do(func() {
		close(f.stopc)
		<-f.done
		if f.err != nil {
			t.Errorf("feeding the host: %v", f.err)
		}
		if err := f.h.CloseInput(); err != nil {
			t.Error(err)
		}
	})
	return int(f.sent.Load()) * f.size
}

// doc is what the tests read back of a CloudTrail record.
type doc struct {
	seq     int // i of plugintest.CloudTrail(i)
	id      string
	version string
	status  string
	ipScore float64
	entity  string
}

// docs reads every CloudTrail document of namespace ns, in record order.
func (e *env) docs(ns string) []doc {
	e.t.Helper()
	index := readertest.Stream(ecs.KindCloudTrail, ns)
	readertest.Refresh(e.t, e.url, ns)
	var out []doc
	var after []any
	for {
		q := map[string]any{
			"size": 5000, "sort": []any{map[string]string{"event.id": "asc"}},
			"_source": []string{"event.id", "siemscore.model.version", "siemscore.model.status", "siemscore.ip.score_norm", "siemscore.ip.entity"},
		}
		if after != nil {
			q["search_after"] = after
		}
		body, _ := json.Marshal(q)
		res, err := esapi.SearchRequest{Index: []string{index}, Body: bytes.NewReader(body)}.Do(context.Background(), e.es)
		if err != nil {
			e.t.Fatal(err)
		}
		if res.StatusCode == http.StatusNotFound && after == nil {
			// The data stream is created by the first record written to it.
			res.Body.Close()
			return nil
		}
		var page struct {
			Hits struct {
				Hits []struct {
					ID     string `json:"_id"`
					Sort   []any  `json:"sort"`
					Source struct {
						Event struct {
							ID string `json:"id"`
						} `json:"event"`
						SiemScore struct {
							Model struct {
								Version string `json:"version"`
								Status  string `json:"status"`
							} `json:"model"`
							IP struct {
								ScoreNorm float64 `json:"score_norm"`
								Entity    string  `json:"entity"`
							} `json:"ip"`
						} `json:"siemscore"`
					} `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.IsError() {
			e.t.Fatalf("search %s: %s %v", index, res.Status(), err)
		}
		for _, h := range page.Hits.Hits {
			s := h.Source
			seq, _ := strconv.Atoi(strings.TrimPrefix(s.Event.ID, "ct-"))
			out = append(out, doc{seq: seq, id: h.ID, version: s.SiemScore.Model.Version, status: s.SiemScore.Model.Status,
				ipScore: s.SiemScore.IP.ScoreNorm, entity: s.SiemScore.IP.Entity})
			after = h.Sort
		}
		if len(page.Hits.Hits) < 5000 {
			return out
		}
	}
}

// scoredBy reports whether namespace ns holds a CloudTrail document scored by version: the
// proof that records flowed while it was in use ("sent" only means handed to the host, which may
// hold them while a slow flush finishes).
func (e *env) scoredBy(ns, version string) bool {
	e.t.Helper()
	readertest.Refresh(e.t, e.url, ns)
	body := fmt.Sprintf(`{"query":{"term":{"siemscore.model.version":%q}}}`, version)
	res, err := esapi.CountRequest{Index: []string{readertest.Stream(ecs.KindCloudTrail, ns)}, Body: strings.NewReader(body)}.Do(context.Background(), e.es)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return false
	}
	var n struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&n); err != nil || res.IsError() {
		e.t.Fatalf("count %s in %s: %s %v", version, ns, res.Status(), err)
	}
	return n.Count > 0
}

// checkRecords checks that namespace ns holds records first..first+n-1 exactly once, each scored
// by one of the versions allowed, versions never going back in record order; it returns the
// distinct versions in order.
func (e *env) checkRecords(ns string, first, n int, allowed []string) []string {
	e.t.Helper()
	ds := e.docs(ns)
	seen := map[int]bool{}
	var versions []string
	for _, d := range ds {
		if seen[d.seq] {
			e.t.Errorf("%s: record %d written twice", ns, d.seq)
		}
		seen[d.seq] = true
		if !slices.Contains(allowed, d.version) || d.status != "scored" {
			e.t.Errorf("%s: record %d scored by %q (%s), want one of %v", ns, d.seq, d.version, d.status, allowed)
		}
		if len(versions) > 0 && d.version < versions[len(versions)-1] {
			e.t.Errorf("%s: record %d has version %s after %s: versions went backwards", ns, d.seq, d.version, versions[len(versions)-1])
		}
		if len(versions) == 0 || d.version != versions[len(versions)-1] {
			versions = append(versions, d.version)
		}
	}
	if len(ds) != n || len(seen) != n {
		e.t.Errorf("%s: %d documents (%d distinct records), want %d", ns, len(ds), len(seen), n)
	}
	for i := first; i < first+n; i++ {
		if !seen[i] {
			e.t.Errorf("%s: record %d lost", ns, i)
			break
		}
	}
	return versions
}

// companions lists the running companion processes of a models index (their command line names
// it).
func companions(index string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if slices.Contains(args, "trainer") && slices.Contains(args, index) && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// waitFor polls cond for up to limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// swappedTo reports whether the plugin's log says it swapped in version v.
func swappedTo(log *flblogtest.Buffer, v string) bool {
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "model bundle swapped in") && strings.Contains(line, "version="+v+" ") {
			return true
		}
	}
	return false
}

// startHost starts flbhost with the instances; the test stops it unless it does so itself.
func startHost(t testing.TB, cfg flbtest.Config) (*flbtest.Host, *flblogtest.Buffer) {
	t.Helper()
	stderr := &flblogtest.Buffer{}
	cfg.Stderr = stderr
	h, err := flbtest.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Signal(os.Interrupt)
		_, _ = h.Wait()
		if t.Failed() {
			path := filepath.Join(os.TempDir(), t.Name()+".stderr")
			_ = os.WriteFile(path, []byte(stderr.String()), 0o600)
			t.Logf("host stderr in %s; its end:\n%s", path, tail(stderr.String(), 3000))
		}
	})
	return h, stderr
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
