package companion

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/metrics"
	"github.com/siemscore/siemscore/plugin/safe"
)

// companion is one supervised companion process and the scorers it feeds.
type companion struct {
	cfg     Config
	log     hclog.Logger
	metrics *metrics.Metrics

	mu       sync.Mutex
	current  *bundle.Bundle
	scorers  map[*score.Scorer]struct{}
	rejected map[string]bool // versions reported already (a restarted companion reports them again)

	pid atomic.Int64 // of the running companion process, 0 between processes

	stop context.CancelFunc
	done chan struct{}
}

func newCompanion(cfg Config, m *metrics.Metrics) *companion {
	return &companion{
		cfg: cfg, log: cfg.Log, metrics: m,
		scorers: map[*score.Scorer]struct{}{}, rejected: map[string]bool{},
	}
}

// accept validates a bundle exactly as the plugin validates a bundle file.
func (c *companion) accept(data []byte) (*bundle.Bundle, error) {
	return bundle.Decode(data, c.cfg.Decode)
}

// loadInitial installs the newest valid bundle of the cache or the models index, within
// InitialLoadTimeout, so the first flush is scored when a model exists anywhere.
func (c *companion) loadInitial() {
	f := modelstore.Finder{
		Index: c.cfg.Index, Accept: c.accept, Key: c.cfg.Decode.Key,
		OnReject: func(v string, err error) { c.rejectOnce(v, err, "stored") },
		OnIndexError: func(err error) {
			c.log.Warn("models index not reachable at start; using the local cache", "error", err)
		},
	}
	if c.cfg.CacheDir != "" {
		cache, err := modelstore.NewCache(c.cfg.CacheDir)
		if err != nil {
			c.log.Warn("model cache not usable", "error", err)
		}
		f.Cache = cache
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.InitialLoadTimeout)
	defer cancel()
	b, _, err := f.Newest(ctx)
	switch {
	case err != nil:
		c.log.Warn("no model bundle loaded at start; records ship unscored until the companion sends one", "error", err)
	case b == nil:
		c.log.Info("no model bundle yet; records ship unscored until the companion sends one")
	default:
		c.install(b, "start-up")
	}
}

// install makes b the bundle of every scorer if it is newer than the current one.
func (c *companion) install(b *bundle.Bundle, source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.current
	if prev != nil && b.Version().Compare(prev.Version()) <= 0 {
		return
	}
	c.current = b
	for s := range c.scorers {
		// A scorer refuses a bundle that is not newer than its own: versions never go back.
		_ = s.Load(b)
	}
	c.metrics.Swapped(b.VersionString(), b.TrainedAt())
	args := []any{"version", b.VersionString(), "source", source, "trained_at", b.TrainedAt().Format(time.RFC3339), "sections", b.Tags()}
	if prev != nil {
		args = append(args, "previous", prev.VersionString())
	}
	if u := b.Unknown(); len(u) > 0 {
		args = append(args, "unknown_sections", u)
	}
	c.log.Info("model bundle swapped in", args...)
}

// rejectOnce logs and counts a rejected bundle, once per version.
func (c *companion) rejectOnce(version string, err error, where string) {
	c.mu.Lock()
	seen := c.rejected[version]
	c.rejected[version] = true
	c.mu.Unlock()
	if seen {
		return
	}
	c.metrics.Rejected()
	c.log.Error("model bundle rejected; scoring goes on with the current model", "version", version, "where", where, "error", err)
}

// subscribe binds a scorer to the companion's bundles.
func (c *companion) subscribe(s *score.Scorer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scorers[s] = struct{}{}
	if c.current != nil {
		_ = s.Load(c.current)
	}
}

func (c *companion) unsubscribe(s *score.Scorer) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.scorers, s)
	return len(c.scorers)
}

// start launches the supervisor.
func (c *companion) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	safe.Go(c.log, "companion supervisor", func() {
		defer close(c.done)
		c.supervise(ctx)
	})
}

// shutdown stops the companion process and the supervisor, and waits for both.
func (c *companion) shutdown() {
	c.stop()
	<-c.done
	c.log.Info("companion stopped", c.metrics.Snapshot().LogArgs()...)
}

// stableAfter is how long a companion must have run for its next failure to restart it without
// the backoff accumulated by earlier failures.
const stableAfter = time.Minute

// supervise runs the companion, restarting it with backoff whenever it exits, hangs or fails to
// start, until ctx ends. Scoring goes on with the installed bundle meanwhile.
func (c *companion) supervise(ctx context.Context) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = c.cfg.RestartMin, c.cfg.RestartMax, 0
	status := time.NewTicker(c.cfg.StatusEvery)
	defer status.Stop()
	for {
		began := time.Now()
		// A panic in a session ends it like a crash of the companion: it is restarted.
		err := safe.Run(c.log, "companion session", func() error { return c.session(ctx, status.C) })
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > stableAfter {
			bo.Reset()
		}
		wait := bo.NextBackOff()
		c.metrics.Restarted()
		c.log.Warn("companion stopped; restarting it, scoring goes on with the current model", "error", err, "restart_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// errHung is the session error of a companion that stopped answering pings.
var errHung = errors.New("companion: not answering")

// session starts one companion process and follows it until it dies, hangs or ctx ends.
func (c *companion) session(ctx context.Context, status <-chan time.Time) error {
	cmd := exec.Command(c.cfg.Path, c.cfg.Args...)
	// The configured variables come last, so they win over the process's own.
	cmd.Env = append(os.Environ(), c.cfg.Env...)
	client := plugin.NewClient(&plugin.ClientConfig{
		SkipHostEnv:      true,
		HandshakeConfig:  shared.Handshake,
		Plugins:          shared.Plugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolNetRPC},
		AutoMTLS:         true,
		StartTimeout:     c.cfg.StartTimeout,
		Logger:           c.log.Named("companion"),
	})
	hung := false
	defer func() { c.kill(client, cmd, hung) }()
	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("companion: start %s: %w", c.cfg.Path, err)
	}
	raw, err := rpc.Dispense(shared.PluginName)
	if err != nil {
		return fmt.Errorf("companion: %w", err)
	}
	models, ok := raw.(shared.Models)
	if !ok {
		return fmt.Errorf("companion: dispensed %T, not shared.Models", raw)
	}
	c.pid.Store(int64(cmd.Process.Pid))
	defer c.pid.Store(0)
	c.log.Debug("companion started", "pid", cmd.Process.Pid)

	errc := make(chan error, 2)
	c.startFollower(models, errc)
	ping := time.NewTicker(c.cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-status:
			c.log.Info("model status", c.metrics.Snapshot().LogArgs()...)
		case <-ping.C:
			if client.Exited() {
				return errors.New("companion: exited")
			}
			if err := pingWithin(c.log, rpc, c.cfg.PingTimeout); err != nil {
				hung = errors.Is(err, errHung)
				return err
			}
		}
	}
}

