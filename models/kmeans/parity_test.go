package kmeans_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/siemscore/siemscore/models/kmeans"
)

// parityDir holds the datasets, scikit-learn's script and its committed results.
var parityDir = filepath.Join("testdata", "parity")

var (
	update      = flag.Bool("update", false, "rewrite the parity datasets in testdata/parity (then rerun sklearn_parity.py)")
	benchMatrix = flag.String("bench-matrix", "", "write the 100k-host benchmark matrix to this CSV file (for sklearn_parity.py --bench)")
)

// TestDatasetsAreCurrent checks the committed datasets against the generator; with -update it
// rewrites them, and with -bench-matrix it also writes the benchmark matrix.
func TestDatasetsAreCurrent(t *testing.T) {
	sets, err := Datasets()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sets {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, d.X, d.Columns); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(parityDir, d.Name+".csv")
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), committed) {
			t.Errorf("%s.csv is stale: run `go test ./models/kmeans -run TestDatasetsAreCurrent -update`, then sklearn_parity.py", d.Name)
		}
	}
	if *benchMatrix != "" {
		x, err := BenchData(100_000)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, x, []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*benchMatrix, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type sklearnResults struct {
	Sklearn string `json:"sklearn"`
	Seeds   int    `json:"seeds"`
	Results map[string]map[string]struct {
		Seed0, Mean, Best, Worst float64
	} `json:"results"`
}

// TestInertiaMatchesScikitLearn fits every dataset and k the reference script fitted, with the
// same call (k-means++, 10 restarts, z-scored input), and wants the Go inertia within 1% of
// scikit-learn's.
func TestInertiaMatchesScikitLearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(parityDir, "sklearn_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref sklearnResults
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ref.Results))
	for name := range ref.Results {
		names = append(names, name)
	}
	slices.Sort(names)
	checked := 0
	for _, name := range names {
		f, err := os.Open(filepath.Join(parityDir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := ReadCSV(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		z := Standardise(x)
		for ks, want := range ref.Results[name] {
			k, err := strconv.Atoi(ks)
			if err != nil {
				t.Fatal(err)
			}
			var seed0, sum float64
			best := math.Inf(1)
			for seed := range ref.Seeds {
				r, err := kmeans.Fit(z, kmeans.Config{K: k, NInit: 10, Seed: uint64(seed)})
				if err != nil {
					t.Fatal(err)
				}
				if seed == 0 {
					seed0 = r.Inertia
				}
				sum += r.Inertia
				best = min(best, r.Inertia)
			}
			mean := sum / float64(ref.Seeds)
			rel := func(got, want float64) float64 { return (got - want) / want }
			t.Logf("%-22s k=%d  mean go %.4f sklearn %.4f (%+.2f%%)  best go %.4f sklearn %.4f (%+.2f%%)  seed 0 go %.4f sklearn %.4f (%+.2f%%)",
				name, k, mean, want.Mean, 100*rel(mean, want.Mean), best, want.Best, 100*rel(best, want.Best), seed0, want.Seed0, 100*rel(seed0, want.Seed0))
			if math.Abs(rel(mean, want.Mean)) > 0.01 || math.Abs(rel(best, want.Best)) > 0.01 {
				t.Errorf("%s k=%d: mean inertia %v (sklearn %v), best %v (sklearn %v)", name, k, mean, want.Mean, best, want.Best)
			}
			checked++
		}
	}
	if checked < 5 || ref.Seeds < 10 {
		t.Errorf("only %d reference fits over %d seeds", checked, ref.Seeds)
	}
}
