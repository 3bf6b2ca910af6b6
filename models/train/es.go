package train

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/reader"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
)

// ESConfig says what to read from Elasticsearch. Start from DefaultESConfig.
type ESConfig struct {
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
	// Seed makes sampling reproducible.
	Seed uint64
	// ProgressEvery spaces the reading progress lines in the log.
	ProgressEvery time.Duration
	// APISessionKeys reads API calls keyed by session instead of by role; it must agree with
	// the periodicity model's Config.SessionKeys.
	APISessionKeys bool
}

// DefaultESConfig returns the defaults: the plugin's default data streams, the last 12 weeks,
// samples of at most 1M IP events, 200k API pairs and 200k host windows, two readers.
func DefaultESConfig() ESConfig {
	return ESConfig{
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
	}
}

// Validate reports every invalid setting.
func (c ESConfig) Validate() error {
	var errs []error
	if c.CloudTrailIndex == "" || c.KerberosIndex == "" {
		errs = append(errs, errors.New("train: the CloudTrail and Kerberos index patterns are required"))
	}
	if c.Window < 24*time.Hour {
		errs = append(errs, fmt.Errorf("train: window %v is shorter than a day", c.Window))
	}
	if c.MaxIPPairs < 1 || c.MaxAPIPairs < 1 || c.MaxKerberosWindows < 1 {
		errs = append(errs, errors.New("train: sample sizes must be at least 1"))
	}
	if c.Slices < 1 || c.Slices > 64 {
		errs = append(errs, fmt.Errorf("train: %d slices, want 1..64", c.Slices))
	}
	if c.PageSize < 1 || c.PageSize > 10000 {
		errs = append(errs, fmt.Errorf("train: page size %d, want 1..10000", c.PageSize))
	}
	return errors.Join(errs...)
}

// ReadStats are what ReadES read and how long it took.
type ReadStats struct {
	IPDocs, IPPairs   int64
	APIPairs, APIDays int64
	KerberosWindows   int64
	KerberosSamples   int
	Read              time.Duration
}

// ReadError is a failure to read training data: the whole training must be retried rather than
// published with models carried over.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// ReadES reads the training data of the window ending at now from what the plugin wrote.
func ReadES(ctx context.Context, es *esclient.Client, cfg ESConfig, now time.Time, log Logger) (*Data, ReadStats, error) {
	var st ReadStats
	if err := cfg.Validate(); err != nil {
		return nil, st, err
	}
	if log == nil {
		log = nopLog{}
	}
	start := time.Now()
	now = now.UTC()
	w := reader.Window{Start: now.Add(-cfg.Window), End: now}
	r := esRead{cfg: cfg, es: es, log: log, st: &st, d: &Data{First: w.Start, Last: w.End}}
	for _, step := range []func(context.Context, reader.Window) error{r.ip, r.api, r.kerberos} {
		if err := step(ctx, w); err != nil {
			return nil, st, &ReadError{err}
		}
	}
	st.Read = time.Since(start)
	return r.d, st, nil
}

type esRead struct {
	cfg ESConfig
	es  *esclient.Client
	log Logger
	st  *ReadStats
	d   *Data
}

func (r *esRead) progress(what string) *reader.Progress {
	return reader.NewProgress(r.cfg.ProgressEvery, func(docs int64) {
		r.log.Info("reading training data", "what", what, "documents", docs)
	})
}

func (r *esRead) ip(ctx context.Context, w reader.Window) error {
	got, err := reader.ReadIPPairs(ctx, r.es, reader.IPOptions{
		Index: r.cfg.CloudTrailIndex, Window: w, MaxPairs: r.cfg.MaxIPPairs, Seed: r.cfg.Seed,
		Slices: r.cfg.Slices, PageSize: r.cfg.PageSize, Progress: r.progress("cloudtrail ip pairs"),
	})
	if err != nil {
		return err
	}
	r.st.IPDocs, r.st.IPPairs = got.Docs, int64(len(got.Pairs))
	r.log.Info("read CloudTrail (principal, IP) pairs", "documents", got.Docs, "without_pair", got.Skipped, "sampled", len(got.Pairs))
	r.d.IP = ipanomaly.NewDataset()
	for _, p := range got.Pairs {
		if err := r.d.IP.Add(p.Principal, p.IP, p.Time); err != nil {
			return fmt.Errorf("train: IP pairs: %w", err)
		}
	}
	return nil
}

