package plugintest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/input"
)

// realSets are the shared data sets (../shared/data from the module root; see its README) and
// the kind every record of each must become.
var realSets = []struct {
	glob string
	kind processors.Kind
}{
	{"cloudtrail/panther-analysis/cloudtrail_rule_tests.jsonl", processors.KindCloudTrail},
	{"cloudtrail/panther-analysis/test_scenarios/*/cloudtrail_labelled.jsonl", processors.KindCloudTrail},
	{"cloudtrail/panther-analysis/guardduty_rule_tests.jsonl", processors.KindGuardDuty},
	{"guardduty/onug-csnf/*.jsonl", processors.KindGuardDuty},
	{"kerberos/otrf-apt29/*_kerberos.log", processors.KindKerberos},
	{"kerberos/otrf-lsass/*/kerberos.log", processors.KindKerberos},
	{"kerberos/zeek-baselines/*kerberos.log*", processors.KindKerberos},
}

// ErrNoRealData means the shared data folder is absent; tests skip on it.
var ErrNoRealData = errors.New("real data not found: ../shared/data relative to the module root is absent")

// RealBodies reads every record of the shared real data sets, JSON lines and Zeek TSV alike, as
// Fluent Bit would hand them over after a JSON or Zeek parser.
func RealBodies() ([]Body, error) {
	dir, err := realDataDir()
	if err != nil {
		return nil, err
	}
	var out []Body
	for _, set := range realSets {
		files, err := filepath.Glob(filepath.Join(dir, set.glob))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("plugintest: no real data files match %s in %s", set.glob, dir)
		}
		for _, f := range files {
			bodies, err := readBodies(f, set.kind)
			if err != nil {
				return nil, err
			}
			out = append(out, bodies...)
		}
	}
	return out, nil
}

func readBodies(path string, kind processors.Kind) ([]Body, error) {
	r, err := input.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugintest: %w", err)
	}
	defer r.Close()
	var out []Body
	for it := range r.All() {
		if it.Err != nil {
			return nil, fmt.Errorf("plugintest: %s:%d: %w", path, it.Line, it.Err)
		}
		out = append(out, Body{Kind: kind, Map: it.Body})
	}
	return out, nil
}

// realDataDir finds ../shared/data next to the module root above the working directory.
func realDataDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("plugintest: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(dir, "..", "shared", "data")
			if st, err := os.Stat(data); err != nil || !st.IsDir() {
				return "", ErrNoRealData
			}
			return data, nil
		}
		if filepath.Dir(dir) == dir {
			return "", ErrNoRealData
		}
	}
}
