package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip"
)

func (a *app) scoreCmd() *cobra.Command {
	var (
		bundlePath, keyFile, recordType, output, kerberosFeatures string
		requireSig, preserve, quiet                               bool
		geo                                                       geoip.Config
	)
	cmd := &cobra.Command{
		Use:   "score [flags] [FILE...]",
		Short: "Score records (or principal,ip tuples) with a model bundle and write them out enriched",
		Long: `score streams records through the same processors and Scorer as the Fluent Bit plugin and
writes each one out as the ECS document the plugin ships to Elasticsearch, one JSON object per
line, with its siemscore.* scores and event.risk_score(_norm).

Input is read from the files given, or stdin when there are none or for "-": CloudTrail
(JSON lines or {"Records": [...]} files), GuardDuty findings and Zeek kerberos.log (JSON lines
or TSV), each optionally gzip-compressed, the record type recognised per record. Records are
scored in input order: Kerberos and API scores depend on what came before (sliding windows and
day counts), so feed them in time order.

Input that is "principal,ip" CSV (the SageMaker IP Insights workshop's tuples) is scored with
the bundle's IP model and written as CSV: principal,ip,score_norm,score. Lines that cannot be
read are counted and reported on stderr; reading goes on.

Without --bundle, records are still mapped to ECS and marked siemscore.model.status
"untrained". A signed bundle is verified with the key from --key-file or
$SIEMSCORE_BUNDLE_KEY.`,
		Example: `  siemscore score --bundle model.bundle cloudtrail.json.gz > scored.ndjson
  tail -F kerberos.log | siemscore score --bundle model.bundle
  siemscore score --bundle model.bundle guardduty_tuples.csv > scores.csv`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, files []string) error {
			if len(files) == 0 {
				files = []string{"-"}
			}
			key, err := bundleKey(keyFile, a.getenv)
			if err != nil {
				return err
			}
			if requireSig && len(key) == 0 {
				return usagef(cmd, "--require-signature needs a key: --key-file or $%s", shared.EnvBundleKey)
			}
			popts := processors.Options{Type: recordType, PreserveOriginal: preserve}
			if geo.Enabled() {
				db, err := geoip.Open(geo)
				if err != nil {
					return err
				}
				popts.Geo = db
			}
			proc, err := processors.New(popts)
			if err != nil {
				return usagef(cmd, "--record-type: %v", err)
			}
			logw := a.stderr
			if quiet {
				logw = io.Discard
			}
			features, err := score.ParseKerberosFeatures(kerberosFeatures)
			if err != nil {
				return usagef(cmd, "--kerberos-features: %v", err)
			}
			s := &scoring{app: a, proc: proc, scorer: score.New(score.WithKerberosFeatures(features)), bad: &badLines{w: logw}, logw: logw}
			if bundlePath != "" {
				b, err := bundle.ReadFile(bundlePath, bundle.DecodeOptions{Key: key, RequireSignature: requireSig})
				if err != nil {
					return err
				}
				if err := s.scorer.Load(b); err != nil {
					return err
				}
				fmt.Fprintf(logw, "loaded %s: version %s, sections %v%s\n", bundlePath, b.VersionString(), b.Tags(), signature(b))
			} else {
				fmt.Fprintln(logw, "no --bundle: records are mapped to ECS but not scored (siemscore.model.status untrained)")
			}
			out := a.stdout
			var file *os.File
			if output != "-" {
				if file, err = os.Create(output); err != nil {
					return err
				}
				out = file
			}
			s.out = newLineWriter(out, output == "-" && slices.Contains(files, "-") && interactive(a.stdin))
			err = s.run(cmd, files)
			if ferr := s.out.Flush(); ferr != nil {
				err = errors.Join(err, fmt.Errorf("write: %w", ferr))
			}
			if file != nil {
				err = errors.Join(err, file.Close())
			}
			if err != nil {
				return err
			}
			s.report()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&bundlePath, "bundle", "", "model bundle to score with (from 'siemscore train')")
	f.StringVar(&keyFile, "key-file", "", "file holding the HMAC key that verifies a signed bundle (default: $SIEMSCORE_BUNDLE_KEY)")
	f.BoolVar(&requireSig, "require-signature", false, "refuse a bundle that is not signed with the key")
	f.StringVar(&recordType, "record-type", "auto", "record type of every record: auto, cloudtrail, guardduty, kerberos or generic")
	f.BoolVar(&preserve, "preserve-original", false, "keep each event as received, as JSON text, in event.original")
	f.StringVar(&kerberosFeatures, "kerberos-features", "unusual", "which Kerberos records carry siemscore.kerberos.features: unusual (score_norm above 0) or all (kerberos_features)")
	f.StringVarP(&output, "output", "o", "-", "file to write to (- is stdout)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress or statistics on stderr")
	f.StringVar(&geo.CityDB, "geo-city-db", "", "MaxMind-format City or Country .mmdb for source/destination.geo.* (the plugin's geo_city_db)")
	f.StringVar(&geo.ASNDB, "geo-asn-db", "", "MaxMind-format ASN .mmdb for source/destination.as.* (geo_asn_db)")
	f.StringSliceVar(&geo.ASNRanges, "geo-asn-csv", nil, "ip-location-db ASN CSV files for .as.*, instead of --geo-asn-db (geo_asn_csv)")
	return cmd
}

