package flbtest_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/flbtest"
)

var (
	soDir    string
	pluginMu sync.Mutex
	plugins  = map[string]string{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flbhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	soDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// plugin builds testdata/<name> once per test binary.
func plugin(t testing.TB, name string) string {
	t.Helper()
	pluginMu.Lock()
	defer pluginMu.Unlock()
	if so, ok := plugins[name]; ok {
		return so
	}
	so := filepath.Join(soDir, name+".so")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := flbtest.BuildPlugin(ctx, "./testdata/"+name, so); err != nil {
		t.Fatal(err)
	}
	plugins[name] = so
	return so
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// call is one line of the echo plugin's log.
type call struct {
	Call     string             `json:"call"`
	Hot      int                `json:"hot"`
	ID       *string            `json:"id"`
	Props    map[string]*string `json:"props"`
	Result   string             `json:"result"`
	Tag      string             `json:"tag"`
	SHA256   string             `json:"sha256"`
	Size     int                `json:"size"`
	Objects  int                `json:"objects"`
	Complete bool               `json:"complete"`
	TID      int                `json:"tid"`
	RC       int                `json:"rc"`
	Flushes  int64              `json:"flushes"`
	Lookup   *string            `json:"lookup"`
}

func (c call) id() string {
	if c.ID == nil {
		return "<nil>"
	}
	return *c.ID
}

// echoLog returns the environment that makes the plugins log to a fresh
// file, and a function that reads it.
func echoLog(t *testing.T) ([]string, func() []call) {
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	return []string{"ECHOPLUGIN_LOG=" + path}, func() []call {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var calls []call
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var c call
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("log line %q: %v", sc.Text(), err)
			}
			calls = append(calls, c)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return calls
	}
}

// lifecycle renders the non-flush calls, for comparing call sequences.
func lifecycle(calls []call) []string {
	var out []string
	for _, c := range calls {
		switch c.Call {
		case "flush":
		case "init":
			out = append(out, strings.TrimSpace(fmt.Sprintf("init %s %s", c.id(), c.Result)))
		case "exit_ctx":
			out = append(out, fmt.Sprintf("exit_ctx %s", c.id()))
		case "pre_register", "pre_run", "pre_exit":
			out = append(out, fmt.Sprintf("%s %d", c.Call, c.Hot))
		default:
			out = append(out, c.Call)
		}
	}
	return out
}

func flushesOf(calls []call, id string) []call {
	var out []call
	for _, c := range calls {
		if c.Call == "flush" && c.id() == id {
			out = append(out, c)
		}
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type testChunk struct {
	flbtest.Chunk
	events int // top-level msgpack objects
}

func encode(t testing.TB, tag string, events int, write func(*decodetest.Encoder)) testChunk {
	t.Helper()
	var e decodetest.Encoder
	write(&e)
	data, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	return testChunk{flbtest.Chunk{Tag: tag, Data: data}, events}
}

// mixedChunks covers the event shapes a Go plugin receives raw (ABI §6).
func mixedChunks(t testing.TB) []testChunk {
	ts := time.Unix(1700000000, 123456789)
	body := func(i int) map[string]any { return map[string]any{"message": fmt.Sprintf("event %d", i), "n": i} }
	return []testChunk{
		encode(t, "app.v2", 2, func(e *decodetest.Encoder) {
			e.V2(decodetest.EventTime(ts), map[string]any{"source": "tail"}, body(1))
			e.V2(decodetest.EventTime(ts.Add(time.Second)), nil, body(2))
		}),
		encode(t, "app.v1", 1, func(e *decodetest.Encoder) {
			e.V1(decodetest.IntSeconds(ts.Unix()), body(3))
		}),
		encode(t, "otel.group", 3, func(e *decodetest.Encoder) {
			e.GroupStart(map[string]any{"schema": "otlp"}, map[string]any{"service.name": "api"})
			e.V2(decodetest.EventTime(ts), nil, body(4))
			e.GroupEnd()
		}),
		encode(t, "app.float", 2, func(e *decodetest.Encoder) {
			e.V2(decodetest.FloatSeconds(1700000000.5), nil, body(5))
			e.V2(decodetest.IntSeconds(ts.Unix()), nil, body(6))
		}),
	}
}

func chunksOf(tcs []testChunk) []flbtest.Chunk {
	out := make([]flbtest.Chunk, len(tcs))
	for i, c := range tcs {
		out[i] = c.Chunk
	}
	return out
}

func str(s string) *string { return &s }

func TestEveryChunkReachesEveryInstanceWithItsOwnProperties(t *testing.T) {
	env, readLog := echoLog(t)
	chunks := mixedChunks(t)
	var mu sync.Mutex
	var routes []flbtest.Event
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{
			{Name: "echo", Props: map[string]string{
				"id":          "a",
				"idx":         "zz",
				"missingx":    "a longer key is not a match",
				"empty":       "",
				"env":         "${FLBHOST_TEST_VAR}/${FLBHOST_UNSET_VAR:-fallback}",
				"retry_limit": "3",
				"Match":       "*",
				"echo_keys":   "ID,idx,empty,missing,env,retry_limit,match,alias",
			}},
			{Props: map[string]string{"id": "b", "alias": "second", "echo_keys": "id,idx"}},
		},
		Workers: 2,
		Verbose: 1,
		OnEvent: func(ev flbtest.Event) {
			mu.Lock()
			defer mu.Unlock()
			routes = append(routes, ev)
		},
		Env: append(env, "FLBHOST_TEST_VAR=from-env"),
	}
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(chunks)...)
	if err != nil {
		t.Fatal(err)
	}

	if sum.Plugin != "echo" || sum.Chunks != 4 || sum.Routes != 8 || sum.FlushCalls != 8 || sum.OK != 8 ||
		sum.Delivered != 8 || sum.Dropped != 0 || sum.MutatedBuffers != 0 || sum.PropertyLookupsOutsideInit != 0 {
		t.Errorf("summary: %+v", sum)
	}
	a, okA := sum.Instance("echo.0")
	b, okB := sum.Instance("second")
	if !okA || !okB || a.Delivered != 4 || b.Delivered != 4 || a.RetryLimit != 3 || b.RetryLimit != 1 {
		t.Errorf("instances: %+v", sum.Instances)
	}
	if len(routes) != 8 {
		t.Errorf("got %d route events, want 8", len(routes))
	}
	for _, ev := range routes {
		if ev.Event != "route" || ev.Outcome != "delivered" || ev.Attempts != 1 || ev.Tag != chunks[ev.Seq].Tag {
			t.Errorf("route event %+v", ev)
		}
	}

	calls := readLog()
	want := []string{
		"pre_register 0", "register", "init a ok", "init b ok", "pre_run 0", "pre_run 0",
		"pre_exit 0", "exit_ctx a", "pre_exit 0", "exit_ctx b", "unregister",
	}
	if got := lifecycle(calls); !slices.Equal(got, want) {
		t.Errorf("call sequence\n got %q\nwant %q", got, want)
	}

	// §5: case-insensitive, exact length, NULL for empty and missing, core
	// keys consumed, ${VAR} expanded.
	wantProps := map[string]map[string]*string{
		"a": {"ID": str("a"), "idx": str("zz"), "empty": nil, "missing": nil, "env": str("from-env/fallback"),
			"retry_limit": nil, "match": nil, "alias": nil},
		"b": {"id": str("b"), "idx": nil},
	}
	for _, c := range calls {
		if c.Call != "init" {
			continue
		}
		for key, want := range wantProps[c.id()] {
			got, ok := c.Props[key]
			if !ok || (got == nil) != (want == nil) || (got != nil && *got != *want) {
				t.Errorf("instance %s: property %q = %v, want %v", c.id(), key, deref(got), deref(want))
			}
		}
	}

	for _, id := range []string{"a", "b"} {
		flushes := flushesOf(calls, id)
		if len(flushes) != len(chunks) {
			t.Fatalf("instance %s: %d flushes, want %d", id, len(flushes), len(chunks))
		}
		for _, c := range chunks {
			i := slices.IndexFunc(flushes, func(f call) bool { return f.SHA256 == sha(c.Data) })
			if i < 0 {
				t.Errorf("instance %s never received chunk %s intact", id, c.Tag)
				continue
			}
			f := flushes[i]
			if f.Tag != c.Tag || f.Size != len(c.Data) || f.Objects != c.events || !f.Complete || f.RC != 1 {
				t.Errorf("instance %s, chunk %s: flush %+v", id, c.Tag, f)
			}
		}
	}
	for _, c := range calls {
		if c.Call == "exit_ctx" && c.Flushes != int64(len(chunks)) {
			t.Errorf("exit_ctx %s saw %d flushes, want %d", c.id(), c.Flushes, len(chunks))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<NULL>"
	}
	return fmt.Sprintf("%q", *s)
}

func TestRetryResendsTheOriginalBytes(t *testing.T) {
	env, readLog := echoLog(t)
	chunks := mixedChunks(t)
	var flushEvents []flbtest.Event
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		// scribble: the plugin corrupts its (const) input; the retry must
		// still carry the bytes Fluent Bit buffered
		Instances: []flbtest.Instance{{Props: map[string]string{"id": "r", "retry_first": "true", "scribble": "true"}}},
		Workers:   2,
		RetryBase: time.Millisecond,
		RetryCap:  5 * time.Millisecond,
		Verbose:   2,
		OnEvent: func(ev flbtest.Event) {
			if ev.Event == "flush" {
				flushEvents = append(flushEvents, ev)
			}
		},
		Env: env,
	}
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(chunks)...)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(len(chunks))
	if sum.FlushCalls != 2*n || sum.Retry != n || sum.OK != n || sum.Delivered != n || sum.MaxAttempts != 2 ||
		sum.MutatedBuffers != 2*n {
		t.Errorf("summary: %+v", sum.Counts)
	}

	flushes := flushesOf(readLog(), "r")
	for _, c := range chunks {
		var rcs []int
		for _, f := range flushes {
			if f.SHA256 == sha(c.Data) {
				rcs = append(rcs, f.RC)
			}
		}
		if !slices.Equal(rcs, []int{2, 1}) {
			t.Errorf("chunk %s: return codes of the flushes with its exact bytes %v, want [2 1]", c.Tag, rcs)
		}
	}
	for _, ev := range flushEvents {
		if want := map[int]int{1: 2, 2: 1}[ev.Attempt]; ev.RC != want {
			t.Errorf("flush event %+v: want rc %d", ev, want)
		}
	}
	if len(flushEvents) != int(2*n) {
		t.Errorf("%d flush events, want %d", len(flushEvents), 2*n)
	}
}

func TestRetryLimitsAndReturnCodes(t *testing.T) {
	env, readLog := echoLog(t)
	chunks := mixedChunks(t)[:2]
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{
			{Props: map[string]string{"id": "limit3", "alias": "limit3", "rc": "2", "retry_limit": "3"}},
			{Props: map[string]string{"id": "noretry", "alias": "noretry", "rc": "2", "retry_limit": "no_retries"}},
			{Props: map[string]string{"id": "error", "alias": "error", "rc": "0"}},
			{Props: map[string]string{"id": "invalid", "alias": "invalid", "rc": "7"}},
		},
		Workers:   3,
		RetryBase: time.Millisecond,
		RetryCap:  4 * time.Millisecond,
		Env:       env,
	}
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(chunks)...)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(len(chunks))
	want := map[string]flbtest.Counts{
		"limit3":  {Routes: n, FlushCalls: 4 * n, Retry: 4 * n, Dropped: n, DroppedRetryLimit: n, MaxAttempts: 4},
		"noretry": {Routes: n, FlushCalls: n, Retry: n, Dropped: n, DroppedNoRetries: n, MaxAttempts: 1},
		"error":   {Routes: n, FlushCalls: n, Error: n, Dropped: n, DroppedError: n, MaxAttempts: 1},
		"invalid": {Routes: n, FlushCalls: n, Error: n, InvalidRC: n, Dropped: n, DroppedError: n, MaxAttempts: 1},
	}
	for name, w := range want {
		got, ok := sum.Instance(name)
		got.FlushTimeMS = 0
		if !ok || got.Counts != w {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got.Counts, w)
		}
	}
	calls := readLog()
	for name, w := range want {
		if got := len(flushesOf(calls, name)); uint64(got) != w.FlushCalls {
			t.Errorf("%s: the plugin saw %d flushes, the host counted %d", name, got, w.FlushCalls)
		}
	}
}

