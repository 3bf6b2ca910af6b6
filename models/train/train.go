package train

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
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

// Thinnest data a model is trained on: below it a model would be noise that looks like a
// verdict (a 0–100 calibration needs a hundred scores to place its percentiles).
const (
	MinIPPairs        = 100
	MinKerberosWindow = 50
)

// Config configures Train. Start from DefaultConfig.
type Config struct {
	// Models are the models to train. Empty trains every model the data has something for, and
	// a model whose training fails is left out with the reason in Result.Skipped; a model named
	// here must train, or Train fails.
	Models      []string
	IP          ipanomaly.Config
	Kerberos    kerberos.TrainConfig
	Periodicity periodicity.Config
	// APIWindow is the days the periodicity model learns from. The zero Window means the
	// data's own (Data.APIWindow), else from the first call's day to the day before the last
	// call's: the last day of exported data is usually incomplete, and a part day would read
	// as a drop in every pair's volume.
	APIWindow periodicity.Window
	// Previous is the bundle being replaced (nil if none): the new bundle's version is strictly
	// after it, even if the clock stepped back. With KeepPrevious, a model that cannot be
	// trained keeps Previous's section instead of being left out.
	Previous     *bundle.Bundle
	KeepPrevious bool
	// Now is the training time (default time.Now).
	Now func() time.Time
	// Log receives one line per step (default: none).
	Log Logger
}

