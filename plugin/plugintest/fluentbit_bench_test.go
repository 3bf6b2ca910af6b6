package plugintest_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/estest/bulksink"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/input"
)

var fluentBitRounds = flag.Int("fluentbit.rounds", 5, "BenchmarkFluentBit: interleaved rounds of native es and siemscore (0: only the run into Elasticsearch)")

// BenchmarkFluentBit is the plugin's figure of record: the real Fluent Bit 5.1.1 reads the same
// generated CloudTrail and Zeek Kerberos JSON lines with tail and the json parser, and ships
// them once with the native es output (Buffer_Size False) and once with siemscore (every
// record scored by a bundle trained on that input), both with workers 2, into the same bulk
// sink (elastic/estest/bulksink: answers _bulk like Elasticsearch, stores nothing). Rounds
// alternate which output goes first, and the ratios are taken within a round, so that load
// from other processes on a shared machine hits both sides of a ratio alike.
//
// Per run it measures the throughput (records over the time from Fluent Bit's start to the
// last bulk request), Fluent Bit's CPU time (user + system, /proc/<pid>/stat, read when the
// last record has arrived) and its peak RSS (VmHWM); it fails unless every record arrived
// exactly once. It then ships the input once more with each output into the real
// Elasticsearch, when one is running, for the record (make bench-fluentbit starts one once
// the rounds are over, so that its JVM does not share the cores with them).
//
// Run it with make bench-fluentbit, or go test -run '^$' -bench FluentBit -benchtime 1x.
func BenchmarkFluentBit(b *testing.B) {
	bin := flbtest.RequireFluentBit(b)
	so := plugin(b)
	in := benchInput(b)
	b.Logf("input: %d lines (%d CloudTrail, %d Kerberos), %.0f MB; bundle %s", in.lines, in.cloudtrail, in.kerberos, float64(in.bytes)/1e6, in.bundle)

	sink, err := bulksink.Start(bulksink.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	host, port := sink.Addr()

	var rounds []benchRound
	for b.Loop() {
		for r := range *fluentBitRounds {
			var round benchRound
			sides := []string{"native", "siemscore"}
			if r%2 == 1 {
				slices.Reverse(sides)
			}
			for _, side := range sides {
				sink.Reset()
				res := runFluentBit(b, bin, so, in, side, "", host, port, func() (int, error) {
					st := sink.Stats()
					return st.Docs, nil
				})
				st := sink.Stats()
				res.check(b, st, in)
				if side == "native" {
					round.native = res
				} else {
					round.plugin = res
				}
			}
			round.first = sides[0]
			rounds = append(rounds, round)
			b.Logf("round %d (%s first): native %s | siemscore %s | ratios throughput %.2f, CPU %.2f, peak RSS %.2f",
				r+1, round.first, round.native, round.plugin, round.throughputRatio(), round.cpuRatio(), round.rssRatio())
		}
	}
	if len(rounds) > 0 {
		report(b, rounds)
	}

	b.Run("elasticsearch", func(b *testing.B) {
		url := estest.URL(b)
		for b.Loop() {
			for _, side := range []string{"native", "siemscore"} {
				counter, target := esCounter(b, url, side)
				h, p := hostPort(b, url)
				res := runFluentBit(b, bin, so, in, side, target, h, p, counter)
				b.Logf("real Elasticsearch, %s: %s", side, res)
			}
		}
	})
}

// benchInputVersion names the generated input; change it when the generators or their use
// change. A cached bundle the current code cannot read (its format moved on) is made again.
const benchInputVersion = "v2"

type benchFiles struct {
	dir                         string
	lines, cloudtrail, kerberos int
	bytes                       int64
	bundle                      string
	files                       []string
}

// benchInput generates the input once per machine (it is cached beside the Go build cache):
// the IP scenario's organisation (CloudTrail: every member's and service's calls over four
// weeks, with attacks) and ten days of a Windows domain's Kerberos (Zeek JSON), about 700,000
// lines; and a bundle trained on exactly those lines through the processors, as
// `siemscore train` trains.
func benchInput(b *testing.B) benchFiles {
	b.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "siemscore", "bench-fluentbit", benchInputVersion)
	in := benchFiles{
		dir:    dir,
		bundle: filepath.Join(dir, "model.bundle"),
		files:  []string{filepath.Join(dir, "input", "cloudtrail.json"), filepath.Join(dir, "input", "kerberos.json")},
	}
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		if _, err := bundle.ReadFile(in.bundle, bundle.DecodeOptions{}); err != nil {
			b.Logf("the cached bundle is unreadable (%v): generating again", err)
			if err := os.Remove(done); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(done); err != nil {
		b.Logf("generating the input and training its bundle in %s (once per machine)", dir)
		// Publishing refuses to replace a bundle it cannot read (the companion's guard against
		// clobbering what an operator put there): what an unfinished or older run left goes first.
		if err := os.Remove(in.bundle); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.Fatal(err)
		}
		if err := generateBenchInput(in); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i, f := range in.files {
		n, size, err := countLines(f)
		if err != nil {
			b.Fatal(err)
		}
		in.lines += n
		in.bytes += size
		if i == 0 {
			in.cloudtrail = n
		} else {
			in.kerberos = n
		}
	}
	return in
}

func generateBenchInput(in benchFiles) error {
	if err := os.MkdirAll(filepath.Join(in.dir, "input"), 0o755); err != nil {
		return err
	}
	oc := ipnet.DefaultOrgConfig()
	org, err := ipnet.Org(oc)
	if err != nil {
		return err
	}
	events := slices.Concat(org.Train, org.Test, org.Attacks)
	slices.SortStableFunc(events, func(a, b ipnet.Event) int { return a.Time.Compare(b.Time) })
	if err := writeFile(in.files[0], func(w io.Writer) error { return ipnet.WriteCloudTrail(w, oc.Seed, events) }); err != nil {
		return err
	}
	krb, err := synthkrb.Generate(synthkrb.Config{Seed: 1, Duration: 10 * 24 * time.Hour})
	if err != nil {
		return err
	}
	if err := writeFile(in.files[1], func(w io.Writer) error { return synthkrb.WriteZeekJSON(w, krb.Records) }); err != nil {
		return err
	}
	proc, err := processors.New(processors.Options{})
	if err != nil {
		return err
	}
	col := train.NewCollector()
	for _, f := range in.files {
		r, err := input.Open(f)
		if err != nil {
			return err
		}
		for item := range r.All() {
			if item.Err != nil {
				r.Close()
				return item.Err
			}
			for _, rec := range proc.Append(nil, item.Body, time.Now()) {
				col.Add(&rec)
			}
		}
		r.Close()
	}
	res, err := train.Train(context.Background(), col.Data(), train.DefaultConfig())
	if err != nil {
		return err
	}
	return bundle.Publish(in.bundle, res.Bundle, bundle.DecodeOptions{})
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func countLines(path string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	n, size := 0, int64(0)
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		size += int64(k)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if errors.Is(err, io.EOF) {
			return n, size, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// benchService is the part of the configuration both sides share: tail with the json parser,
// a memory buffer limit (a production setting that also keeps the peak RSS about the outputs
// rather than about how much of the file was read ahead), and the default flush interval.
const benchService = `[SERVICE]
    Flush          1
    Grace          10
    Log_Level      warn
    Parsers_File   {{dir}}/parsers.conf

[INPUT]
    Name               tail
    Path               %s
    Parser             json
    Read_from_Head     On
    Refresh_Interval   1
    Buffer_Chunk_Size  256k
    Buffer_Max_Size    1M
    Mem_Buf_Limit      64MB
`

const benchParsers = `[PARSER]
    Name    json
    Format  json
`

// benchConfig is one side's configuration. target is the index (native) or namespace
// (siemscore) to write to in a real Elasticsearch, "" for the sink.
func benchConfig(side, target, inputGlob, bundlePath, host string, port int) string {
	cfg := fmt.Sprintf(benchService, inputGlob)
	switch side {
	case "native":
		index := cmp.Or(target, "bench-native")
		cfg += fmt.Sprintf(`
[OUTPUT]
    Name                es
    Match               *
    Host                %s
    Port                %d
    Index               %s
    Suppress_Type_Name  On
    Buffer_Size         False
    Workers             2
    Retry_Limit         no_limits
`, host, port, index)
	default:
		cfg += fmt.Sprintf(`
[OUTPUT]
    Name                 siemscore
    Match                *
    Workers              2
    Retry_Limit          no_limits
    es_hosts             http://%s:%d
    model_bundle         %s
`, host, port, bundlePath)
		if target == "" {
			cfg += "    es_template_install  off\n"
		} else {
			cfg += "    es_namespace         " + target + "\n"
		}
	}
	return cfg
}

// benchRun is one run of Fluent Bit over the whole input.
type benchRun struct {
	records int
	wall    time.Duration // from start to the last record counted
	usage   flbtest.Usage
}

func (r benchRun) throughput() float64 { return float64(r.records) / r.wall.Seconds() }

func (r benchRun) String() string {
	return fmt.Sprintf("%6.0f records/s, CPU %5.2f s, peak RSS %4.0f MB", r.throughput(), r.usage.CPU.Seconds(), float64(r.usage.PeakRSS)/(1<<20))
}

// check fails the benchmark unless the sink got every input line exactly once.
func (r benchRun) check(b *testing.B, st bulksink.Stats, in benchFiles) {
	b.Helper()
	if st.Docs != in.lines || st.Duplicates != 0 || st.SameContent != 0 {
		b.Fatalf("not exactly once: %d documents for %d lines, %d duplicate _ids, %d repeated documents", st.Docs, in.lines, st.Duplicates, st.SameContent)
	}
}

// runFluentBit ships the input once with one output and returns when count reaches every line.
func runFluentBit(b *testing.B, bin, so string, in benchFiles, side, target, host string, port int, count func() (int, error)) benchRun {
	b.Helper()
	cfg := flbtest.FluentBitConfig{
		Binary: bin,
		Config: benchConfig(side, target, filepath.Join(in.dir, "input", "*.json"), in.bundle, host, port),
	}
	if side != "native" {
		cfg.Plugins = []string{so}
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "parsers.conf"), []byte(benchParsers), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg.Dir = dir
	start := time.Now()
	fb, err := flbtest.StartFluentBit(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := fb.WaitRecords(ctx, in.lines, count); err != nil {
		b.Fatalf("%s: %v", side, err)
	}
	res := benchRun{records: in.lines, wall: time.Since(start)}
	if res.usage, err = fb.Usage(); err != nil {
		b.Fatal(err)
	}
	// Anything sent after the last record would be a duplicate: give it time to show.
	time.Sleep(500 * time.Millisecond)
	if err := fb.Stop(30 * time.Second); err != nil {
		b.Fatal(err)
	}
	if logs := fb.Logs(); strings.Contains(logs, "[error]") {
		b.Logf("%s: Fluent Bit logged errors:\n%s", side, logs)
	}
	return res
}

type benchRound struct {
	first          string
	native, plugin benchRun
}

func (r benchRound) throughputRatio() float64 { return r.plugin.throughput() / r.native.throughput() }
func (r benchRound) cpuRatio() float64 {
	return r.plugin.usage.CPU.Seconds() / r.native.usage.CPU.Seconds()
}
func (r benchRound) rssRatio() float64 {
	return float64(r.plugin.usage.PeakRSS) / float64(r.native.usage.PeakRSS)
}

// report logs min/median/max of every measure over the rounds and reports the medians.
func report(b *testing.B, rounds []benchRound) {
	type measure struct {
		name, unit string
		of         func(benchRound) float64
	}
	measures := []measure{
		{"native throughput", "records/s", func(r benchRound) float64 { return r.native.throughput() }},
		{"siemscore throughput", "records/s", func(r benchRound) float64 { return r.plugin.throughput() }},
		{"native CPU", "s", func(r benchRound) float64 { return r.native.usage.CPU.Seconds() }},
		{"siemscore CPU", "s", func(r benchRound) float64 { return r.plugin.usage.CPU.Seconds() }},
		{"native peak RSS", "MB", func(r benchRound) float64 { return float64(r.native.usage.PeakRSS) / (1 << 20) }},
		{"siemscore peak RSS", "MB", func(r benchRound) float64 { return float64(r.plugin.usage.PeakRSS) / (1 << 20) }},
		{"throughput ratio", "x", benchRound.throughputRatio},
		{"CPU ratio", "x", benchRound.cpuRatio},
		{"peak RSS ratio", "x", benchRound.rssRatio},
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d rounds: %-22s %12s %12s %12s\n", len(rounds), "", "min", "median", "max")
	for _, m := range measures {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = m.of(r)
		}
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		fmt.Fprintf(&sb, "%-32s %12.2f %12.2f %12.2f %s\n", m.name, v[0], med, v[len(v)-1], m.unit)
		unit := strings.ReplaceAll(m.name, " ", "-")
		if m.unit != "x" {
			unit += "-" + m.unit
		}
		b.ReportMetric(med, unit)
	}
	b.Log("\n" + sb.String())
}

// esCounter returns a counter of the documents one side writes into the real Elasticsearch
// and the index (native) or namespace (siemscore) to write to.
func esCounter(b *testing.B, url, side string) (func() (int, error), string) {
	b.Helper()
	name := strings.ToLower(strings.TrimPrefix(estest.UniqueName(b, "x"), "x-"))
	pattern := "bench-native-" + name
	if side == "native" {
		name = pattern
		b.Cleanup(func() {
			req, _ := http.NewRequest(http.MethodDelete, url+"/"+pattern, nil)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		})
	} else {
		ns := estest.Namespace(b)
		name, pattern = ns, "logs-siemscore.*-"+ns
	}
	next := time.Time{}
	last := 0
	return func() (int, error) {
		if time.Now().Before(next) {
			return last, nil
		}
		next = time.Now().Add(time.Second)
		res, err := http.Post(url+"/"+pattern+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "application/json", nil)
		if err != nil {
			return last, err
		}
		res.Body.Close()
		res, err = http.Get(url + "/" + pattern + "/_count?ignore_unavailable=true&allow_no_indices=true")
		if err != nil {
			return last, err
		}
		defer res.Body.Close()
		var c struct {
			Count int `json:"count"`
		}
		if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
			return last, err
		}
		last = c.Count
		return last, nil
	}, name
}

func hostPort(b *testing.B, url string) (string, int) {
	b.Helper()
	var host string
	var port int
	if _, err := fmt.Sscanf(strings.NewReplacer("http://", "", ":", " ").Replace(url), "%s %d", &host, &port); err != nil {
		b.Fatalf("Elasticsearch URL %s: %v", url, err)
	}
	return host, port
}