func TestFailingInitAbortsStartupNamingTheInstance(t *testing.T) {
	env, readLog := echoLog(t)
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{
			{Props: map[string]string{"id": "a"}},
			{Props: map[string]string{"id": "b", "fail_init": "true"}},
			{Props: map[string]string{"id": "c"}},
		},
		Env: env,
	}
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(mixedChunks(t))...)
	var ee *flbtest.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("got %v, want an ExitError with code 3", err)
	}
	if sum == nil || sum.ExitReason != "init_failed" || sum.FailedInstance != "echo.1" || sum.FailedRC != 0 || sum.FlushCalls != 0 {
		t.Errorf("summary: %+v", sum)
	}
	if !strings.Contains(ee.Stderr, "failed to initialize") || !strings.Contains(err.Error(), `"echo.1"`) {
		t.Errorf("error does not name the instance: %v", err)
	}
	// Fluent Bit drops the failed instance and runs the exit callbacks of
	// the others, including ExitCtx(NULL) for the one never initialised.
	want := []string{
		"pre_register 0", "register", "init a ok", "init b fail",
		"pre_exit 0", "exit_ctx a", "pre_exit 0", "exit_ctx <nil>", "unregister",
	}
	if got := lifecycle(readLog()); !slices.Equal(got, want) {
		t.Errorf("call sequence\n got %q\nwant %q", got, want)
	}
}

