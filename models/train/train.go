package train

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/kmeans"
	"github.com/siemscore/siemscore/models/periodicity"
)

// Model names, as Config.Models and the CLI's --models flag take them.
const (
	ModelIP          = "ip"
	ModelKerberos    = "kerberos"
	ModelPeriodicity = "api"
)

// ModelNames lists the model names in training order.
func ModelNames() []string { return []string{ModelIP, ModelKerberos, ModelPeriodicity} }

// Config configures Train.
type Config struct {
	// Models are the models to train. Empty trains every model the data has something for, and
	// a model whose training fails is left out with the reason in Result.Skipped; a model named
	// here must train, or Train fails.
	Models      []string
	IP          ipinsights.Config
	Kerberos    kerberos.TrainConfig
	Periodicity periodicity.Config
	// APIWindow is the days the periodicity model learns from. The zero Window means from the
	// first call's day to the day before the last call's: the last day of exported data is
	// usually incomplete, and a part day would read as a drop in every pair's volume.
	APIWindow periodicity.Window
	// Previous is the version of the bundle being replaced (zero if none): the new bundle's
	// version is strictly after it, even if the clock stepped back.
	Previous bundle.Version
	// Now is the training time (default time.Now).
	Now func() time.Time
	// Progress, if set, receives one line per step, without a trailing newline.
	Progress func(string)
}

// DefaultConfig returns every model's documented defaults.
func DefaultConfig() Config {
	return Config{
		IP:          ipinsights.DefaultConfig(),
		Kerberos:    kerberos.TrainConfig{Window: kerberos.DefaultWindow, KMin: kerberos.DefaultKMin, KMax: kerberos.DefaultKMax, NInit: kmeans.DefaultNInit, Seed: 1},
		Periodicity: periodicity.DefaultConfig(),
	}
}

// Result is what Train built.
type Result struct {
	Bundle      *bundle.Bundle
	IP          *ipinsights.Model
	Kerberos    *kerberos.Model
	Periodicity *periodicity.Model
	// Skipped says, per model left out, why.
	Skipped map[string]string
}

// ErrNothingTrained is returned when the data allowed no model at all.
var ErrNothingTrained = errors.New("train: no model could be trained from the data")