// DefaultConfig returns every model's documented defaults.
func DefaultConfig() Config {
	return Config{
		IP:          ipanomaly.DefaultConfig(),
		Kerberos:    kerberos.TrainConfig{Window: kerberos.DefaultWindow, KMin: kerberos.DefaultKMin, KMax: kerberos.DefaultKMax, NInit: kmeans.DefaultNInit, Seed: 1},
		Periodicity: periodicity.DefaultConfig(),
	}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	for _, m := range c.Models {
		if !slices.Contains(ModelNames(), m) {
			errs = append(errs, fmt.Errorf("train: unknown model %q (known: %s)", m, strings.Join(ModelNames(), ", ")))
		}
	}
	if c.Kerberos.Window != 0 && c.Kerberos.Window != kerberos.DefaultWindow {
		errs = append(errs, fmt.Errorf("train: Kerberos window %v differs from the scorer's %v", c.Kerberos.Window, kerberos.DefaultWindow))
	}
	if err := c.IP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Periodicity.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Result is what Train built.
type Result struct {
	// Bundle holds the models under the first version after Config.Previous.
	Bundle      *bundle.Bundle
	IP          *ipanomaly.Model
	Kerberos    *kerberos.Model
	Periodicity *periodicity.Model
	// Skipped says, per model left out, why; Kept lists the models carried over from
	// Config.Previous (KeepPrevious), by model name.
	Skipped map[string]string
	Kept    []string
	// Train is the time training took; PeakHeapBytes the highest heap in use seen after each
	// model.
	Train         time.Duration
	PeakHeapBytes uint64

	header bundle.Header
	parts  []bundle.Part
}

// Trained lists the models trained now, in training order.
func (r *Result) Trained() []string {
	var out []string
	for _, m := range ModelNames() {
		if _, skipped := r.Skipped[m]; !skipped && !slices.Contains(r.Kept, m) {
			out = append(out, m)
		}
	}
	return out
}

// At returns the result's bundle under version v: a publisher that finds v's predecessor taken
// by another trainer re-versions the same models.
func (r *Result) At(v bundle.Version) (*bundle.Bundle, error) {
	h := r.header
	h.Version = v
	return bundle.New(h, r.parts...)
}

// ErrNothingTrained is returned when the data allowed no model at all.
var ErrNothingTrained = errors.New("train: no model could be trained from the data")

// Train trains the models cfg.Models names (every model the data allows when empty) on d,
// validates them and assembles them into a bundle.
func Train(ctx context.Context, d *Data, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	log := cfg.Log
	if log == nil {
		log = nopLog{}
	}
	t := &run{d: d, cfg: cfg, log: log, res: &Result{Skipped: map[string]string{}}, trainedAt: now().UTC()}
	start := time.Now()
	steps := []struct {
		name string
		has  int
		tag  string
		fn   func(context.Context) (bundle.Part, error)
	}{
		{ModelIP, d.ipPairs(), bundle.TagIP, t.ip},
		{ModelKerberos, d.kerberosSize(), bundle.TagKerberos, t.kerberos},
		{ModelPeriodicity, d.apiPairs(), bundle.TagPeriodicity, t.periodicity},
	}
	digest := sha256.New()
	for _, s := range steps {
		required := slices.Contains(cfg.Models, s.name)
		if len(cfg.Models) > 0 && !required {
			continue
		}
		var part bundle.Part
		err := errNoData
		if s.has > 0 {
			part, err = s.fn(ctx)
		}
		switch {
		case err == nil:
			t.parts = append(t.parts, part)
			digest.Write([]byte(s.name))
			digest.Write(t.sum)
			t.heap()
			continue
		case ctx.Err() != nil:
			return nil, fmt.Errorf("train: %s model: %w", s.name, ctx.Err())
		case required:
			return nil, fmt.Errorf("train: %s model: %w", s.name, err)
		}
		if carried := t.previous(s.tag); carried != (bundle.Part{}) {
			log.Warn("model not retrained; keeping the previous bundle's", "model", s.name, "previous", cfg.Previous.VersionString(), "reason", err.Error())
			t.parts = append(t.parts, carried)
			t.res.Kept = append(t.res.Kept, s.name)
			continue
		}
		log.Warn("model not trained; its records will be unscored", "model", s.name, "reason", err.Error())
		t.res.Skipped[s.name] = err.Error()
	}
	if len(t.res.Kept) == len(t.parts) {
		return nil, ErrNothingTrained
	}
	t.res.Train = time.Since(start)
	if err := t.assemble(digest.Sum(nil)); err != nil {
		return nil, err
	}
	return t.res, nil
}

// errNoData is the reason a model with nothing to learn from is left out.
var errNoData = errors.New("no training data")

// run is one Train call.
type run struct {
	d         *Data
	cfg       Config
	log       Logger
	res       *Result
	trainedAt time.Time
	parts     []bundle.Part
	// sum fingerprints the data of the model trained last.
	sum []byte
}

// previous is Config.Previous's section tag when the configuration keeps previous models.
func (t *run) previous(tag string) bundle.Part {
	p := t.cfg.Previous
	if !t.cfg.KeepPrevious || p == nil {
		return bundle.Part{}
	}
	switch tag {
	case bundle.TagIP:
		return bundle.IPPart(p.IP())
	case bundle.TagKerberos:
		return bundle.KerberosPart(p.Kerberos())
	default:
		return bundle.PeriodicityPart(p.Periodicity())
	}
}

func (t *run) heap() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.res.PeakHeapBytes = max(t.res.PeakHeapBytes, ms.HeapInuse)
}

func (t *run) ip(ctx context.Context) (bundle.Part, error) {
	ds := t.d.IP
	if n := ds.Len(); n < MinIPPairs {
		return bundle.Part{}, fmt.Errorf("%d pairs are too few (at least %d)", n, MinIPPairs)
	}
	t.log.Info(fmt.Sprintf("ip: %d pairs of %d principals (%d accounts), %d addresses", ds.Len(), ds.Principals(), ds.Accounts(), ds.Addresses()))
	if top, n := ds.Top(); 2*n > ds.Len() {
		t.log.Warn(fmt.Sprintf("ip: one principal holds %d of the %d pairs (%.0f%%): %q. If these are many principals, the input names them in a way the identity rule reads as one; see processors/identity",
			n, ds.Len(), 100*float64(n)/float64(ds.Len()), top))
	}
	start := time.Now()
	m, err := ipanomaly.Train(ctx, ds, t.cfg.IP, func(s string) { t.log.Info(s) })
	if err != nil {
		return bundle.Part{}, err
	}
	if err := validateIP(m, ds, t.cfg.IP.Seed); err != nil {
		return bundle.Part{}, err
	}
	t.log.Info(fmt.Sprintf("ip: trained %d principals in %s", m.Principals(), time.Since(start).Round(time.Millisecond)))
	t.res.IP = m
	sum := ds.Fingerprint()
	t.sum = sum[:]
	return bundle.IPPart(m), nil
}

