package entry

import (
	"bytes"
	"errors"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/pipeline"
)

// fakeInstance answers flushes with code, or panics when panicky.
type fakeInstance struct {
	mu       sync.Mutex
	cfg      config.Config
	code     deliver.Status
	panicky  bool
	chunks   [][]byte
	closed   int
	stopping int
}

func (f *fakeInstance) Stopping() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopping++
	if f.panicky {
		panic("stopping panicked")
	}
}

func (f *fakeInstance) Flush(chunk []byte, tag func() string) deliver.Status {
	if f.panicky {
		var m map[string]int
		m["boom"]++ // a real runtime panic, as a bug would cause
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chunks = append(f.chunks, bytes.Clone(chunk))
	return f.code
}

func (f *fakeInstance) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeInstance) Stats() pipeline.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return pipeline.Stats{Flushes: int64(len(f.chunks))}
}

type harness struct {
	mu        sync.Mutex // guards instances against concurrent Inits
	plugin    *Plugin
	stderr    *flblogtest.Buffer
	instances []*fakeInstance
	openErr   error
	sig       *fakeSignals
}

// fakeSignals stands in for os/signal: the test delivers signals itself and sees what is
// passed on to "Fluent Bit".
type fakeSignals struct {
	mu       sync.Mutex
	c        chan<- os.Signal
	watched  []os.Signal
	passed   []os.Signal
	watching bool
	passErr  error
}

func (f *fakeSignals) signals() signals {
	return signals{
		notify: func(c chan<- os.Signal, sig ...os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.c, f.watched, f.watching = c, sig, true
		},
		stop: func(chan<- os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.watching = false
		},
		pass: func(sig os.Signal) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.passed = append(f.passed, sig)
			return f.passErr
		},
	}
}

func (f *fakeSignals) send(sig os.Signal) {
	f.mu.Lock()
	c := f.c
	f.mu.Unlock()
	c <- sig
}

func (f *fakeSignals) state() (watching bool, passed []os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watching, slices.Clone(f.passed)
}

func newHarness() *harness {
	h := &harness{stderr: &flblogtest.Buffer{}, sig: &fakeSignals{}}
	h.plugin = New(func(cfg config.Config, log hclog.Logger) (Instance, error) {
		if h.openErr != nil {
			return nil, h.openErr
		}
		f := &fakeInstance{cfg: cfg, code: deliver.OK}
		h.mu.Lock()
		h.instances = append(h.instances, f)
		h.mu.Unlock()
		return f, nil
	}, h.stderr)
	h.plugin.signals = h.sig.signals()
	return h
}

func flush(p *Plugin, ctx any, chunk []byte) int {
	var data unsafe.Pointer
	if len(chunk) > 0 {
		data = unsafe.Pointer(&chunk[0])
	}
	return p.Flush(ctx, data, len(chunk), func() string { return "t" })
}

