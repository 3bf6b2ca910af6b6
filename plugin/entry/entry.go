// Package entry holds what the plugin's exported functions do, minus cgo: the instance registry,
// instance naming, start-up and shutdown logging, and the rule that no panic ever reaches Fluent
// Bit (a panic in a cgo callback kills the whole agent). The exported functions in package main
// only convert C types and call a Plugin.
package entry

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/flblog"
	"github.com/siemscore/siemscore/plugin/pipeline"
)

// Fluent Bit's return codes (flb_output.h). Package main checks them against fluent-bit-go's.
const (
	FLBError = 0
	FLBOK    = 1
	FLBRetry = 2
)

// Instance is a running [OUTPUT] instance.
type Instance interface {
	Flush(chunk []byte, tag func() string) deliver.Status
	// Stopping says that Fluent Bit is stopping: deliveries still running after the instance's
	// shutdown grace are to be cancelled.
	Stopping()
	Close() error
	Stats() pipeline.Stats
}

// Opener starts an instance from a validated configuration.
type Opener func(cfg config.Config, log hclog.Logger) (Instance, error)

// Handle is what Init hands to FLBPluginSetContext. fluent-bit-go keeps every context value for
// the life of the process, so it is a small number rather than the instance itself: an instance
// that has exited is then really freed.
type Handle uint64

// Plugin is the registry of live instances of one loaded plugin.
type Plugin struct {
	open   Opener
	stderr io.Writer
	log    hclog.Logger // for what happens outside any instance
	getenv func(string) string
	gcOnce sync.Once

	mu        sync.Mutex
	started   int // Init calls so far; names the default instance aliases
	lastID    Handle
	instances map[Handle]*running
	signals   signals
	watch     *stopWatch // while instances run
}

type running struct {
	inst Instance
	log  hclog.Logger
	name string
}

// New returns an empty registry whose instances are started by open and log to stderr.
func New(open Opener, stderr io.Writer) *Plugin {
	return &Plugin{
		open:      open,
		stderr:    stderr,
		log:       flblog.New(stderr, flblog.Plugin, hclog.Info),
		getenv:    os.Getenv,
		instances: map[Handle]*running{},
		signals:   osSignals,
	}
}

// DefaultGOGC is the garbage collector's target the plugin sets (see gcDefaults).
const DefaultGOGC = 50

// gcDefaults sets the Go garbage collector's target to DefaultGOGC, once per process, unless
// Fluent Bit's environment sets GOGC or GOMEMLIMIT (then those rule, as the Go runtime read
// them). The Go heap lives in Fluent Bit's process, next to its buffers: at Go's default (100)
// it may grow to twice the live data between collections, and most of the live data is the
// model bundle, tens of MB of vectors the collector does not even scan, so collecting at 1.5
// times it costs little CPU. A memory limit is not set by default: below the live data (a
// larger bundle, more entities) it would make the collector run without pause.
func (p *Plugin) gcDefaults(log hclog.Logger) {
	p.gcOnce.Do(func() {
		if gogc, limit := p.getenv("GOGC"), p.getenv("GOMEMLIMIT"); gogc != "" || limit != "" {
			log.Info("Go garbage collector settings from the environment", "GOGC", gogc, "GOMEMLIMIT", limit)
			return
		}
		debug.SetGCPercent(DefaultGOGC)
		log.Info("Go garbage collector target set; set GOGC or GOMEMLIMIT in Fluent Bit's environment to choose another", "GOGC", DefaultGOGC)
	})
}

// Init reads and validates one instance's configuration and starts it. It returns FLBOK and the
// handle to store with FLBPluginSetContext, or FLBError after logging every problem, each naming
// its key.
func (p *Plugin) Init(get config.Getter) (h Handle, rc int) {
	p.mu.Lock()
	name := fmt.Sprintf("%s.%d", flblog.Plugin, p.started)
	p.started++
	p.mu.Unlock()
	log := flblog.New(p.stderr, name, hclog.Info)
	defer func() {
		if r := recover(); r != nil {
			log.Error("init panicked; Fluent Bit will not start", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			h, rc = 0, FLBError
		}
	}()
	p.gcDefaults(p.log)

	cfg, err := config.Load(get)
	if cfg.Alias != "" {
		name = cfg.Alias
	}
	if err != nil {
		log = flblog.New(p.stderr, name, hclog.Info)
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error(line)
		}
		log.Error("invalid configuration; Fluent Bit will not start")
		return 0, FLBError
	}
	log = flblog.New(p.stderr, name, cfg.LogLevel)
	inst, err := p.open(cfg, log)
	if err != nil {
		log.Error("start failed; Fluent Bit will not start", "error", err)
		return 0, FLBError
	}
	p.mu.Lock()
	p.lastID++
	h = p.lastID
	p.instances[h] = &running{inst: inst, log: log, name: name}
	p.watchStop()
	p.mu.Unlock()
	log.Info("started", describe(cfg)...)
	return h, FLBOK
}

