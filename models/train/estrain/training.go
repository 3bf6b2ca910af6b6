// Package estrain retrains siemscore's three models from what the plugin already wrote to
// Elasticsearch and checks the result before anyone may publish it: the IP-anomaly model from
// CloudTrail (entity, address) pairs, the periodicity model from daily (principal, API) counts
// and the Kerberos host model from per-host window features (elastic/reader reads all three,
// in bounded memory). The companion trainer and `siemscore train --from-es` both run it.
package estrain

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/reader"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
)

// Config says what to read and how to train. Start from DefaultConfig.
type Config struct {
	// CloudTrailIndex and KerberosIndex are the index patterns (comma-separated lists allowed)
	// the plugin's CloudTrail and Kerberos documents are in.
	CloudTrailIndex string
	KerberosIndex   string
	// Window is how far back from the training time the data goes. The periodicity model
	// wants at least twelve weeks (see models/periodicity), which sets the default.
	Window time.Duration
	// MaxIPPairs, MaxAPIPairs and MaxKerberosWindows bound what is held in memory: above them a
	// uniform sample is kept (IP events, whole (principal, API) pairs, host windows).
	MaxIPPairs         int
	MaxAPIPairs        int
	MaxKerberosWindows int
	// Slices is the number of parallel readers of the CloudTrail scan; PageSize its page.
	Slices   int
	PageSize int
	// Seed makes sampling and training reproducible.
	Seed uint64
	// ProgressEvery spaces the reading progress lines in the log.
	ProgressEvery time.Duration

	IP          ipinsights.Config
	Periodicity periodicity.Config
	// KerberosWindow is the host feature window; it must be the scorer's (kerberos.DefaultWindow).
	KerberosWindow time.Duration
}

