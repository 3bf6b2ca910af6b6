// Package trainer is the companion process: it serves the newest valid model bundle to the
// siemscore plugin over go-plugin (shared.Models), retrains from Elasticsearch on a schedule and
// on demand, publishes every new version to the models index and the local cache, and picks up
// versions published by anyone else (another companion, `siemscore train --from-es`).
//
// # Versions
//
// A bundle is served only when it is newer than the one served, so the versions a plugin sees
// never go backwards. A trainer publishes bundle.NextVersion of the newest version in the index
// (or of its own, if newer); the index refuses a version that exists (op_type create), and the
// trainer then takes the next one. So any number of trainers can publish to one index.
//
// # Schedule
//
// Retraining is due RetrainEvery after the newest published bundle was trained, whoever trained
// it: with several companions on one index, the first to wake retrains and the others find a
// fresh bundle and wait. A run that fails (Elasticsearch unreachable) is retried with backoff
// from RetryMin up to RetryMax; the bundle being served stays.
package trainer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

// Config configures a Service.
type Config struct {
	// Read says what training data to read; Train how to train on it (Previous, KeepPrevious
	// and Log are the service's own).
	Read  train.ESConfig
	Train train.Config
	// ES is where training data is read. Nil: the service never trains (it serves the cache).
	ES *esclient.Client
	// Index is the models index; nil means no Elasticsearch (serve the cache only).
	Index *modelstore.Index
	// Cache is the local bundle directory; may be nil.
	Cache *modelstore.Cache
	// Key signs published bundles and verifies found ones (HMAC-SHA256); empty: unsigned.
	Key []byte
	// RetrainEvery is the retraining period; 0 never trains (serve what others publish).
	RetrainEvery time.Duration
	// WatchEvery is how often the index is checked for versions published elsewhere.
	WatchEvery time.Duration
	// RetryMin and RetryMax bound the backoff after a failed training run.
	RetryMin, RetryMax time.Duration
	// KeepIndex and KeepCache are how many versions the index and the cache keep.
	KeepIndex, KeepCache int
	Log                  hclog.Logger
}

// DefaultConfig returns the defaults: retrain daily, look for new versions every 30 s, retry a
// failed run after 30 s doubling up to 15 min, keep 10 versions in the index and 3 in the cache.
func DefaultConfig() Config {
	return Config{
		Read:         train.DefaultESConfig(),
		Train:        train.DefaultConfig(),
		RetrainEvery: 24 * time.Hour,
		WatchEvery:   30 * time.Second,
		RetryMin:     30 * time.Second,
		RetryMax:     15 * time.Minute,
		KeepIndex:    10,
		KeepCache:    3,
	}
}

// maxRejections is how many rejections a Service remembers for hosts that poll late.
const maxRejections = 64

// Service serves bundles; it implements shared.Models.
type Service struct {
	cfg         Config
	log         hclog.Logger
	incarnation string
	trainNow    chan struct{}

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change of state
	seq        uint64
	cur, prev  *served // prev stays readable while hosts finish reading it
	rejections []shared.Rejection
	rejected   map[string]bool // versions already reported
}

// served is a bundle with its bytes as published.
type served struct {
	b    *bundle.Bundle
	data []byte
	ann  shared.Announcement
}

// New returns a Service; Run starts it.
func New(cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = hclog.NewNullLogger()
	}
	if cfg.RetrainEvery > 0 && (cfg.ES == nil || cfg.Index == nil) {
		return nil, errors.New("trainer: retraining needs Elasticsearch and a models index")
	}
	if cfg.RetrainEvery > 0 {
		if err := errors.Join(cfg.Read.Validate(), cfg.Train.Validate()); err != nil {
			return nil, err
		}
	}
	if cfg.WatchEvery <= 0 || cfg.RetryMin <= 0 || cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("trainer: watch period %v and retry backoff %v..%v must be positive and ordered", cfg.WatchEvery, cfg.RetryMin, cfg.RetryMax)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	return &Service{
		cfg: cfg, log: cfg.Log, incarnation: hex.EncodeToString(id[:]),
		trainNow: make(chan struct{}, 1), changed: make(chan struct{}), rejected: map[string]bool{},
	}, nil
}

// Current returns the bundle being served, or nil.
func (s *Service) Current() *bundle.Bundle {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	return s.cur.b
}

// TrainNow asks for a training run as soon as possible.
func (s *Service) TrainNow() {
	select {
	case s.trainNow <- struct{}{}:
	default:
	}
}

