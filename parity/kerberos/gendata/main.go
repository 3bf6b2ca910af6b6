// Command gendata writes the parity datasets (and, with -bench, the 100k-host benchmark matrix)
// as CSV for sklearn_parity.py.
//
//	go run ./parity/kerberos/gendata                          # parity/kerberos/testdata/*.csv
//	go run ./parity/kerberos/gendata -bench /tmp/bench100k.csv # plus the benchmark matrix
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	parity "github.com/siemscore/siemscore/parity/kerberos"
)

func main() {
	out := flag.String("out", "parity/kerberos/testdata", "directory for the parity CSVs")
	bench := flag.String("bench", "", "also write the benchmark matrix to this file")
	benchN := flag.Int("bench-n", 100_000, "rows of the benchmark matrix")
	flag.Parse()
	if err := run(*out, *bench, *benchN); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func run(out, bench string, benchN int) error {
	sets, err := parity.Datasets()
	if err != nil {
		return err
	}
	for _, d := range sets {
		if err := write(filepath.Join(out, d.Name+".csv"), func(f *os.File) error { return parity.WriteCSV(f, d.X, d.Columns) }); err != nil {
			return err
		}
	}
	if bench == "" {
		return nil
	}
	x, err := parity.BenchData(benchN)
	if err != nil {
		return err
	}
	return write(bench, func(f *os.File) error {
		return parity.WriteCSV(f, x, []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"})
	})
}

func write(path string, fill func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