func TestInstancesSideBySide(t *testing.T) {
	h := newHarness()
	a, rc := h.plugin.Init(config.Map{"es_namespace": "alpha"})
	if rc != FLBOK {
		t.Fatalf("Init a: %d\n%s", rc, h.stderr)
	}
	b, rc := h.plugin.Init(config.Map{"es_index": "beta", "plugin_alias": "second"})
	if rc != FLBOK {
		t.Fatalf("Init b: %d\n%s", rc, h.stderr)
	}
	if a == b {
		t.Fatal("two instances share a handle")
	}
	h.instances[1].code = deliver.Retry
	if rc := flush(h.plugin, a, []byte{1, 2, 3}); rc != FLBOK {
		t.Errorf("flush a = %d", rc)
	}
	if rc := flush(h.plugin, b, []byte{4}); rc != FLBRetry {
		t.Errorf("flush b = %d", rc)
	}
	if got := h.instances[0].chunks; len(got) != 1 || !bytes.Equal(got[0], []byte{1, 2, 3}) {
		t.Errorf("instance a got %v", got)
	}
	if h.instances[0].cfg.Namespace != "alpha" || h.instances[1].cfg.Index != "beta" {
		t.Errorf("configs mixed up: %+v / %+v", h.instances[0].cfg, h.instances[1].cfg)
	}
	log := h.stderr.String()
	for _, want := range []string{"[ info] [output:siemscore:siemscore.0] started", "[ info] [output:siemscore:second] started", "target=beta"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if rc := h.plugin.Exit(a); rc != FLBOK || h.instances[0].closed != 1 {
		t.Errorf("Exit a = %d, closed %d", rc, h.instances[0].closed)
	}
	// a is gone; b still works; a's handle now names nothing.
	if rc := flush(h.plugin, a, []byte{1}); rc != FLBRetry {
		t.Errorf("flush after exit = %d, want RETRY", rc)
	}
	if rc := flush(h.plugin, b, []byte{1}); rc != FLBRetry || len(h.instances[1].chunks) != 2 {
		t.Errorf("b after a's exit: rc %d, %d chunks", rc, len(h.instances[1].chunks))
	}
	if rc := h.plugin.Exit(a); rc != FLBOK || h.instances[0].closed != 1 {
		t.Errorf("second Exit a = %d, closed %d", rc, h.instances[0].closed)
	}
	h.plugin.Exit(b)
	if h.plugin.Live() != 0 {
		t.Errorf("%d instances still live", h.plugin.Live())
	}
	if !strings.Contains(h.stderr.String(), "[output:siemscore:second] stopped flushes=2") {
		t.Errorf("no stop line with totals:\n%s", h.stderr)
	}
}

func TestBadConfigFailsInitNamingTheKey(t *testing.T) {
	h := newHarness()
	_, rc := h.plugin.Init(config.Map{"es_timeout": "soon", "http_password": "hunter2", "plugin_alias": "ct"})
	if rc != FLBError {
		t.Fatalf("Init = %d, want FLB_ERROR", rc)
	}
	log := h.stderr.String()
	for _, want := range []string{
		"[error] [output:siemscore:ct] config: http_password: not a siemscore key; use es_password",
		"[error] [output:siemscore:ct] es_timeout: invalid value \"soon\"",
		"invalid configuration; Fluent Bit will not start",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "hunter2") {
		t.Errorf("log shows a password:\n%s", log)
	}
	if len(h.instances) != 0 || h.plugin.Live() != 0 {
		t.Error("an instance was started from a bad configuration")
	}
	// Fluent Bit calls ExitCtx for every instance after a failed start, with a nil context for
	// the ones that never got one.
	if rc := h.plugin.Exit(nil); rc != FLBOK {
		t.Errorf("Exit(nil) = %d", rc)
	}
	if rc := h.plugin.Exit(Handle(12345)); rc != FLBOK {
		t.Errorf("Exit(unknown) = %d", rc)
	}
}

func TestOpenFailureFailsInit(t *testing.T) {
	h := newHarness()
	h.openErr = errors.New("model_bundle: /x: checksum mismatch")
	if _, rc := h.plugin.Init(config.Map{}); rc != FLBError {
		t.Fatalf("Init = %d", rc)
	}
	if !strings.Contains(h.stderr.String(), `start failed; Fluent Bit will not start error="model_bundle: /x: checksum mismatch"`) {
		t.Errorf("log:\n%s", h.stderr)
	}
}

func TestPanicsNeverEscape(t *testing.T) {
	h := newHarness()
	ctx, rc := h.plugin.Init(config.Map{})
	if rc != FLBOK {
		t.Fatal(rc)
	}
	h.instances[0].panicky = true
	if rc := flush(h.plugin, ctx, []byte{0x90}); rc != FLBRetry {
		t.Errorf("panicking flush = %d, want RETRY", rc)
	}
	if log := h.stderr.String(); !strings.Contains(log, "flush panicked") || !strings.Contains(log, "assignment to entry in nil map") {
		t.Errorf("panic not logged:\n%s", log)
	}

	h.openErr = nil
	p := New(func(config.Config, hclog.Logger) (Instance, error) { panic("open exploded") }, h.stderr)
	if _, rc := p.Init(config.Map{}); rc != FLBError {
		t.Errorf("panicking Init = %d, want FLB_ERROR", rc)
	}

	rc = 7
	func() {
		defer h.plugin.Recover("register", &rc, -1)
		panic("x")
	}()
	if rc != -1 {
		t.Errorf("Recover left rc = %d", rc)
	}
}

func TestFlushArgumentChecks(t *testing.T) {
	h := newHarness()
	ctx, _ := h.plugin.Init(config.Map{})
	if rc := h.plugin.Flush(ctx, nil, 0, func() string { return "" }); rc != FLBOK {
		t.Errorf("empty chunk = %d", rc)
	}
	if rc := h.plugin.Flush(ctx, nil, 10, func() string { return "" }); rc != FLBError {
		t.Errorf("nil data with a length = %d", rc)
	}
	b := []byte{1}
	if rc := h.plugin.Flush(ctx, unsafe.Pointer(&b[0]), -1, func() string { return "" }); rc != FLBError {
		t.Errorf("negative length = %d", rc)
	}
	if rc := h.plugin.Flush("not a handle", nil, 0, func() string { return "" }); rc != FLBRetry {
		t.Errorf("foreign context = %d", rc)
	}
	if rc := h.plugin.Flush(nil, nil, 0, func() string { return "" }); rc != FLBRetry {
		t.Errorf("nil context = %d", rc)
	}
}

func TestConcurrentInitFlushExit(t *testing.T) {
	h := newHarness()
	ctx, _ := h.plugin.Init(config.Map{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				flush(h.plugin, ctx, nil)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			c, _ := h.plugin.Init(config.Map{})
			h.plugin.Exit(c)
		}
	})
	wg.Wait()
	if h.plugin.Live() != 1 {
		t.Errorf("%d live, want 1", h.plugin.Live())
	}
}