// Train trains the models cfg.Models names (every model the data allows when empty) on what c
// collected and assembles them into a bundle.
func Train(ctx context.Context, c *Collector, cfg Config) (*Result, error) {
	for _, m := range cfg.Models {
		if !slices.Contains(ModelNames(), m) {
			return nil, fmt.Errorf("train: unknown model %q (known: %s)", m, strings.Join(ModelNames(), ", "))
		}
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	t := &run{c: c, cfg: cfg, progress: progress, res: &Result{Skipped: map[string]string{}}, trainedAt: now().UTC()}
	steps := []struct {
		name string
		has  int
		fn   func(context.Context) error
	}{
		{ModelIP, c.stats.IPPairs, t.ip},
		{ModelKerberos, c.stats.KerberosRequests, t.kerberos},
		{ModelPeriodicity, c.stats.APICalls, t.periodicity},
	}
	for _, s := range steps {
		required := slices.Contains(cfg.Models, s.name)
		if len(cfg.Models) > 0 && !required {
			continue
		}
		if s.has == 0 {
			if required {
				return nil, fmt.Errorf("train: %s model: the data holds nothing it learns from", s.name)
			}
			t.res.Skipped[s.name] = "no training data"
			continue
		}
		err := s.fn(ctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, fmt.Errorf("train: %s model: %w", s.name, ctx.Err())
		case required:
			return nil, fmt.Errorf("train: %s model: %w", s.name, err)
		default:
			t.res.Skipped[s.name] = err.Error()
		}
	}
	if len(t.parts) == 0 {
		return nil, ErrNothingTrained
	}
	if err := t.assemble(); err != nil {
		return nil, err
	}
	return t.res, nil
}

// run is one Train call.
type run struct {
	c         *Collector
	cfg       Config
	progress  func(string)
	res       *Result
	trainedAt time.Time
	parts     []bundle.Part
	// sums fingerprints each trained model's data, tagged, in training order.
	sums []byte
}

func (t *run) fingerprint(tag string, sum []byte) {
	t.sums = append(append(t.sums, tag...), sum...)
}

func (t *run) ip(ctx context.Context) error {
	ds := t.c.ip
	t.progress(fmt.Sprintf("ip: %d pairs, %d principals, %d addresses; %d epochs of %d-dimensional vectors",
		ds.Len(), ds.Principals(), ds.Addresses(), t.cfg.IP.Epochs, t.cfg.IP.VectorDim))
	start := time.Now()
	m, err := ipinsights.Train(ctx, ds, t.cfg.IP, func(p ipinsights.Progress) {
		t.progress(fmt.Sprintf("ip: epoch %d/%d loss %.4f, %.0f pairs/s (%s)", p.Epoch, p.Epochs, p.Loss, p.PairsPerSec, p.Elapsed.Round(time.Millisecond)))
	})
	if err != nil {
		return err
	}
	t.progress(fmt.Sprintf("ip: trained %d principals in %s", m.Principals(), time.Since(start).Round(time.Millisecond)))
	t.res.IP = m
	t.parts = append(t.parts, bundle.IPPart(m))
	sum := ds.Fingerprint()
	t.fingerprint(ModelIP, sum[:])
	return nil
}

func (t *run) kerberos(context.Context) error {
	cfg := t.cfg.Kerberos
	cfg.TrainedAt = t.trainedAt
	k := "chosen by silhouette"
	if cfg.K > 0 {
		k = fmt.Sprint(cfg.K)
	}
	t.progress(fmt.Sprintf("kerberos: %d requests; clustering host windows, k %s", len(t.c.krb), k))
	start := time.Now()
	m, err := kerberos.Train(t.c.krb, cfg)
	if err != nil {
		return err
	}
	t.progress(fmt.Sprintf("kerberos: %d host windows in k=%d clusters (silhouette %.3f) in %s",
		m.Samples(), m.K(), m.Silhouette(), time.Since(start).Round(time.Millisecond)))
	t.res.Kerberos = m
	t.parts = append(t.parts, bundle.KerberosPart(m))
	t.fingerprint(ModelKerberos, t.c.krbSum.Sum(nil))
	return nil
}

func (t *run) periodicity(context.Context) error {
	w := t.cfg.APIWindow
	if w == (periodicity.Window{}) {
		span, _ := t.c.calls.Span()
		w = span
		if span.Last > span.First {
			w.Last--
		}
	}
	t.progress(fmt.Sprintf("api: %d calls of %d (principal, API) pairs; window %s..%s (%d days)",
		t.c.stats.APICalls, t.c.calls.Pairs(), w.First, w.Last, w.Days()))
	m, err := periodicity.Train(t.c.calls, w, t.cfg.Periodicity)
	if err != nil {
		return err
	}
	var judged, automated int
	for i := range m.Len() {
		s := m.Stats(i)
		if s.Judged {
			judged++
		}
		if s.Automated() {
			automated++
		}
	}
	t.progress(fmt.Sprintf("api: %d pairs, %d with enough history to judge, %d automated", m.Len(), judged, automated))
	t.res.Periodicity = m
	t.parts = append(t.parts, bundle.PeriodicityPart(m))
	t.fingerprint(ModelPeriodicity, t.c.callSum.Sum(nil))
	return nil
}

// assemble builds the bundle. Its window spans the event times of the data; data without times
// (pairs from a CSV file) count as seen at training time.
func (t *run) assemble() error {
	v, err := bundle.NextVersion(t.cfg.Previous, t.trainedAt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	h := bundle.Header{Version: v, TrainedAt: t.trainedAt, WindowStart: t.c.first, WindowEnd: t.c.last, Fingerprint: sha256.Sum256(t.sums)}
	if h.WindowStart.IsZero() {
		h.WindowStart, h.WindowEnd = t.trainedAt, t.trainedAt
	}
	b, err := bundle.New(h, t.parts...)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.res.Bundle = b
	return nil
}
