// Package demo is `siemscore demo`, the product's main job on an embedded default: it generates
// a synthetic organisation with planted attacks (models/synth/ipnet, models/synth/kerberos, models/synth/apicalls),
// trains the three models on its normal history (package train), writes the bundle, streams the
// held-out traffic through the real processors and Scorer exactly as the plugin would, and
// measures what the models found against the ground truth: a printed summary and an HTML report
// with the plots the product's notebooks drew by hand.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/report"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/input"
)

// Config configures a demo run.
type Config struct {
	// Seed makes the organisation, its attacks and the training deterministic.
	Seed uint64
	// Scale multiplies the size of the organisation (people, hosts, roles); 1 is the size the
	// models' acceptance tests use. It must be in (0, 10].
	Scale float64
	// Out is the directory the bundle and the report are written to.
	Out string
	// Progress, if set, receives one line per step.
	Progress func(string)
}

// File names under Config.Out.
const (
	BundleFile = "model.bundle"
	ReportFile = "report.html"
)

// Summary is what the demo measured.
type Summary struct {
	Seed       uint64
	Scale      float64
	Elapsed    time.Duration
	BundlePath string
	ReportPath string
	Version    string
	// Records is the number of records streamed through the processors and the Scorer: the
	// held-out traffic, and the Kerberos training day that warms the host windows up.
	Records  int
	IP       IPSummary
	Kerberos KerberosSummary
	API      APISummary
}

// run is one demo run.
type run struct {
	progress func(string)
	proc     *processors.Processor
	scorer   *score.Scorer
	records  int
}

// Run runs the demo.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if !(cfg.Scale > 0 && cfg.Scale <= 10) {
		return nil, fmt.Errorf("demo: scale %v outside (0, 10]", cfg.Scale)
	}
	start := time.Now()
	// The report describes every host, not only the unusual ones: it needs every record's features.
	r := &run{progress: cfg.Progress, scorer: score.New(score.WithKerberosFeatures(score.FeaturesAll))}
	if r.progress == nil {
		r.progress = func(string) {}
	}
	var err error
	if r.proc, err = processors.New(processors.Options{}); err != nil {
		return nil, err
	}

	r.progress(fmt.Sprintf("generating the organisation (seed %d, scale %g)", cfg.Seed, cfg.Scale))
	ipScn, err := newIPScenario(cfg)
	if err != nil {
		return nil, err
	}
	krbScn, err := newKerberosScenario(cfg)
	if err != nil {
		return nil, err
	}
	apiScn, err := newAPIScenario(cfg)
	if err != nil {
		return nil, err
	}
	r.progress(fmt.Sprintf("generated %d IP events, %d Kerberos requests, %d API calls in %s",
		ipScn.events(), len(krbScn.ds.Records), len(apiScn.ds.Events), time.Since(start).Round(time.Millisecond)))

	col := train.NewCollector()
	if err := ipScn.collect(col); err != nil {
		return nil, err
	}
	krbScn.collect(col)
	if err := apiScn.collect(col); err != nil {
		return nil, err
	}
	tcfg := train.DefaultConfig()
	tcfg.Models = train.ModelNames() // the demo's data is made for every model: each must train
	tcfg.IP.Seed, tcfg.Kerberos.Seed = cfg.Seed, cfg.Seed
	tcfg.APIWindow = apiScn.trainWindow()
	tcfg.Log = train.Lines(r.progress)

	bundlePath := filepath.Join(cfg.Out, BundleFile)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	switch prev, err := bundle.ReadFile(bundlePath, bundle.DecodeOptions{}); {
	case err == nil:
		tcfg.Previous = prev
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("demo: %s holds something that is not a readable bundle; remove it or pick another --out: %w", bundlePath, err)
	}
	res, err := train.Train(ctx, col.Data(), tcfg)
	if err != nil {
		return nil, err
	}
	if err := bundle.Publish(bundlePath, res.Bundle, bundle.DecodeOptions{}); err != nil {
		return nil, err
	}
	// Score with the bundle as written, so the run also proves the file loads.
	b, err := bundle.ReadFile(bundlePath, bundle.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	if err := r.scorer.Load(b); err != nil {
		return nil, err
	}
	r.progress(fmt.Sprintf("wrote %s (version %s, sections %v)", bundlePath, b.VersionString(), b.Tags()))

	sum := &Summary{Seed: cfg.Seed, Scale: cfg.Scale, BundlePath: bundlePath, Version: b.VersionString()}
	if sum.IP, err = ipScn.evaluate(ctx, r, res); err != nil {
		return nil, err
	}
	if sum.Kerberos, err = krbScn.evaluate(ctx, r, res); err != nil {
		return nil, err
	}
	if sum.API, err = apiScn.evaluate(ctx, r, res); err != nil {
		return nil, err
	}
	sum.Records = r.records

	rep := &report.Report{Title: "siemscore demo"}
	for _, sec := range []func(*Summary) (report.Section, error){ipScn.section, krbScn.section, apiScn.section} {
		s, err := sec(sum)
		if err != nil {
			return nil, err
		}
		rep.Sections = append(rep.Sections, s)
	}
	sum.Elapsed = time.Since(start)
	rep.Subtitle = fmt.Sprintf("Seed %d, scale %g: generated, trained, scored %d records through the processors and the Scorer, and plotted in %s. Bundle %s, version %s.",
		cfg.Seed, cfg.Scale, sum.Records, sum.Elapsed.Round(100*time.Millisecond), BundleFile, sum.Version)
	rep.Summary = sum.facts()
	sum.ReportPath = filepath.Join(cfg.Out, ReportFile)
	if err := rep.WriteFile(sum.ReportPath); err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// stream scores what write renders (JSON lines or Zeek logs) through the processors and the
// Scorer, as the plugin would, and calls visit with each record and its position. The records
// are produced through a pipe, so no held-out set is ever held in memory as text.
func (r *run) stream(ctx context.Context, name string, write func(io.Writer) error, visit func(i int, rec *ecs.Record)) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	defer pr.Close() // unblocks the writer if reading stops early
	rd, err := input.NewReader(pr, name)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	started := time.Now()
	var recs []ecs.Record
	i := 0
	for it := range rd.All() {
		if it.Err != nil { // the generators write valid records: this is a bug, not bad input
			return fmt.Errorf("demo: %s: %w", name, it.Err)
		}
		recs = r.proc.AppendStream(recs[:0], it.Body, it.Stream, time.Now())
		for j := range recs {
			r.scorer.Score(&recs[j])
			visit(i, &recs[j])
			i++
		}
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	r.records += i
	elapsed := time.Since(started)
	r.progress(fmt.Sprintf("%s: scored %d records through the processors and the Scorer in %s (%.0f records/s)",
		name, i, elapsed.Round(time.Millisecond), float64(i)/math.Max(elapsed.Seconds(), 1e-9)))
	return nil
}

// scaled returns n·scale rounded, at least lo.
func scaled(n int, scale float64, lo int) int {
	return max(lo, int(math.Round(float64(n)*scale)))
}