func (t *run) kerberos(context.Context) (bundle.Part, error) {
	cfg := t.cfg.Kerberos
	cfg.TrainedAt = t.trainedAt
	k := "chosen by silhouette"
	if cfg.K > 0 {
		k = fmt.Sprint(cfg.K)
	}
	windows := t.d.KerberosWindows
	if reqs := t.d.KerberosRequests; len(reqs) > 0 {
		hw, err := kerberos.WindowFeatures(reqs, kerberos.DefaultWindow)
		if err != nil {
			return bundle.Part{}, err
		}
		windows = make([]kerberos.Features, len(hw))
		for i, w := range hw {
			windows[i] = w.Features
		}
		t.log.Info(fmt.Sprintf("kerberos: %d requests; clustering %d host windows, k %s", len(reqs), len(windows), k))
	} else {
		t.log.Info(fmt.Sprintf("kerberos: clustering %d host windows, k %s", len(windows), k))
	}
	if len(windows) < MinKerberosWindow {
		return bundle.Part{}, fmt.Errorf("%d host windows are too few (at least %d)", len(windows), MinKerberosWindow)
	}
	start := time.Now()
	var m *kerberos.Model
	var err error
	if reqs := t.d.KerberosRequests; len(reqs) > 0 {
		m, err = kerberos.Train(reqs, cfg)
	} else {
		m, err = kerberos.TrainFeatures(windows, cfg)
	}
	if err != nil {
		return bundle.Part{}, err
	}
	if err := validateKerberos(m, windows); err != nil {
		return bundle.Part{}, err
	}
	t.log.Info(fmt.Sprintf("kerberos: %d host windows in k=%d clusters (silhouette %.3f) in %s",
		m.Samples(), m.K(), m.Silhouette(), time.Since(start).Round(time.Millisecond)))
	t.res.Kerberos = m
	t.sum = t.d.KerberosSum[:]
	return bundle.KerberosPart(m), nil
}

func (t *run) periodicity(context.Context) (bundle.Part, error) {
	w := t.cfg.APIWindow
	if w == (periodicity.Window{}) {
		w = t.d.APIWindow
	}
	if w == (periodicity.Window{}) {
		span, _ := t.d.API.Span()
		w = span
		if span.Last > span.First {
			w.Last--
		}
	}
	t.log.Info(fmt.Sprintf("api: %d (principal, API) pairs; window %s..%s (%d days)", t.d.API.Pairs(), w.First, w.Last, w.Days()))
	m, err := periodicity.Train(t.d.API, w, t.cfg.Periodicity)
	if err != nil {
		return bundle.Part{}, err
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
	t.log.Info(fmt.Sprintf("api: %d pairs, %d with enough history to judge, %d automated", m.Len(), judged, automated))
	t.res.Periodicity = m
	t.sum = t.d.APISum[:]
	return bundle.PeriodicityPart(m), nil
}

// assemble builds the bundle. Its window spans the event times of the data; data without times
// (pairs from a CSV file) count as seen at training time.
func (t *run) assemble(fingerprint []byte) error {
	var prev bundle.Version
	if t.cfg.Previous != nil {
		prev = t.cfg.Previous.Version()
	}
	v, err := bundle.NextVersion(prev, t.trainedAt)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	h := bundle.Header{TrainedAt: t.trainedAt, WindowStart: t.d.First, WindowEnd: t.d.Last}
	copy(h.Fingerprint[:], fingerprint)
	if h.WindowStart.IsZero() {
		h.WindowStart, h.WindowEnd = t.trainedAt, t.trainedAt
	}
	t.res.header, t.res.parts = h, t.parts
	b, err := t.res.At(v)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.res.Bundle = b
	return nil
}