// describe lists the settings worth a start-up line. Credentials are never among them.
func describe(c config.Config) []any {
	auth := "none"
	switch {
	case c.APIKey != "":
		auth = "api_key"
	case c.User != "":
		auth = "basic user=" + c.User
	}
	dest := c.Landing.DataStream("<type>", c.Namespace)
	if c.Landing == target.LandingIntegration {
		dest = "logs-{aws.cloudtrail,aws.guardduty,zeek.kerberos,siemscore.generic}-" + c.Namespace
	}
	if c.Index != "" {
		dest = c.Index
	}
	model := c.ModelBundle
	switch {
	case c.CompanionPath != "":
		model = "from the companion trainer, models_index " + c.ModelsIndex
	case model == "":
		model = "none (records ship unscored)"
	}
	signature := "optional"
	if len(c.BundleKey) > 0 {
		signature = "required"
	}
	if c.Pipeline != "" {
		dest += " via ingest pipeline " + c.Pipeline
	}
	return []any{"es_hosts", strings.Join(c.Hosts, ","), "auth", auth, "target", dest,
		"dead_letter", c.DeadLetterIndex, "record_type", c.RecordType, "model_bundle", model,
		"bundle_signature", signature}
}

func (p *Plugin) lookup(ctx any) (*running, bool) {
	h, ok := ctx.(Handle)
	if !ok {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.instances[h]
	return r, ok
}

// Flush runs one flush for the instance ctx names (the value FLBPluginGetContext returned).
// data/length are the chunk as Fluent Bit passed it; it is read in place, only during the call.
// A panic, or a context that names no live instance, gives FLBRetry: the chunk is kept, and
// Fluent Bit's retry_limit bounds how often it comes back.
func (p *Plugin) Flush(ctx any, data unsafe.Pointer, length int, tag func() string) (rc int) {
	r, ok := p.lookup(ctx)
	log := p.log
	if ok {
		log = r.log
	}
	defer func() {
		if rec := recover(); rec != nil {
			log.Error("flush panicked; asking Fluent Bit to retry the chunk", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			rc = FLBRetry
		}
	}()
	if !ok {
		log.Error("flush for an instance that is not running; asking Fluent Bit to retry the chunk", "context", fmt.Sprintf("%T(%v)", ctx, ctx))
		return FLBRetry
	}
	if length < 0 || length > 0 && data == nil {
		log.Error("flush with an unusable buffer; dropping the chunk", "length", length)
		return FLBError
	}
	var chunk []byte
	if length > 0 {
		chunk = unsafe.Slice((*byte)(data), length)
	}
	switch r.inst.Flush(chunk, tag) {
	case deliver.OK:
		return FLBOK
	case deliver.Retry:
		return FLBRetry
	}
	return FLBError
}

// Exit stops the instance ctx names and forgets it. Fluent Bit also calls it for instances that
// never started (their Init failed, or another instance's did), with a nil or unknown context:
// there is nothing to stop then.
func (p *Plugin) Exit(ctx any) (rc int) {
	log := p.log
	defer func() {
		if rec := recover(); rec != nil {
			log.Error("exit panicked", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			rc = FLBError
		}
	}()
	h, ok := ctx.(Handle)
	if !ok {
		log.Debug("exit for an instance that never started")
		return FLBOK
	}
	p.mu.Lock()
	r, ok := p.instances[h]
	delete(p.instances, h)
	var last *stopWatch
	if len(p.instances) == 0 {
		last, p.watch = p.watch, nil
	}
	p.mu.Unlock()
	p.unwatchStop(last)
	if !ok {
		log.Debug("exit for an instance that is not running", "handle", h)
		return FLBOK
	}
	log = r.log
	if err := r.inst.Close(); err != nil {
		log.Error("stopped with an error", "error", err)
		return FLBError
	}
	st := r.inst.Stats()
	log.Info("stopped", "flushes", st.Flushes, "retries", st.Retries, "records", st.Records, "written", st.Written,
		"duplicates", st.Duplicates, "dead_lettered", st.DeadLettered, "group_markers_skipped", st.GroupMarkers,
		"build_ms", st.Build.Milliseconds(), "deliver_ms", st.Deliver.Milliseconds())
	return FLBOK
}

// Live returns the number of running instances.
func (p *Plugin) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.instances)
}

// Recover, deferred in an exported function that has no other guard, turns a panic into rc and
// logs it.
func (p *Plugin) Recover(where string, rc *int, onPanic int) {
	if r := recover(); r != nil {
		p.log.Error(where+" panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*rc = onPanic
	}
}
