// Package realdatatest loads the real public records in the team's shared data folder
// (../shared/data from the module root) for tests and fuzz seeds. The records are never copied
// into the repository; a test that needs them skips when the folder is absent.
package realdatatest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/siemscore/siemscore/processors/input"
)

// The data sets, as globs relative to the data folder.
var (
	CloudTrailRuleTests = []string{"cloudtrail/panther-analysis/cloudtrail_rule_tests.jsonl"}
	CloudTrailScenarios = []string{"cloudtrail/panther-analysis/test_scenarios/*/cloudtrail_labelled.jsonl"}
	GuardDutyRuleTests  = []string{"cloudtrail/panther-analysis/guardduty_rule_tests.jsonl"}
	GuardDutyFindings   = []string{"guardduty/onug-csnf/*.jsonl"}
	KerberosJSON        = []string{"kerberos/otrf-apt29/*_kerberos.log"}
	KerberosTSV         = []string{"kerberos/otrf-lsass/*/kerberos.log", "kerberos/zeek-baselines/*kerberos.log*"}
)

// Body is one record as read from a data file.
type Body struct {
	File string
	Line int
	Map  map[string]any
	// Stream is what the file says the record is (a Zeek TSV header's #path), for
	// processors.AppendStream.
	Stream string
}

// DataEnv names the data folder for checkouts that do not sit beside ../shared (a git
// worktree, another machine).
const DataEnv = "SIEMSCORE_DATA"

// Dir returns the data folder, $SIEMSCORE_DATA or else ../shared/data beside the module root,
// or "" when it is absent.
func Dir() string {
	if d := os.Getenv(DataEnv); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(dir, "..", "shared", "data")
			if st, err := os.Stat(data); err == nil && st.IsDir() {
				return data
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// ErrAbsent means the data folder is absent.
var ErrAbsent = errors.New("real data not found: ../shared/data relative to the module root is absent (or set " + DataEnv + ")")

// Read reads every record of the data sets matching globs, as Fluent Bit would hand them over
// after a JSON or Zeek parser. It returns ErrAbsent when the data folder is absent.
func Read(globs ...[]string) ([]Body, error) {
	dir := Dir()
	if dir == "" {
		return nil, ErrAbsent
	}
	var out []Body
	for _, set := range globs {
		for _, g := range set {
			files, err := filepath.Glob(filepath.Join(dir, g))
			if err != nil || len(files) == 0 {
				return nil, fmt.Errorf("realdata: no data files match %s in %s", g, dir)
			}
			for _, f := range files {
				bodies, err := read(f)
				if err != nil {
					return nil, err
				}
				out = append(out, bodies...)
			}
		}
	}
	return out, nil
}

// Load is Read for tests: it skips the test when the data folder is absent and fails it when a
// file cannot be read or a record does not decode: the data is known-good, so a read error is
// a reader bug.
func Load(tb testing.TB, globs ...[]string) []Body {
	tb.Helper()
	out, err := Read(globs...)
	if errors.Is(err, ErrAbsent) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Seeds is Load for fuzz seeding: it returns nothing, rather than skipping, when the data is
// absent, so that the committed seed corpus still runs.
func Seeds(tb testing.TB, globs ...[]string) []Body {
	if Dir() == "" {
		return nil
	}
	return Load(tb, globs...)
}

func read(path string) ([]Body, error) {
	r, err := input.Open(path)
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	defer r.Close()
	var out []Body
	for it := range r.All() {
		if it.Err != nil {
			return nil, fmt.Errorf("realdata: %s:%d: %w", path, it.Line, it.Err)
		}
		out = append(out, Body{File: filepath.Base(path), Line: it.Line, Map: it.Body, Stream: it.Stream})
	}
	return out, nil
}

// Event returns the event of a rule-test or scenario record, which the data sets keep under
// "log"; other records are their own event.
func Event(b Body) map[string]any {
	if m, ok := b.Map["log"].(map[string]any); ok {
		return m
	}
	return b.Map
}