func TestLoadFailures(t *testing.T) {
	so := plugin(t, "echoplugin")
	cprefix := filepath.Join(t.TempDir(), "flb-echo.so")
	if err := os.Symlink(so, cprefix); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, plugin, output, stderr string
	}{
		{"unknown-output-name", so, "es", "plugin 'es' does not exist"},
		{"c-plugin-prefix", cprefix, "", "as a C plugin"},
		{"not-a-shared-object", "/dev/null", "", "error opening plugin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := flbtest.Config{Plugin: tc.plugin, Instances: []flbtest.Instance{{Name: tc.output}}}
			sum, err := flbtest.Run(testContext(t), cfg)
			var ee *flbtest.ExitError
			if !errors.As(err, &ee) || ee.Code != 2 || sum == nil || sum.ExitReason != "load_failed" ||
				!strings.Contains(ee.Stderr, tc.stderr) {
				t.Fatalf("got %v (summary %+v), want exit code 2 and %q", err, sum, tc.stderr)
			}
		})
	}
}

func TestPropertyLookupDuringFlushReadsTheLastInitialisedInstance(t *testing.T) {
	env, readLog := echoLog(t)
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{
			{Props: map[string]string{"id": "a", "lookup_in_flush": "id"}},
			{Props: map[string]string{"id": "b"}},
		},
		Env: env,
	}
	chunks := mixedChunks(t)
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(chunks)...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.PropertyLookupsOutsideInit != uint64(len(chunks)) {
		t.Errorf("lookups outside Init: %d, want %d", sum.PropertyLookupsOutsideInit, len(chunks))
	}
	for _, f := range flushesOf(readLog(), "a") {
		if f.Lookup == nil || *f.Lookup != "b" {
			t.Errorf("instance a's lookup during flush gave %s, want instance b's id", deref(f.Lookup))
		}
	}
}