// accept is how the service validates any bundle it did not train itself: exactly as the plugin
// validates a bundle file (bundle.Decode, which rejects bad checksums and signatures, non-finite
// weights and inconsistent sections).
func (s *Service) accept(data []byte) (*bundle.Bundle, error) {
	return bundle.Decode(data, bundle.DecodeOptions{Key: s.cfg.Key, RequireSignature: len(s.cfg.Key) > 0})
}

// serve makes b the served bundle if it is newer than the one served.
func (s *Service) serve(b *bundle.Bundle, data []byte, how string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && b.Version().Compare(s.cur.b.Version()) <= 0 {
		return false
	}
	s.prev, s.cur = s.cur, &served{b: b, data: data, ann: shared.Announcement{
		Version: b.VersionString(), Size: int64(len(data)), SHA256: sha256.Sum256(data), TrainedAt: b.TrainedAt(),
	}}
	s.seq++
	s.notify()
	s.log.Info("serving model bundle", "version", b.VersionString(), "source", how,
		"trained_at", b.TrainedAt().Format(time.RFC3339), "sections", b.Tags(), "bytes", len(data))
	return true
}

// reject records a bundle that must not be served, once per version.
func (s *Service) reject(version string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejected[version] {
		return
	}
	s.rejected[version] = true
	s.seq++
	s.rejections = append(s.rejections, shared.Rejection{Seq: s.seq, Version: version, Reason: err.Error()})
	if len(s.rejections) > maxRejections {
		s.rejections = s.rejections[len(s.rejections)-maxRejections:]
	}
	s.notify()
	s.log.Error("model bundle rejected; serving the previous one", "version", version, "error", err)
}

func (s *Service) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Poll implements shared.Models.
func (s *Service) Poll(after shared.Cursor, wait time.Duration) (shared.State, error) {
	timer := time.NewTimer(min(max(wait, 0), shared.MaxWait))
	defer timer.Stop()
	for {
		s.mu.Lock()
		st, moved := s.stateAfter(after)
		changed := s.changed
		s.mu.Unlock()
		if moved {
			return st, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return st, nil
		}
	}
}

func (s *Service) stateAfter(after shared.Cursor) (shared.State, bool) {
	st := shared.State{Cursor: shared.Cursor{Incarnation: s.incarnation, Seq: s.seq}}
	if s.cur != nil {
		st.Current = s.cur.ann
	}
	same := after.Incarnation == s.incarnation
	for _, r := range s.rejections {
		if !same || r.Seq > after.Seq {
			st.Rejections = append(st.Rejections, r)
		}
	}
	return st, !same || s.seq > after.Seq
}

// Read implements shared.Models.
func (s *Service) Read(version string, offset int64, limit int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range []*served{s.cur, s.prev} {
		if sv == nil || sv.ann.Version != version {
			continue
		}
		if offset < 0 || offset > int64(len(sv.data)) || limit < 0 {
			return nil, fmt.Errorf("companion: read %s at %d: out of range", version, offset)
		}
		end := min(int64(len(sv.data)), offset+int64(min(limit, shared.ReadLimit)))
		return sv.data[offset:end], nil
	}
	return nil, fmt.Errorf("%w: %s", shared.ErrNotServed, version)
}

// Run loads the newest valid bundle, then watches the index and retrains on schedule until ctx
// ends.
func (s *Service) Run(ctx context.Context) {
	s.startup(ctx)
	watch := time.NewTicker(s.cfg.WatchEvery)
	defer watch.Stop()
	retry := backoff.NewExponentialBackOff()
	retry.InitialInterval, retry.MaxInterval, retry.MaxElapsedTime = s.cfg.RetryMin, s.cfg.RetryMax, 0
	var failedUntil time.Time // after a failed run, no retry before this
	for {
		var trainTimer <-chan time.Time
		var t *time.Timer
		if wake := s.nextTraining(failedUntil); !wake.IsZero() {
			t = time.NewTimer(max(time.Until(wake), 0))
			trainTimer = t.C
		}
		var watched, forced bool
		select {
		case <-ctx.Done():
		case <-watch.C:
			watched = true
		case <-trainTimer:
		case <-s.trainNow:
			forced = true
		}
		if t != nil {
			t.Stop()
		}
		switch {
		case ctx.Err() != nil:
			return
		case watched:
			s.watch(ctx)
			continue
		case s.cfg.RetrainEvery == 0:
			s.log.Warn("a training run was asked for, but this companion does not train (retrain interval 0)")
			continue
		}
		if err := s.train(ctx, forced); err != nil {
			if ctx.Err() != nil {
				return
			}
			d := retry.NextBackOff()
			failedUntil = time.Now().Add(d)
			s.log.Error("training failed; the served bundle stays", "error", err, "retry_in", d.Round(time.Second).String())
			continue
		}
		retry.Reset()
		failedUntil = time.Time{}
	}
}

