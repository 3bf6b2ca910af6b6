// Package companion is the plugin side of the companion trainer: it launches `siemscore trainer`
// through go-plugin, receives every new model bundle it announces, validates it exactly like a
// bundle file, and swaps it into the scorers of every siemscore output of the Fluent Bit
// process with an atomic pointer store (score.Scorer.Load). Each record carries the
// siemscore.model.version that scored it.
//
// # One companion per process
//
// Outputs that configure the same companion (path, arguments, environment, cache, models index)
// share one process: the first Acquire starts it, the last Lease.Close stops it. Each output
// keeps its own Scorer (its own streaming state); they all get the same bundles.
//
// # Start-up
//
// Acquire returns once the newest valid bundle of the local cache or the models index is
// installed (bounded by InitialLoadTimeout), so the first flush is scored when any model exists;
// without one records ship unscored, never blocked. The companion starts in the background.
//
// # Failures
//
// A companion that exits (crash, kill -9), stops answering pings (hang) or fails to start is
// killed if needed and restarted with exponential backoff (RestartMin .. RestartMax, reset after a
// minute of good health); scoring goes on with the bundle installed. A bundle that fails
// validation, or whose bytes do not match the announced checksum, is rejected with a log line and
// the current one stays. Closing the last lease stops the companion gracefully, or with SIGKILL
// if it does not stop, and waits for it: no process is left behind.
package companion

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/metrics"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Config says how to run the companion.
type Config struct {
	// Path is the companion executable (the siemscore binary); Args its arguments (e.g.
	// "trainer" and its flags); Env variables added to the plugin's environment for it.
	Path string
	Args []string
	Env  []string
	// CacheDir is the local bundle cache read at start (the companion keeps it); "" for none.
	CacheDir string
	// Index is the models index read at start when the cache has nothing newer; may be nil.
	Index *modelstore.Index
	// Decode is how bundles are validated: the options a bundle file is read with.
	Decode bundle.DecodeOptions
	// MetricsAddr, if set, serves Prometheus metrics at http://MetricsAddr/metrics.
	MetricsAddr string
	// Scoring configures each lease's scorer; outputs sharing a companion may differ in it.
	Scoring []score.Option

	StartTimeout       time.Duration // handshake (default 1 min)
	PingEvery          time.Duration // health check period (default 2 s)
	PingTimeout        time.Duration // a companion silent for this long is hung (default 10 s)
	PollWait           time.Duration // long-poll wait (default 1 min)
	RestartMin         time.Duration // first restart delay (default 500 ms)
	RestartMax         time.Duration // longest restart delay (default 1 min)
	InitialLoadTimeout time.Duration // start-up load from cache and index (default 10 s)
	StatusEvery        time.Duration // period of the model status log line (default 15 min)

	Log hclog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.StartTimeout, time.Minute)
	def(&c.PingEvery, 2*time.Second)
	def(&c.PingTimeout, 10*time.Second)
	def(&c.PollWait, time.Minute)
	def(&c.RestartMin, 500*time.Millisecond)
	def(&c.RestartMax, time.Minute)
	def(&c.InitialLoadTimeout, 10*time.Second)
	def(&c.StatusEvery, 15*time.Minute)
	if c.Log == nil {
		c.Log = hclog.NewNullLogger()
	}
	return c
}

// key identifies the companions that can be shared.
func (c Config) key() string {
	index := ""
	if c.Index != nil {
		index = c.Index.Name()
	}
	return strings.Join([]string{c.Path, strings.Join(c.Args, "\x00"), strings.Join(c.Env, "\x00"), c.CacheDir, index}, "\x01")
}

// Metrics are the process's model metrics, shared by every lease.
var Metrics = metrics.New()

var registry = struct {
	sync.Mutex
	companions map[string]*running
	server     *metricsServer
}{companions: map[string]*running{}}

// running is a companion and the leases on it.
type running struct {
	c      *companion
	leases int
}

type metricsServer struct {
	addr   string
	srv    *metrics.Server
	leases int
}

// Lease is one output's use of a companion.
type Lease struct {
	key     string
	c       *companion
	scorer  *Scorer
	metrics bool
	once    sync.Once
}

// Acquire returns a lease on the companion cfg describes, starting it if no output uses it yet.
func Acquire(cfg Config) (*Lease, error) {
	if cfg.Path == "" {
		return nil, errors.New("companion: no executable configured")
	}
	cfg = cfg.withDefaults()
	key := cfg.key()
	registry.Lock()
	defer registry.Unlock()
	sh := registry.companions[key]
	if sh == nil {
		sh = &running{c: newCompanion(cfg, Metrics)}
		sh.c.loadInitial()
		sh.c.start()
		registry.companions[key] = sh
	}
	sh.leases++
	l := &Lease{key: key, c: sh.c, scorer: &Scorer{Scorer: score.New(cfg.Scoring...), m: Metrics}}
	sh.c.subscribe(l.scorer.Scorer)
	if cfg.MetricsAddr != "" {
		if err := l.serveMetrics(cfg); err != nil {
			cfg.Log.Error("metrics endpoint not started", "error", err)
		}
	}
	return l, nil
}

// serveMetrics starts the process's metrics endpoint, or joins it. Called with the registry
// locked.
func (l *Lease) serveMetrics(cfg Config) error {
	ms := registry.server
	if ms == nil {
		srv, err := Metrics.Serve(cfg.MetricsAddr, cfg.Log)
		if err != nil {
			return err
		}
		ms = &metricsServer{addr: cfg.MetricsAddr, srv: srv}
		registry.server = ms
		cfg.Log.Info("metrics endpoint started", "url", fmt.Sprintf("http://%s/metrics", srv.Addr()))
	} else if ms.addr != cfg.MetricsAddr {
		cfg.Log.Warn("the process already serves metrics on another address; using it", "serving", ms.addr, "configured", cfg.MetricsAddr)
	}
	ms.leases++
	l.metrics = true
	return nil
}

// Scorer returns the lease's scorer.
func (l *Lease) Scorer() *Scorer { return l.scorer }

// Close releases the lease; the last one stops the companion (and the metrics endpoint).
func (l *Lease) Close() error {
	l.once.Do(func() {
		registry.Lock()
		defer registry.Unlock()
		l.c.unsubscribe(l.scorer.Scorer)
		if sh := registry.companions[l.key]; sh != nil {
			sh.leases--
			if sh.leases == 0 {
				delete(registry.companions, l.key)
				sh.c.shutdown()
			}
		}
		if ms := registry.server; l.metrics && ms != nil {
			ms.leases--
			if ms.leases == 0 {
				registry.server = nil
				_ = ms.srv.Close()
			}
		}
	})
	return nil
}

// Scorer is a score.Scorer that counts what it scores in Metrics.
type Scorer struct {
	*score.Scorer
	m *metrics.Metrics
}

// Score scores rec and counts it as scored or unscored.
func (s *Scorer) Score(rec *ecs.Record) {
	s.Scorer.Score(rec)
	if rec != nil && rec.Doc != nil {
		s.m.Record(rec.Doc.SiemScore.Model.Status)
	}
}