func TestConcurrentFlushes(t *testing.T) {
	const n = 2000
	chunks := make([]flbtest.Chunk, n)
	for i := range chunks {
		chunks[i] = encode(t, "load", 1, func(e *decodetest.Encoder) {
			e.V2(decodetest.EventTime(time.Unix(1700000000+int64(i), 0)), nil, map[string]any{"i": i})
		}).Chunk
	}
	for _, tc := range []struct {
		name          string
		workers       int
		stack         flbtest.StackMode
		sanitize      bool
		wantThreads   int
		minConcurrent int
	}{
		// 64 KiB coroutine stacks on four threads, as with workers 4
		{"coro", 4, flbtest.StackCoro, false, 4, 2},
		// the C stack moves between calls; checked by ASan/UBSan
		{"alternate-sanitized", 4, flbtest.StackAlternate, true, 4, 2},
		// Fluent Bit's default for Go outputs: the engine thread, coroutines
		{"engine-thread", 0, flbtest.StackDefault, false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, readLog := echoLog(t)
			cfg := flbtest.Config{
				Plugin:    plugin(t, "echoplugin"),
				Instances: []flbtest.Instance{{Props: map[string]string{"id": "c", "sleep_us": "100"}}},
				Workers:   tc.workers,
				Stack:     tc.stack,
				Sanitize:  tc.sanitize,
				Env:       env,
			}
			sum, err := flbtest.Run(testContext(t), cfg, chunks...)
			if err != nil {
				t.Fatal(err)
			}
			if sum.FlushCalls != n || sum.Delivered != n || sum.CoroFlushes+sum.ThreadFlushes != n {
				t.Errorf("summary: %+v", sum)
			}
			// each worker alternates, so the two counts differ by at most
			// one per worker
			if diff := int(sum.CoroFlushes) - int(sum.ThreadFlushes); tc.stack == flbtest.StackAlternate &&
				(diff < -tc.workers || diff > tc.workers) || tc.stack != flbtest.StackAlternate && sum.CoroFlushes != n {
				t.Errorf("%d flushes on coroutine stacks, %d on thread stacks", sum.CoroFlushes, sum.ThreadFlushes)
			}
			calls := readLog()
			flushes := flushesOf(calls, "c")
			tids, hashes := map[int]bool{}, map[string]bool{}
			for _, f := range flushes {
				tids[f.TID] = true
				hashes[f.SHA256] = true
			}
			if len(flushes) != n || len(hashes) != n {
				t.Errorf("the plugin saw %d flushes of %d distinct chunks, want %d", len(flushes), len(hashes), n)
			}
			if len(tids) != tc.wantThreads {
				t.Errorf("flushes ran on %d threads, want %d", len(tids), tc.wantThreads)
			}
			if got := sum.Instances[0].MaxConcurrent; got < tc.minConcurrent || (tc.workers == 0 && got != 1) {
				t.Errorf("max concurrent flushes %d", got)
			}
			if got := lifecycle(calls); got[len(got)-1] != "unregister" {
				t.Errorf("no clean exit: %q", got)
			}
		})
	}
}