// The plugin sets the garbage collector's target at its first Init, once, unless Fluent Bit's
// environment chose one.
func TestGCDefaults(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{nil, DefaultGOGC},
		{map[string]string{"GOGC": "400"}, 100},
		{map[string]string{"GOMEMLIMIT": "256MiB"}, 100},
	} {
		debug.SetGCPercent(100)
		h := newHarness()
		h.plugin.getenv = func(k string) string { return tc.env[k] }
		if _, rc := h.plugin.Init(config.Map{"es_template_install": "off"}); rc != FLBOK {
			t.Fatalf("Init: %v\n%s", rc, h.stderr.String())
		}
		if got := debug.SetGCPercent(77); got != tc.want {
			t.Errorf("environment %v: GOGC %d, want %d", tc.env, got, tc.want)
		}
		if !strings.Contains(h.stderr.String(), "GOGC") {
			t.Errorf("the choice must be logged:\n%s", h.stderr.String())
		}
		if _, rc := h.plugin.Init(config.Map{"es_template_install": "off"}); rc != FLBOK {
			t.Fatal(rc)
		}
		if got := debug.SetGCPercent(100); got != 77 {
			t.Errorf("a second Init set GOGC again: %d", got)
		}
	}
}

// Fluent Bit's stop signal reaches every instance (so a hung delivery is cut after the grace)
// and is passed straight on to Fluent Bit; a panic while telling an instance is contained; the
// watch starts with the first instance and ends with the last, leaving no goroutine behind.
func TestStopSignalIsPassedOnAndStopsEveryInstance(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness()
	a, rc := h.plugin.Init(config.Map{})
	b, rc2 := h.plugin.Init(config.Map{})
	if rc != FLBOK || rc2 != FLBOK {
		t.Fatalf("Init: %d %d\n%s", rc, rc2, h.stderr)
	}
	if watching, _ := h.sig.state(); !watching || !slices.Contains(h.sig.watched, os.Signal(syscall.SIGTERM)) {
		t.Fatalf("no watch of SIGTERM while instances run: %v", h.sig.watched)
	}
	h.instances[0].panicky = true
	h.sig.send(syscall.SIGTERM)
	stops := func(f *fakeInstance) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.stopping
	}
	deadline := time.Now().Add(5 * time.Second)
	for (stops(h.instances[0]) == 0 || stops(h.instances[1]) == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	watching, passed := h.sig.state()
	if watching || !slices.Equal(passed, []os.Signal{syscall.SIGTERM}) {
		t.Errorf("after the signal: watching %v, passed on %v", watching, passed)
	}
	if stops(h.instances[0]) != 1 || stops(h.instances[1]) != 1 {
		t.Errorf("Stopping calls: %d, %d", stops(h.instances[0]), stops(h.instances[1]))
	}
	if !strings.Contains(h.stderr.String(), "stop of an instance panicked") {
		t.Errorf("the panic must be logged:\n%s", h.stderr)
	}
	h.plugin.Exit(a)
	h.plugin.Exit(b)
	goleak.VerifyNone(t, before)

	// Without a signal: the last Exit ends the watch.
	h = newHarness()
	c, _ := h.plugin.Init(config.Map{})
	h.plugin.Exit(c)
	if watching, passed := h.sig.state(); watching || len(passed) != 0 {
		t.Errorf("after the last Exit: watching %v, passed %v", watching, passed)
	}
	goleak.VerifyNone(t, before)
}
