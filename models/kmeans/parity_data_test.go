package kmeans_test

// The parity tests check the Go k-means against scikit-learn, the library the Kerberos
// notebook was written with, on the notebook's own aggregations and on the model's host
// features, all computed from generated traffic.
//
// The datasets are generated here deterministically and committed as CSV under
// testdata/parity/; sklearn_parity.py beside them (see its header for how to run it) clusters
// them with scikit-learn and commits its inertias in sklearn_results.json, so the Go tests
// compare against scikit-learn without needing Python. After a change to the generator or the
// features, regenerate both (`make parity` does): TestDatasetsAreCurrent fails until then.

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	krb "github.com/siemscore/siemscore/models/kerberos"
	synth "github.com/siemscore/siemscore/models/synth/kerberos"
)

// Dataset is one matrix to cluster, in the units it is committed in (before z-scoring).
type Dataset struct {
	Name    string
	Columns []string
	X       *mat.Dense
}

// traffic is the generated day every dataset is computed from: a smaller domain than the
// default so the committed CSVs stay small, with the standard attacks planted.
func traffic() (*synth.Dataset, error) {
	return synth.Generate(synth.Config{Seed: 1, Workstations: 250, AppServers: 12, FileServers: 4,
		TerminalServers: 2, DCs: 2, Duration: 24 * time.Hour, Attacks: synth.StandardAttacks(0)})
}

// Datasets returns the parity datasets:
//
//   - notebook_unique_count: per source host, the number of distinct responders and of
//     requests over the day (the notebook's first clustering, `describe()` of id.resp_h
//     grouped by id.orig_h, columns unique and count).
//   - notebook_failures: the same plus freq (requests to the top responder), over failed
//     requests only, success == false as the notebook filtered (its second clustering).
//   - host_features: the model's host-window features over one-hour windows, transformed as
//     the model transforms them (log(1+x) for counts).
func Datasets() ([]Dataset, error) {
	d, err := traffic()
	if err != nil {
		return nil, err
	}
	reqs := d.Requests()
	all, failed := describe(reqs, func(*krb.Request) bool { return true }), describe(reqs, func(r *krb.Request) bool { return !r.Success })

	unique := Dataset{Name: "notebook_unique_count", Columns: []string{"unique", "count"}, X: mat.NewDense(len(all), 2, nil)}
	for i, s := range all {
		unique.X.SetRow(i, []float64{s.unique, s.count})
	}
	failures := Dataset{Name: "notebook_failures", Columns: []string{"unique", "count", "freq"}, X: mat.NewDense(len(failed), 3, nil)}
	for i, s := range failed {
		failures.X.SetRow(i, []float64{s.unique, s.count, s.freq})
	}

	windows, err := krb.WindowFeatures(reqs, krb.DefaultWindow)
	if err != nil {
		return nil, err
	}
	features := Dataset{Name: "host_features", X: mat.NewDense(len(windows), krb.NumFeatures, nil)}
	for f := range krb.NumFeatures {
		features.Columns = append(features.Columns, krb.Feature(f).String())
	}
	for i := range windows {
		t := windows[i].Features.Transformed()
		features.X.SetRow(i, t[:])
	}
	return []Dataset{unique, failures, features}, nil
}

type hostStats struct {
	host                netip.Addr
	unique, count, freq float64
}

// describe is pandas' df[keep].groupby('id.orig_h')['id.resp_h'].describe() for the columns
// the notebook used, hosts in address order.
func describe(reqs []krb.Request, keep func(*krb.Request) bool) []hostStats {
	per := map[netip.Addr]map[netip.Addr]float64{}
	for i := range reqs {
		if !keep(&reqs[i]) {
			continue
		}
		if per[reqs[i].Source] == nil {
			per[reqs[i].Source] = map[netip.Addr]float64{}
		}
		per[reqs[i].Source][reqs[i].Dest]++
	}
	out := make([]hostStats, 0, len(per))
	for h, dests := range per {
		s := hostStats{host: h, unique: float64(len(dests))}
		for _, n := range dests {
			s.count += n
			s.freq = max(s.freq, n)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b hostStats) int { return a.host.Compare(b.host) })
	return out
}

// BenchData is the benchmark matrix: n hosts × 8 features, resampled from the first eight host
// features of the generated day with a little Gaussian jitter (so rows are not duplicates),
// already transformed like the model's input.
func BenchData(n int) (*mat.Dense, error) {
	sets, err := Datasets()
	if err != nil {
		return nil, err
	}
	src := sets[2].X
	rows, _ := src.Dims()
	rng := rand.New(rand.NewPCG(2024, 8))
	x := mat.NewDense(n, 8, nil)
	for i := range n {
		r := rng.IntN(rows)
		for j := range 8 {
			x.Set(i, j, src.At(r, j)+0.05*rng.NormFloat64())
		}
	}
	return x, nil
}

// Standardise z-scores each column with its mean and population standard deviation, as
// scipy.stats.zscore does by default (the notebook's normalisation); a constant column becomes
// zeros, where scipy would give NaN.
func Standardise(x *mat.Dense) *mat.Dense {
	r, c := x.Dims()
	out := mat.NewDense(r, c, nil)
	col := make([]float64, r)
	for j := range c {
		mat.Col(col, j, x)
		mean, std := stat.PopMeanStdDev(col, nil)
		if !(std > 0) {
			std = math.Inf(1)
		}
		for i, v := range col {
			out.Set(i, j, (v-mean)/std)
		}
	}
	return out
}

// WriteCSV writes a header of column names and one row per point, every value in the shortest
// form that reads back to the same float64.
func WriteCSV(w io.Writer, x *mat.Dense, columns []string) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write(columns); err != nil {
		return err
	}
	r, c := x.Dims()
	row := make([]string, c)
	for i := range r {
		for j := range c {
			row[j] = strconv.FormatFloat(x.At(i, j), 'g', -1, 64)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadCSV reads what WriteCSV wrote.
func ReadCSV(r io.Reader) (*mat.Dense, []string, error) {
	records, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(records) < 2 {
		return nil, nil, fmt.Errorf("parity: csv has %d lines, want a header and rows", len(records))
	}
	x := mat.NewDense(len(records)-1, len(records[0]), nil)
	for i, rec := range records[1:] {
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("parity: csv line %d column %d: %w", i+2, j+1, err)
			}
			x.Set(i, j, v)
		}
	}
	return x, records[0], nil
}