// The sanitized host reports C memory a plugin loses, but not the one byte
// per Init that FLBPluginSetContext keeps by design.
func TestSanitizedHostReportsPluginLeaks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		leak  bool
	}{
		{"clean", map[string]string{"id": "a"}, false},
		{"leaking", map[string]string{"id": "a", "leak_bytes": "64"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := flbtest.Config{
				Plugin:    plugin(t, "echoplugin"),
				Instances: []flbtest.Instance{{Props: tc.props}, {Props: map[string]string{"id": "b"}}},
				Workers:   2,
				Sanitize:  true,
			}
			sum, err := flbtest.Run(testContext(t), cfg, chunksOf(mixedChunks(t))...)
			if !tc.leak {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ee *flbtest.ExitError
			if !errors.As(err, &ee) || ee.Code != 23 || !strings.Contains(ee.Stderr, "LeakSanitizer") ||
				!strings.Contains(ee.Stderr, "256 byte(s) leaked in 4 allocation(s)") {
				t.Fatalf("got %v, want a LeakSanitizer report of 4 lost 64-byte blocks", err)
			}
			if sum == nil || sum.Delivered != 8 {
				t.Errorf("summary: %+v", sum)
			}
		})
	}
}

func TestLegacyPluginWithoutContexts(t *testing.T) {
	env, readLog := echoLog(t)
	chunks := mixedChunks(t)
	cfg := flbtest.Config{
		Plugin:    plugin(t, "legacyplugin"),
		Instances: []flbtest.Instance{{Props: map[string]string{"id": "x"}}, {Props: map[string]string{"id": "y"}}},
		Workers:   1,
		Env:       env,
	}
	sum, err := flbtest.Run(testContext(t), cfg, chunksOf(chunks)...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Plugin != "legacy" || sum.OK != 2*uint64(len(chunks)) {
		t.Errorf("summary: %+v", sum)
	}
	calls := readLog()
	// FLBPluginFlush serves both instances; FLBPluginExit runs once per instance
	if got := len(flushesOf(calls, "<nil>")); got != 2*len(chunks) {
		t.Errorf("%d flushes through FLBPluginFlush, want %d", got, 2*len(chunks))
	}
	if got, want := lifecycle(calls), []string{"init x", "init y", "exit", "exit"}; !slices.Equal(got, want) {
		t.Errorf("call sequence\n got %q\nwant %q", got, want)
	}
}

func TestStreamingInputAndGracefulStop(t *testing.T) {
	env, readLog := echoLog(t)
	delivered := make(chan flbtest.Event, 16)
	cfg := flbtest.Config{
		Plugin: plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{
			{Props: map[string]string{"id": "ok", "alias": "ok"}},
			{Props: map[string]string{"id": "stuck", "alias": "stuck", "rc": "2", "retry_limit": "no_limits"}},
		},
		Workers:   2,
		RetryBase: time.Millisecond,
		RetryCap:  20 * time.Millisecond,
		Grace:     200 * time.Millisecond,
		Verbose:   1,
		OnEvent: func(ev flbtest.Event) {
			if ev.Outcome == "delivered" {
				delivered <- ev
			}
		},
		Env: env,
	}
	ctx := testContext(t)
	h, err := flbtest.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	chunks := mixedChunks(t)
	for i, c := range chunks[:3] {
		if err := h.Send(c.Chunk); err != nil {
			t.Fatal(err)
		}
		// each chunk is flushed while the input is still open
		select {
		case ev := <-delivered:
			if ev.Seq != uint64(i) || ev.Instance != "ok" {
				t.Errorf("delivered %+v, want chunk %d to ok", ev, i)
			}
		case <-ctx.Done():
			t.Fatalf("chunk %d never delivered\n%s", i, h.Stderr())
		}
	}
	if err := h.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sum, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	stuck, _ := sum.Instance("stuck")
	if sum.ExitReason != "signal" || sum.ExitCode != 0 || sum.Chunks != 3 || sum.Delivered != 3 ||
		stuck.Abandoned != 3 || stuck.Retry < 3 {
		t.Errorf("summary: %+v", sum)
	}
	if got := lifecycle(readLog()); got[len(got)-1] != "unregister" {
		t.Errorf("no clean exit: %q", got)
	}
}

func TestFIFOInputWithInterval(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "chunks.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	chunks := mixedChunks(t)
	h, err := flbtest.Start(testContext(t), flbtest.Config{
		Plugin:    plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{{Props: map[string]string{"id": "f"}}},
		Input:     fifo,
		Interval:  30 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until the host opens it
	if err != nil {
		t.Fatal(err)
	}
	err = flbtest.WriteChunks(w, chunksOf(chunks)...)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	sum, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// the pause comes before every chunk but the first
	if sum.Chunks != 4 || sum.Delivered != 4 || sum.WallMS < 3*30 {
		t.Errorf("summary: %+v", sum)
	}
}

func TestHotReload(t *testing.T) {
	instances := []flbtest.Instance{{Props: map[string]string{"id": "a"}}, {Props: map[string]string{"id": "b"}}}
	reloadCycle := []string{
		"pre_register 1", "register",
		"pre_exit 1", "exit_ctx a", "pre_exit 1", "exit_ctx b", "unregister",
		"init a ok", "init b ok", "pre_run 1", "pre_run 1",
	}
	start := []string{"pre_register 0", "register", "init a ok", "init b ok", "pre_run 1", "pre_run 1"}
	end := []string{"pre_exit 0", "exit_ctx a", "pre_exit 0", "exit_ctx b", "unregister"}

	t.Run("every-2-chunks", func(t *testing.T) {
		env, readLog := echoLog(t)
		cfg := flbtest.Config{
			Plugin: plugin(t, "echoplugin"), Instances: instances, Workers: 2,
			HotReload: true, ReloadEvery: 2, Env: env,
		}
		sum, err := flbtest.Run(testContext(t), cfg, chunksOf(mixedChunks(t))...)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Reloads != 2 || sum.Delivered != 8 {
			t.Errorf("summary: %+v", sum)
		}
		calls := readLog()
		want := slices.Concat(start, reloadCycle, reloadCycle, end)
		if got := lifecycle(calls); !slices.Equal(got, want) {
			t.Errorf("call sequence\n got %q\nwant %q", got, want)
		}
		// each context lives for one reload period: two chunks, two chunks,
		// and the empty period after the reload that follows the last chunk
		var flushes []int64
		for _, c := range calls {
			if c.Call == "exit_ctx" {
				flushes = append(flushes, c.Flushes)
			}
		}
		if want := []int64{2, 2, 2, 2, 0, 0}; !slices.Equal(flushes, want) {
			t.Errorf("flushes seen by the contexts at exit %v, want %v", flushes, want)
		}
	})

	// flb_reload registers the new plugin before it stops the old context,
	// so a flush still running meets a second Register.
	t.Run("register-while-flushing", func(t *testing.T) {
		env, readLog := echoLog(t)
		cfg := flbtest.Config{
			Plugin:    plugin(t, "echoplugin"),
			Instances: []flbtest.Instance{{Props: map[string]string{"id": "a", "sleep_us": "300000"}}},
			Workers:   1, HotReload: true, ReloadEvery: 1, Env: env,
		}
		sum, err := flbtest.Run(testContext(t), cfg, mixedChunks(t)[0].Chunk)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range readLog() {
			got = append(got, fmt.Sprintf("%s %d", c.Call, c.Hot))
		}
		want := []string{
			"pre_register 0", "register 0", "init 0", "pre_run 1",
			"pre_register 1", "register 0", "flush 0", "pre_exit 1", "exit_ctx 0", "unregister 0",
			"init 0", "pre_run 1", "pre_exit 0", "exit_ctx 0", "unregister 0",
		}
		if sum.Reloads != 1 || !slices.Equal(got, want) {
			t.Errorf("reloads %d, call sequence\n got %q\nwant %q", sum.Reloads, got, want)
		}
	})

	t.Run("sighup", func(t *testing.T) {
		env, readLog := echoLog(t)
		delivered := make(chan flbtest.Event, 16)
		cfg := flbtest.Config{
			Plugin: plugin(t, "echoplugin"), Instances: instances[:1], Workers: 1, HotReload: true, Verbose: 1,
			OnEvent: func(ev flbtest.Event) { delivered <- ev },
			Env:     env,
		}
		ctx := testContext(t)
		h, err := flbtest.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		chunks := mixedChunks(t)
		if err := h.Send(chunks[0].Chunk); err != nil {
			t.Fatal(err)
		}
		await := func(kind string) {
			t.Helper()
			for {
				select {
				case ev := <-delivered:
					if ev.Event == kind {
						return
					}
				case <-ctx.Done():
					t.Fatalf("no %s event\n%s", kind, h.Stderr())
				}
			}
		}
		await("route")
		if err := h.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		await("reload")
		if err := h.Send(chunks[1].Chunk); err != nil {
			t.Fatal(err)
		}
		if err := h.CloseInput(); err != nil {
			t.Fatal(err)
		}
		sum, err := h.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Reloads != 1 || sum.Delivered != 2 {
			t.Errorf("summary: %+v", sum)
		}
		want := []string{
			"pre_register 0", "register", "init a ok", "pre_run 1",
			"pre_register 1", "register", "pre_exit 1", "exit_ctx a", "unregister", "init a ok", "pre_run 1",
			"pre_exit 0", "exit_ctx a", "unregister",
		}
		if got := lifecycle(readLog()); !slices.Equal(got, want) {
			t.Errorf("call sequence\n got %q\nwant %q", got, want)
		}
	})
}

func TestTruncatedStreamExitsAfterCleanTeardown(t *testing.T) {
	env, readLog := echoLog(t)
	chunks := mixedChunks(t)
	path := filepath.Join(t.TempDir(), "truncated.chunks")
	if err := flbtest.WriteChunkFile(path, chunks[0].Chunk, chunks[1].Chunk); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(8+len(chunks[0].Tag)+len(chunks[0].Data)+8+len(chunks[1].Tag)+3)); err != nil {
		t.Fatal(err)
	}
	h, err := flbtest.Start(testContext(t), flbtest.Config{
		Plugin:    plugin(t, "echoplugin"),
		Instances: []flbtest.Instance{{Props: map[string]string{"id": "t"}}},
		Input:     path,
		Env:       env,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := h.Wait()
	var ee *flbtest.ExitError
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Fatalf("got %v, want exit code 4", err)
	}
	if sum.Chunks != 1 || sum.Delivered != 1 || !strings.Contains(sum.InputError, "truncated") {
		t.Errorf("summary: %+v", sum)
	}
	if got := lifecycle(readLog()); got[len(got)-1] != "unregister" {
		t.Errorf("no clean exit: %q", got)
	}
}

func TestAppendChunkLayout(t *testing.T) {
	got, err := flbtest.AppendChunk([]byte{0xff}, flbtest.Chunk{Tag: "ab", Data: []byte{0x90, 0x80, 0xc0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xff, 2, 0, 0, 0, 'a', 'b', 3, 0, 0, 0, 0x90, 0x80, 0xc0}
	if !slices.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
	if binary.LittleEndian.Uint32(got[7:]) != 3 {
		t.Error("chunk length is not little-endian")
	}
}

func TestBuildPluginRefusesTheCPluginPrefix(t *testing.T) {
	err := flbtest.BuildPlugin(context.Background(), "./testdata/echoplugin", filepath.Join(t.TempDir(), "flb-echo.so"))
	if !errors.Is(err, flbtest.ErrPluginName) {
		t.Fatalf("got %v, want ErrPluginName", err)
	}
}

// BenchmarkFlushCall reports the cost of one FLBPluginFlushCtx call into a
// trivial plugin on each kind of stack (golang/go#68587 makes a moving C
// stack expensive). The host runs b.N chunks; only time inside calls counts.
func BenchmarkFlushCall(b *testing.B) {
	so := plugin(b, "echoplugin")
	var e decodetest.Encoder
	for i := range 10 {
		e.V2(decodetest.EventTime(time.Unix(1700000000, 0)), nil, map[string]any{"message": "x", "i": i})
	}
	data, err := e.Chunk()
	if err != nil {
		b.Fatal(err)
	}
	for _, stack := range []flbtest.StackMode{flbtest.StackThread, flbtest.StackCoro, flbtest.StackAlternate} {
		b.Run(string(stack), func(b *testing.B) {
			chunks := slices.Repeat([]flbtest.Chunk{{Tag: "bench", Data: data}}, b.N)
			cfg := flbtest.Config{Plugin: so, Instances: []flbtest.Instance{{}}, Workers: 1, Stack: stack}
			sum, err := flbtest.Run(context.Background(), cfg, chunks...)
			if err != nil {
				b.Fatal(err)
			}
			ins := sum.Instances[0]
			b.ReportMetric(sum.FlushTimeMS*1e6/float64(sum.FlushCalls), "ns/flush")
			b.ReportMetric(ins.FlushP50Micros*1e3, "p50-ns/flush")
			b.ReportMetric(ins.FlushP99Micros*1e3, "p99-ns/flush")
		})
	}
}