func signature(b *bundle.Bundle) string {
	switch {
	case b.Verified():
		return ", signature verified"
	case b.Signed():
		return ", signed (not verified: no key)"
	}
	return ""
}

// interactive reports whether r is a pipe or a terminal, where records trickle in and each
// output line should be written as soon as it is ready.
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeCharDevice) != 0
}

// lineWriter buffers output, flushing after every line when the input streams in.
type lineWriter struct {
	*bufio.Writer
	eager bool
}

func newLineWriter(w io.Writer, eager bool) *lineWriter {
	return &lineWriter{Writer: bufio.NewWriterSize(w, 64<<10), eager: eager}
}

func (w *lineWriter) endLine() error {
	if err := w.WriteByte('\n'); err != nil {
		return err
	}
	if w.eager {
		return w.Flush()
	}
	return nil
}

// scoring is one score run.
type scoring struct {
	*app
	proc   *processors.Processor
	scorer *score.Scorer
	out    *lineWriter
	bad    *badLines
	logw   io.Writer
	mode   string // "records" or "csv", fixed by the first input
	kinds  map[ecs.Kind]int
	scored int  // tuples scored
	header bool // the CSV header was written
	start  time.Time
	// read counts the input's bytes and done the records or tuples written, for the progress
	// line; they are read by its goroutine.
	read, done atomic.Int64
}

// redrawEvery is how often the progress line of score is redrawn.
const redrawEvery = 500 * time.Millisecond

func (s *scoring) run(cmd *cobra.Command, files []string) error {
	s.kinds, s.start = map[ecs.Kind]int{}, time.Now()
	if f, ok := s.logw.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		stop := s.progress(f)
		defer stop()
	}
	for _, name := range files {
		if err := s.file(name); err != nil {
			return err
		}
		if err := cmd.Context().Err(); err != nil {
			return err
		}
	}
	return nil
}

// progress redraws one status line on the terminal w until the returned function is called,
// which clears it (the summary follows).
func (s *scoring) progress(w io.Writer) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", s.rate())
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// rate says how far the run is: items written, their rate, and the input read.
func (s *scoring) rate() string {
	elapsed := time.Since(s.start)
	n := s.done.Load()
	return fmt.Sprintf("%d %s, %.0f/s, %s read in %s", n, s.unit(), float64(n)/max(elapsed.Seconds(), 1e-3), humanBytes(s.read.Load()), elapsed.Round(time.Second))
}