// nextTraining is when the next run is due (zero: never).
func (s *Service) nextTraining(failedUntil time.Time) time.Time {
	if s.cfg.RetrainEvery == 0 {
		return time.Time{}
	}
	if !failedUntil.IsZero() {
		return failedUntil
	}
	cur := s.Current()
	if cur == nil {
		return time.Now()
	}
	return cur.TrainedAt().Add(s.cfg.RetrainEvery)
}

// startup serves the newest valid bundle in the cache or the index.
func (s *Service) startup(ctx context.Context) {
	f := modelstore.Finder{
		Cache: s.cfg.Cache, Index: s.cfg.Index, Accept: s.accept, Key: s.cfg.Key, OnReject: s.reject,
		OnIndexError: func(err error) {
			s.log.Warn("models index unreachable at start; using the cache until it answers", "error", err)
		},
	}
	if s.cfg.Index != nil {
		if err := s.cfg.Index.Ensure(ctx); err != nil {
			s.log.Warn("cannot create the models index yet", "index", s.cfg.Index.Name(), "error", err)
		}
	}
	b, data, err := f.Newest(ctx)
	switch {
	case err != nil:
		s.log.Error("cannot load a model bundle at start", "error", err)
	case b == nil:
		s.log.Info("no model bundle yet; records ship unscored until one is trained or published")
	default:
		s.serve(b, data, "start-up")
	}
}

// watchCandidates is how many of the newest manifests a watch looks at.
const watchCandidates = 5

// watch serves a newer valid version from the index, if there is one.
func (s *Service) watch(ctx context.Context) {
	if s.cfg.Index == nil {
		return
	}
	ms, err := s.cfg.Index.List(ctx, watchCandidates)
	if err != nil {
		s.log.Debug("models index not reachable", "error", err)
		return
	}
	cur := s.Current()
	for _, m := range ms {
		if cur != nil && m.Version <= cur.VersionString() {
			return
		}
		s.mu.Lock()
		done := s.rejected[m.Version]
		s.mu.Unlock()
		if done {
			continue
		}
		data, err := s.cfg.Index.Fetch(ctx, m)
		if err != nil && !errors.Is(err, modelstore.ErrCorrupt) {
			s.log.Warn("cannot read a new model bundle from the index; will try again", "version", m.Version, "error", err)
			return
		}
		var b *bundle.Bundle
		if err == nil {
			b, err = s.accept(data)
		}
		if err == nil && b.VersionString() != m.Version {
			err = fmt.Errorf("stored as version %s but holds %s", m.Version, b.VersionString())
		}
		if err != nil {
			s.reject(m.Version, err)
			continue
		}
		s.keep(b)
		s.serve(b, data, "models index")
		return
	}
}

// keep writes b to the cache and trims it.
func (s *Service) keep(b *bundle.Bundle) {
	if s.cfg.Cache == nil {
		return
	}
	if err := s.cfg.Cache.Put(b, s.cfg.Key); err != nil {
		s.log.Warn("cannot cache the model bundle", "version", b.VersionString(), "error", err)
		return
	}
	if err := s.cfg.Cache.Prune(s.cfg.KeepCache); err != nil {
		s.log.Warn("cannot prune the model cache", "error", err)
	}
}

// train runs one training and publishes its bundle. Unless forced, it first looks for a bundle
// published elsewhere since, and skips the run when one is fresh.
func (s *Service) train(ctx context.Context, forced bool) error {
	s.watch(ctx)
	if cur := s.Current(); !forced && cur != nil && time.Since(cur.TrainedAt()) < s.cfg.RetrainEvery {
		return nil
	}
	s.log.Info("training from Elasticsearch", "window", s.cfg.Read.Window.String(),
		"cloudtrail", s.cfg.Read.CloudTrailIndex, "kerberos", s.cfg.Read.KerberosIndex)
	cfg := s.cfg.Train
	cfg.Previous, cfg.KeepPrevious = s.Current(), true
	res, _, err := train.FromES(ctx, s.cfg.ES, s.cfg.Read, cfg, time.Now(), s.log.Named("training"))
	if err != nil {
		return err
	}
	b, data, err := Publish(ctx, s.cfg.Index, res, s.Current(), s.cfg.Key)
	if err != nil {
		return err
	}
	s.keep(b)
	s.serve(b, data, "trained")
	if n, err := s.cfg.Index.Prune(ctx, s.cfg.KeepIndex); err != nil {
		s.log.Warn("cannot prune the models index", "error", err)
	} else if n > 0 {
		s.log.Debug("pruned old versions from the models index", "deleted", n)
	}
	return nil
}
