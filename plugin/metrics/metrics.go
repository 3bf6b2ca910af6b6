// Package metrics counts what the plugin side of model swapping does — the model version in use
// and its age, swaps, rejected bundles, companion restarts, records scored and unscored — and
// exposes it for Prometheus (prometheus/client_golang) on an HTTP endpoint that is off unless
// configured. The same numbers go into the plugin's log lines (Snapshot).
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siemscore/siemscore/plugin/safe"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Metrics are one process's counters. They are safe for concurrent use.
//
// The counters are plain atomics, exposed to Prometheus as counter functions: counting a record
// on the flush path is one atomic add, and a snapshot for a log line needs no Prometheus types.
type Metrics struct {
	reg *prometheus.Registry

	version   *prometheus.GaugeVec
	trainedAt atomic.Int64 // Unix nanoseconds of the current model's training; 0 without one

	mu      sync.Mutex
	current string // the version label set to 1

	swaps, rejected, restarts      atomic.Uint64
	scored, untrained, unsupported atomic.Uint64
}

// New returns zeroed metrics in their own registry (so a plugin reloaded into the same process,
// or a test, never collides with another registration), with the Go runtime's collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.version = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "siemscore_model_info", Help: "The model bundle version scoring records (value 1).",
	}, []string{"version"})
	counter := func(name, help string, v *atomic.Uint64, labels prometheus.Labels) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v.Load()) })
	}
	const unscored = "Records shipped without a model score, by reason (untrained: no model yet; unsupported: a kind no model scores)."
	m.reg.MustRegister(
		m.version,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "siemscore_model_age_seconds", Help: "Time since the model in use was trained.",
		}, func() float64 { return m.Age().Seconds() }),
		counter("siemscore_model_swaps_total", "Model bundles swapped in.", &m.swaps, nil),
		counter("siemscore_model_bundles_rejected_total", "Model bundles rejected as invalid or corrupt.", &m.rejected, nil),
		counter("siemscore_companion_restarts_total", "Restarts of the companion trainer after it crashed, hung or failed to start.", &m.restarts, nil),
		counter("siemscore_records_scored_total", "Records scored by a model.", &m.scored, nil),
		counter("siemscore_records_unscored_total", unscored, &m.untrained, prometheus.Labels{"reason": "untrained"}),
		counter("siemscore_records_unscored_total", unscored, &m.unsupported, prometheus.Labels{"reason": "unsupported"}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// SetModel records the version now in use.
func (m *Metrics) SetModel(version string, trainedAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current != "" {
		m.version.DeleteLabelValues(m.current)
	}
	m.current = version
	m.version.WithLabelValues(version).Set(1)
	m.trainedAt.Store(trainedAt.UnixNano())
}

// Swapped counts a swap to version.
func (m *Metrics) Swapped(version string, trainedAt time.Time) {
	m.swaps.Add(1)
	m.SetModel(version, trainedAt)
}

// Rejected counts a rejected bundle.
func (m *Metrics) Rejected() { m.rejected.Add(1) }

// Restarted counts a companion restart.
func (m *Metrics) Restarted() { m.restarts.Add(1) }

// Record counts one record by its siemscore.model.status.
func (m *Metrics) Record(status string) {
	switch status {
	case ecs.ModelScored:
		m.scored.Add(1)
	case ecs.ModelUntrained:
		m.untrained.Add(1)
	default:
		m.unsupported.Add(1)
	}
}

// Age is how long ago the model in use was trained (0 without one).
func (m *Metrics) Age() time.Duration {
	at := m.trainedAt.Load()
	if at == 0 {
		return 0
	}
	return time.Since(time.Unix(0, at))
}

// Snapshot is the counters at one moment.
type Snapshot struct {
	Version                        string
	Age                            time.Duration
	Swaps, Rejected, Restarts      uint64
	Scored, Untrained, Unsupported uint64
}

// Snapshot reads the counters.
func (m *Metrics) Snapshot() Snapshot {
	m.mu.Lock()
	v := m.current
	m.mu.Unlock()
	return Snapshot{
		Version: v, Age: m.Age(),
		Swaps: m.swaps.Load(), Rejected: m.rejected.Load(), Restarts: m.restarts.Load(),
		Scored: m.scored.Load(), Untrained: m.untrained.Load(), Unsupported: m.unsupported.Load(),
	}
}

// LogArgs renders a snapshot as key-value pairs for a log line.
func (s Snapshot) LogArgs() []any {
	return []any{"model_version", s.Version, "model_age", s.Age.Round(time.Second), "swaps", s.Swaps,
		"rejected", s.Rejected, "companion_restarts", s.Restarts, "scored", s.Scored,
		"unscored_untrained", s.Untrained, "unscored_unsupported", s.Unsupported}
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Server is a running metrics endpoint.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// Serve starts an HTTP server on addr (host:port; ":0" picks a port) answering /metrics. A
// panic in the server (outside a handler, which net/http recovers itself) is logged to log and
// ends it.
func (m *Metrics) Serve(addr string, log hclog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return m.serve(ln, log), nil
}

func (m *Metrics) serve(ln net.Listener, log hclog.Logger) *Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr(), done: make(chan struct{})}
	safe.Go(log, "metrics server", func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns ErrServerClosed on Close
	})
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the server and waits for it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