func (s *scoring) unit() string {
	if s.mode == "csv" {
		return "tuples"
	}
	return "records"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (s *scoring) file(name string) error {
	src, err := openSource(name, s.stdin, &s.read)
	if err != nil {
		return err
	}
	defer src.Close()
	mode := "records"
	if src.csv {
		mode = "csv"
	}
	switch {
	case s.mode == "":
		s.mode = mode
	case s.mode != mode:
		return fmt.Errorf("%s holds %s but the inputs before it held %s: score them separately", src.name, mode, s.mode)
	}
	if src.csv {
		return s.tuples(src)
	}
	return s.records(src)
}

// records scores a file of records, writing each one's document as a JSON line. Every input line
// gives at least one document, or is counted as a bad line: input that is not an event object is
// written as a pipeline_error document holding its text (as the plugin ships what it cannot
// parse), and counted; only what could not be read at all (a read error, the rest of a broken
// JSON document) gives no document, and is counted.
func (s *scoring) records(src *source) error {
	rd, err := src.items()
	if err != nil {
		return err
	}
	var recs []ecs.Record
	for it := range rd.All() {
		where := fmt.Sprintf("%s:%d", it.File, it.Line)
		switch {
		case it.Err != nil && it.Raw == "":
			s.bad.add(where, it.Err)
			continue
		case it.Err != nil:
			s.bad.add(where, it.Err)
			recs = append(recs[:0], processors.Unreadable(it.Raw, it.Err.Error(), time.Now()))
		default:
			recs = s.proc.AppendStream(recs[:0], it.Body, it.Stream, time.Now())
		}
		for i := range recs {
			rec := &recs[i]
			if err := failedRecord(rec); err != nil && it.Err == nil {
				// Still written, as the plugin ships it: the document says what went wrong.
				s.bad.add(where, fmt.Errorf("%s: %w", where, err))
			}
			s.scorer.Score(rec)
			b, err := rec.Doc.MarshalJSON()
			if err != nil {
				s.bad.add(where, fmt.Errorf("%s: %w", where, err))
				continue
			}
			if _, err := s.out.Write(b); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if err := s.out.endLine(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			s.kinds[rec.Kind]++
			s.done.Add(1)
		}
	}
	return nil
}

// tuples scores principal,ip rows with the IP model and writes principal,ip,score_norm,score.
func (s *scoring) tuples(src *source) error {
	b := s.scorer.Bundle()
	if b == nil || b.IP() == nil {
		return errors.New("scoring principal,ip tuples needs --bundle with an IP model")
	}
	m := b.IP()
	w := csv.NewWriter(s.out)
	if !s.header {
		s.header = true
		if err := s.writeCSV(w, []string{"principal", "ip", "score_norm", "score"}); err != nil {
			return err
		}
	}
	tr := src.tuples()
	for tp := range tr.readable(s.bad) {
		res, _ := m.Score(tp.Entity, tp.IP)
		if err := s.writeCSV(w, tupleRow(tp, res)); err != nil {
			return err
		}
		s.scored++
		s.done.Add(1)
	}
	if tr.Header {
		fmt.Fprintf(s.logw, "%s: first row taken as a header\n", src.name)
	}
	return nil
}

func tupleRow(tp tuple, res ipanomaly.Result) []string {
	return []string{tp.Principal, tp.IP.String(), strconv.FormatFloat(res.ScoreNorm, 'f', 2, 64), strconv.FormatFloat(res.Raw, 'g', 6, 64)}
}

func (s *scoring) writeCSV(w *csv.Writer, row []string) error {
	w.Write(row)
	w.Flush() // csv.Writer buffers in s.out, which decides when bytes reach the output
	if err := w.Error(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if s.out.eager {
		return s.out.Flush()
	}
	return nil
}

// report prints what was scored, and how fast.
func (s *scoring) report() {
	elapsed := time.Since(s.start).Round(time.Millisecond)
	speed := fmt.Sprintf("%.0f %s/s, %s read", float64(s.done.Load())/max(elapsed.Seconds(), 1e-3), s.unit(), humanBytes(s.read.Load()))
	if s.mode == "csv" {
		fmt.Fprintf(s.logw, "scored %d tuples, %d bad lines, in %s (%s)\n", s.scored, s.bad.n, elapsed, speed)
		return
	}
	total := 0
	var parts []string
	for _, k := range ecs.Kinds() {
		if n := s.kinds[k]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	fmt.Fprintf(s.logw, "wrote %d records %v, %d bad lines, in %s (%s)\n", total, parts, s.bad.n, elapsed, speed)
}