// DefaultConfig returns the defaults: the plugin's default data streams, the last 12 weeks,
// samples of at most 1M IP events, 200k API pairs and 200k host windows, two readers.
func DefaultConfig() Config {
	return Config{
		CloudTrailIndex:    target.DataStream("cloudtrail", "*"),
		KerberosIndex:      target.DataStream("kerberos", "*"),
		Window:             84 * 24 * time.Hour,
		MaxIPPairs:         1_000_000,
		MaxAPIPairs:        200_000,
		MaxKerberosWindows: 200_000,
		Slices:             2,
		PageSize:           5000,
		Seed:               1,
		ProgressEvery:      10 * time.Second,
		IP:                 ipinsights.DefaultConfig(),
		Periodicity:        periodicity.DefaultConfig(),
		KerberosWindow:     kerberos.DefaultWindow,
	}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if c.CloudTrailIndex == "" || c.KerberosIndex == "" {
		errs = append(errs, errors.New("training: the CloudTrail and Kerberos index patterns are required"))
	}
	if c.Window < 24*time.Hour {
		errs = append(errs, fmt.Errorf("training: window %v is shorter than a day", c.Window))
	}
	if c.MaxIPPairs < 1 || c.MaxAPIPairs < 1 || c.MaxKerberosWindows < 1 {
		errs = append(errs, errors.New("training: sample sizes must be at least 1"))
	}
	if c.Slices < 1 || c.Slices > 64 {
		errs = append(errs, fmt.Errorf("training: %d slices, want 1..64", c.Slices))
	}
	if c.PageSize < 1 || c.PageSize > 10000 {
		errs = append(errs, fmt.Errorf("training: page size %d, want 1..10000", c.PageSize))
	}
	if c.KerberosWindow != kerberos.DefaultWindow {
		errs = append(errs, fmt.Errorf("training: Kerberos window %v differs from the scorer's %v", c.KerberosWindow, kerberos.DefaultWindow))
	}
	if err := c.IP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Periodicity.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Result is a trained, validated set of models, ready to be put in a bundle under a version.
type Result struct {
	Header bundle.Header // everything but the version
	parts  []bundle.Part
	// Trained lists the section tags trained now; Kept those carried over from the previous
	// bundle because their data was missing or too thin.
	Trained, Kept []string
	Stats         Stats
}

// Stats are what a training run read and how long it took.
type Stats struct {
	IPDocs, IPPairs         int64
	APIPairs, APIDays       int64
	KerberosWindows         int64
	KerberosSamples         int
	Read, Train             time.Duration
	PeakHeapBytes           uint64 // highest heap in use seen at the end of each phase
	IPPrincipals, APIModels int
}

// Bundle builds the bundle of the result under version v.
func (r *Result) Bundle(v bundle.Version) (*bundle.Bundle, error) {
	h := r.Header
	h.Version = v
	return bundle.New(h, r.parts...)
}

// Run reads the window ending at now and trains the three models. A model whose data is missing
// or too thin keeps prev's section (prev may be nil); a run that trains nothing is an error.
// Every trained model is validated (see Validate) before Run returns it.
func Run(ctx context.Context, es esapi.Transport, cfg Config, now time.Time, prev *bundle.Bundle, log hclog.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	now = now.UTC()
	w := reader.Window{Start: now.Add(-cfg.Window), End: now}
	r := &run{cfg: cfg, es: es, w: w, log: log, res: &Result{}}
	r.res.Header = bundle.Header{TrainedAt: now, WindowStart: w.Start, WindowEnd: w.End}
	start := time.Now()

	// A model that fails for its data keeps the previous one; a failure to read fails the run.
	ip, ipErr := r.ip(ctx)
	if unreachable(ipErr) {
		return nil, ipErr
	}
	api, apiErr := r.periodicity(ctx)
	if unreachable(apiErr) {
		return nil, apiErr
	}
	krb, krbErr := r.kerberos(ctx)
	if unreachable(krbErr) {
		return nil, krbErr
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	digest := sha256.New()
	add := func(tag string, part bundle.Part, fp []byte, err error, carried bundle.Part) {
		switch {
		case err == nil:
			r.res.parts = append(r.res.parts, part)
			r.res.Trained = append(r.res.Trained, tag)
			digest.Write([]byte(tag))
			digest.Write(fp)
		case prev != nil && carried != (bundle.Part{}):
			log.Warn("model not retrained; keeping the previous bundle's", "section", tag, "previous", prev.VersionString(), "reason", err)
			r.res.parts = append(r.res.parts, carried)
			r.res.Kept = append(r.res.Kept, tag)
		default:
			log.Warn("model not trained and no previous one to keep; its records will be unscored", "section", tag, "reason", err)
		}
	}
	var prevIP, prevAPI, prevKrb bundle.Part
	if prev != nil {
		prevIP, prevAPI, prevKrb = bundle.IPPart(prev.IP()), bundle.PeriodicityPart(prev.Periodicity()), bundle.KerberosPart(prev.Kerberos())
	}
	add(bundle.TagIP, bundle.IPPart(ip.model), ip.fingerprint[:], ipErr, prevIP)
	add(bundle.TagPeriodicity, bundle.PeriodicityPart(api.model), api.fingerprint[:], apiErr, prevAPI)
	add(bundle.TagKerberos, bundle.KerberosPart(krb.model), krb.fingerprint[:], krbErr, prevKrb)
	if len(r.res.Trained) == 0 {
		return nil, fmt.Errorf("training: no model could be trained: %w", errors.Join(ipErr, apiErr, krbErr))
	}
	copy(r.res.Header.Fingerprint[:], digest.Sum(nil))
	r.res.Stats.Train = time.Since(start) - r.res.Stats.Read
	log.Info("training done", "trained", r.res.Trained, "kept", r.res.Kept,
		// As text: the companion logs JSON, in which a Duration would become a count of nanoseconds.
		"read", r.res.Stats.Read.Round(time.Millisecond).String(), "train", r.res.Stats.Train.Round(time.Millisecond).String(),
		"peak_heap_mib", r.res.Stats.PeakHeapBytes>>20)
	return r.res, nil
}

// unreachable reports a failure to read from Elasticsearch: the whole run must be retried
// rather than published with models carried over.
func unreachable(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// readError is a failure to read training data.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type run struct {
	cfg Config
	es  esapi.Transport
	w   reader.Window
	log hclog.Logger
	res *Result
}

// phase times a read and notes the heap afterwards.
func (r *run) phase(read bool, f func() error) error {
	start := time.Now()
	err := f()
	if read {
		r.res.Stats.Read += time.Since(start)
		if err != nil {
			err = &readError{err}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.res.Stats.PeakHeapBytes = max(r.res.Stats.PeakHeapBytes, ms.HeapInuse)
	return err
}

func (r *run) progress(what string) *reader.Progress {
	return reader.NewProgress(r.cfg.ProgressEvery, func(docs int64) {
		r.log.Info("reading training data", "what", what, "documents", docs)
	})
}

type ipResult struct {
	model       *ipinsights.Model
	fingerprint [32]byte
	pairs       []score.IPPair
}

func (r *run) ip(ctx context.Context) (ipResult, error) {
	var got reader.IPPairs
	err := r.phase(true, func() (err error) {
		got, err = reader.ReadIPPairs(ctx, r.es, reader.IPOptions{
			Index: r.cfg.CloudTrailIndex, Window: r.w, MaxPairs: r.cfg.MaxIPPairs, Seed: r.cfg.Seed,
			Slices: r.cfg.Slices, PageSize: r.cfg.PageSize, Progress: r.progress("cloudtrail ip pairs"),
		})
		return err
	})
	if err != nil {
		return ipResult{}, err
	}
	r.res.Stats.IPDocs, r.res.Stats.IPPairs = got.Docs, int64(len(got.Pairs))
	r.log.Info("read CloudTrail (principal, IP) pairs", "documents", got.Docs, "without_pair", got.Skipped, "sampled", len(got.Pairs))
	ds := ipinsights.NewDataset()
	for _, p := range got.Pairs {
		if err := ds.Add(p.Entity, p.IP); err != nil {
			return ipResult{}, fmt.Errorf("training: IP model: %w", err)
		}
	}
	if ds.Len() < r.cfg.IP.CalibrationSample/100 || ds.Len() < 100 {
		return ipResult{}, fmt.Errorf("training: IP model: %d pairs in the window are too few", ds.Len())
	}
	res := ipResult{fingerprint: ds.Fingerprint(), pairs: got.Pairs}
	err = r.phase(false, func() (err error) {
		res.model, err = ipinsights.Train(ctx, ds, r.cfg.IP, func(p ipinsights.Progress) {
			r.log.Info("training the IP model", "epoch", p.Epoch, "of", p.Epochs, "loss", fmt.Sprintf("%.4f", p.Loss), "pairs_per_sec", int(p.PairsPerSec))
		})
		return err
	})
	if err != nil {
		return ipResult{}, fmt.Errorf("training: IP model: %w", err)
	}
	r.res.Stats.IPPrincipals = res.model.Principals()
	if err := validateIP(res.model, got.Pairs, r.cfg.Seed); err != nil {
		return ipResult{}, err
	}
	return res, nil
}

type apiResult struct {
	model       *periodicity.Model
	fingerprint [32]byte
}

// periodicityWindow is the whole UTC days of w: a partial day would read as a quiet one.
func periodicityWindow(w reader.Window) (reader.Window, periodicity.Window, error) {
	const day = 24 * time.Hour
	start := w.Start.Truncate(day)
	if start.Before(w.Start) {
		start = start.Add(day)
	}
	end := w.End.Truncate(day)
	first, ok1 := periodicity.DayOf(start)
	last, ok2 := periodicity.DayOf(end.Add(-time.Nanosecond))
	if !ok1 || !ok2 || !end.After(start) {
		return reader.Window{}, periodicity.Window{}, fmt.Errorf("training: periodicity: no whole day in the window")
	}
	return reader.Window{Start: start, End: end}, periodicity.Window{First: first, Last: last}, nil
}

func (r *run) periodicity(ctx context.Context) (apiResult, error) {
	rw, pw, err := periodicityWindow(r.w)
	if err != nil {
		return apiResult{}, err
	}
	var got reader.APICounts
	err = r.phase(true, func() (err error) {
		got, err = reader.ReadAPICounts(ctx, r.es, reader.APIOptions{
			Index: r.cfg.CloudTrailIndex, Window: rw, MaxPairs: r.cfg.MaxAPIPairs, Seed: r.cfg.Seed,
			PageSize: min(r.cfg.PageSize, 10000), Progress: r.progress("cloudtrail daily api counts"),
		})
		return err
	})
	if err != nil {
		return apiResult{}, err
	}
	r.res.Stats.APIPairs, r.res.Stats.APIDays = int64(got.Pairs), int64(len(got.Counts))
	r.log.Info("read daily (principal, API) counts", "pairs", got.Seen, "sampled_pairs", got.Pairs, "pair_days", len(got.Counts))
	if got.Pairs == 0 {
		return apiResult{}, fmt.Errorf("training: periodicity: no API calls in the window")
	}
	counts := periodicity.NewCounts()
	if err := counts.AddDaily(got.Counts); err != nil {
		return apiResult{}, fmt.Errorf("training: periodicity: %w", err)
	}
	var res apiResult
	err = r.phase(false, func() (err error) {
		res.model, err = periodicity.Train(counts, pw, r.cfg.Periodicity)
		return err
	})
	if err != nil {
		return apiResult{}, fmt.Errorf("training: periodicity: %w", err)
	}
	r.res.Stats.APIModels = res.model.Len()
	res.fingerprint = countsFingerprint(got.Counts)
	return res, nil
}

func countsFingerprint(counts []periodicity.DailyCount) [32]byte {
	h := sha256.New()
	for _, c := range counts {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", c.Principal, c.API, c.Day, c.Count)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

type krbResult struct {
	model       *kerberos.Model
	fingerprint [32]byte
}

func (r *run) kerberos(ctx context.Context) (krbResult, error) {
	var got reader.KerberosFeatures
	err := r.phase(true, func() (err error) {
		got, err = reader.ReadKerberosFeatures(ctx, r.es, reader.KerberosOptions{
			Index: r.cfg.KerberosIndex, Window: r.w, WindowLength: r.cfg.KerberosWindow,
			MaxSamples: r.cfg.MaxKerberosWindows, Seed: r.cfg.Seed, PageSize: 1000,
			Progress: r.progress("kerberos host windows"),
		})
		return err
	})
	if err != nil {
		return krbResult{}, err
	}
	r.res.Stats.KerberosWindows, r.res.Stats.KerberosSamples = got.Seen, len(got.Samples)
	r.log.Info("read Kerberos host windows", "windows", got.Seen, "sampled", len(got.Samples))
	if len(got.Samples) < 50 {
		return krbResult{}, fmt.Errorf("training: Kerberos model: %d host windows are too few", len(got.Samples))
	}
	samples := make([]kerberos.Features, len(got.Samples))
	h := sha256.New()
	for i, s := range got.Samples {
		samples[i] = s.Features
		fmt.Fprintf(h, "%s\x00%d\x00%v\n", s.Host, s.End.Unix(), s.Features)
	}
	var res krbResult
	h.Sum(res.fingerprint[:0])
	err = r.phase(false, func() (err error) {
		res.model, err = kerberos.TrainFeatures(samples, kerberos.TrainConfig{Window: r.cfg.KerberosWindow, Seed: r.cfg.Seed, TrainedAt: r.res.Header.TrainedAt})
		return err
	})
	if err != nil {
		return krbResult{}, fmt.Errorf("training: Kerberos model: %w", err)
	}
	if err := validateKerberos(res.model, samples); err != nil {
		return krbResult{}, err
	}
	return res, nil
}