// startFollower runs follow in the background; its end, or its panic, is sent to errc and ends
// the session.
func (c *companion) startFollower(models shared.Models, errc chan<- error) {
	go func() { errc <- safe.Run(c.log, "companion follower", func() error { return c.follow(models) }) }()
}

// pingWithin pings the companion; net/rpc calls have no deadline, so a hung one is abandoned
// (it returns once the connection is closed).
func pingWithin(log hclog.Logger, rpc plugin.ClientProtocol, timeout time.Duration) error {
	ch := make(chan error, 1)
	go func() { ch <- safe.Run(log, "companion ping", rpc.Ping) }()
	select {
	case err := <-ch:
		if err != nil {
			return fmt.Errorf("companion: ping: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%w for %v", errHung, timeout)
	}
}

// killTimeout bounds a graceful stop; go-plugin's own grace is 2 s.
const killTimeout = 5 * time.Second

// kill stops the companion: gracefully (go-plugin asks it to quit and waits), or with SIGKILL
// when it is hung or that does not finish in time. Either way the process is gone when kill
// returns, so none is left behind.
func (c *companion) kill(client *plugin.Client, cmd *exec.Cmd, hung bool) {
	if hung && cmd.Process != nil {
		c.log.Warn("killing the hung companion", "pid", cmd.Process.Pid)
		_ = cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = safe.Do(c.log, "companion stop", client.Kill)
	}()
	select {
	case <-done:
		return
	case <-time.After(killTimeout):
	}
	if cmd.Process != nil {
		c.log.Warn("companion did not stop; killing it", "pid", cmd.Process.Pid)
		_ = cmd.Process.Kill()
	}
	<-done
}

// follow long-polls the companion and installs every new bundle it announces, until the
// connection fails.
func (c *companion) follow(models shared.Models) error {
	var cursor shared.Cursor
	for {
		st, err := models.Poll(cursor, c.cfg.PollWait)
		if err != nil {
			return fmt.Errorf("companion: poll: %w", err)
		}
		for _, r := range st.Rejections {
			c.rejectOnce(r.Version, errors.New(r.Reason), "companion")
		}
		if a := st.Current; a.Version != "" && c.wants(a.Version) {
			b, err := c.fetch(models, a)
			switch {
			case isNotServed(err):
				// Replaced while we read it: the next poll announces its successor.
			case errors.Is(err, errTransfer):
				return err
			case err != nil:
				c.rejectOnce(a.Version, err, "companion")
			default:
				c.install(b, "companion")
			}
		}
		cursor = st.Cursor
	}
}

// wants reports whether version is newer than the installed bundle and not known to be bad.
func (c *companion) wants(version string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rejected[version] {
		return false
	}
	return c.current == nil || version > c.current.VersionString()
}

// errTransfer marks a failure of the connection while reading a bundle.
var errTransfer = errors.New("companion: transfer failed")

// maxBundleSize bounds an announced size, as for a bundle file.
const maxBundleSize = 4 << 30

// fetch reads an announced bundle piece by piece, checks it against the announcement's checksum
// and validates it.
func (c *companion) fetch(models shared.Models, a shared.Announcement) (*bundle.Bundle, error) {
	if a.Size <= 0 || a.Size > maxBundleSize {
		return nil, fmt.Errorf("announced size %d is not a bundle's", a.Size)
	}
	data := make([]byte, 0, a.Size)
	for int64(len(data)) < a.Size {
		piece, err := models.Read(a.Version, int64(len(data)), shared.ReadLimit)
		if err != nil {
			if isNotServed(err) {
				return nil, shared.ErrNotServed
			}
			return nil, fmt.Errorf("%w: %v", errTransfer, err)
		}
		if len(piece) == 0 || int64(len(data)+len(piece)) > a.Size {
			return nil, fmt.Errorf("read %d bytes at %d of an announced %d", len(piece), len(data), a.Size)
		}
		data = append(data, piece...)
	}
	if sha256.Sum256(data) != a.SHA256 {
		return nil, errors.New("bytes received do not match the announced checksum")
	}
	b, err := c.accept(data)
	if err != nil {
		return nil, err
	}
	if b.VersionString() != a.Version {
		return nil, fmt.Errorf("announced as version %s but holds %s", a.Version, b.VersionString())
	}
	return b, nil
}

// isNotServed recognises shared.ErrNotServed across net/rpc, which carries errors as text.
func isNotServed(err error) bool {
	return err != nil && (errors.Is(err, shared.ErrNotServed) || strings.Contains(err.Error(), shared.ErrNotServed.Error()))
}