// apiWindow is the whole UTC days of w: a partial day would read as a quiet one. A window
// without a whole day has no API data.
func apiWindow(w reader.Window) (reader.Window, periodicity.Window, bool) {
	const day = 24 * time.Hour
	start := w.Start.Truncate(day)
	if start.Before(w.Start) {
		start = start.Add(day)
	}
	end := w.End.Truncate(day)
	first, ok1 := periodicity.DayOf(start)
	last, ok2 := periodicity.DayOf(end.Add(-time.Nanosecond))
	if !ok1 || !ok2 || !end.After(start) {
		return reader.Window{}, periodicity.Window{}, false
	}
	return reader.Window{Start: start, End: end}, periodicity.Window{First: first, Last: last}, true
}

func (r *esRead) api(ctx context.Context, w reader.Window) error {
	rw, pw, ok := apiWindow(w)
	if !ok {
		r.log.Warn("no whole day in the training window: no API data")
		return nil
	}
	got, err := reader.ReadAPICounts(ctx, r.es, reader.APIOptions{
		Index: r.cfg.CloudTrailIndex, Window: rw, MaxPairs: r.cfg.MaxAPIPairs, Seed: r.cfg.Seed,
		PageSize: min(r.cfg.PageSize, 10000), Progress: r.progress("cloudtrail daily api counts"),
		SessionKeys: r.cfg.APISessionKeys,
	})
	if err != nil {
		return err
	}
	r.st.APIPairs, r.st.APIDays = int64(got.Pairs), int64(len(got.Counts))
	r.log.Info("read daily (principal, API) counts", "pairs", got.Seen, "sampled_pairs", got.Pairs, "pair_days", len(got.Counts))
	r.d.API = periodicity.NewCounts()
	if err := r.d.API.AddDaily(got.Counts); err != nil {
		return fmt.Errorf("train: API counts: %w", err)
	}
	r.d.APIWindow = pw
	h := sha256.New()
	for _, c := range got.Counts {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", c.Principal, c.API, c.Day, c.Count)
	}
	h.Sum(r.d.APISum[:0])
	return nil
}

func (r *esRead) kerberos(ctx context.Context, w reader.Window) error {
	got, err := reader.ReadKerberosFeatures(ctx, r.es, reader.KerberosOptions{
		Index: r.cfg.KerberosIndex, Window: w, WindowLength: kerberos.DefaultWindow,
		MaxSamples: r.cfg.MaxKerberosWindows, Seed: r.cfg.Seed, PageSize: 1000,
		Progress: r.progress("kerberos host windows"),
	})
	if err != nil {
		return err
	}
	r.st.KerberosWindows, r.st.KerberosSamples = got.Seen, len(got.Samples)
	r.log.Info("read Kerberos host windows", "windows", got.Seen, "sampled", len(got.Samples))
	r.d.KerberosWindows = make([]kerberos.Features, len(got.Samples))
	h := sha256.New()
	for i, s := range got.Samples {
		r.d.KerberosWindows[i] = s.Features
		fmt.Fprintf(h, "%s\x00%d\x00%v\n", s.Host, s.End.Unix(), s.Features)
	}
	h.Sum(r.d.KerberosSum[:0])
	return nil
}

// FromES reads the window ending at now and trains on it: what `siemscore train --from-es` and
// the companion trainer run. The training time is now.
func FromES(ctx context.Context, es *esclient.Client, read ESConfig, cfg Config, now time.Time, log Logger) (*Result, ReadStats, error) {
	if log == nil {
		log = nopLog{}
	}
	d, st, err := ReadES(ctx, es, read, now, log)
	if err != nil {
		return nil, st, err
	}
	cfg.Now = func() time.Time { return now }
	cfg.Log = log
	res, err := Train(ctx, d, cfg)
	if err != nil {
		return nil, st, err
	}
	log.Info("training done", "trained", res.Trained(), "kept", res.Kept,
		// As text: the companion logs JSON, in which a Duration would become a count of nanoseconds.
		"read", st.Read.Round(time.Millisecond).String(), "train", res.Train.Round(time.Millisecond).String(),
		"peak_heap_mib", res.PeakHeapBytes>>20)
	return res, st, nil
}
