package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// TestScoreRoutesRealFiles scores the real Zeek and CloudTrail files of the shared data folder
// as they are (the panther rule tests keep each CloudTrail event under "log", as a shipper
// would wrap it) and checks, against counts taken from the files themselves, that every record
// lands as its type with its own time: only records whose time is missing or masked in the
// file (redacted CloudTrail, Zeek's test baselines) fall back, and say why.
func TestScoreRoutesRealFiles(t *testing.T) {
	dir := realdatatest.Dir()
	if dir == "" {
		t.Skip(realdatatest.ErrAbsent)
	}
	sets := []struct {
		kind  string
		globs []string
	}{
		{"cloudtrail", append(slices.Clone(realdatatest.CloudTrailRuleTests), realdatatest.CloudTrailScenarios...)},
		{"guardduty", append(slices.Clone(realdatatest.GuardDutyRuleTests), realdatatest.GuardDutyFindings...)},
		{"kerberos", append(slices.Clone(realdatatest.KerberosJSON), realdatatest.KerberosTSV...)},
	}
	for _, set := range sets {
		var files []string
		for _, g := range set.globs {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			files = append(files, m...)
		}
		rows, undated := countRows(t, files)
		args := append([]string{"score"}, files...)
		r := cli(t, "", nil, args...).must(t, 0)
		want := fmt.Sprintf("wrote %d records [%s %d], 0 bad lines", rows, set.kind, rows)
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: summary %q, want %q", set.kind, strings.TrimSpace(r.stderr), want)
		}
		fellBack := 0
		sc := bufio.NewScanner(strings.NewReader(r.stdout))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var d struct {
				Timestamp time.Time `json:"@timestamp"`
				Event     struct {
					Dataset string `json:"dataset"`
				} `json:"event"`
				SiemScore struct {
					Issues []string `json:"issues"`
				} `json:"siemscore"`
			}
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(d.SiemScore.Issues, func(s string) bool { return strings.HasPrefix(s, "timestamp_") }) {
				fellBack++
			} else if d.Timestamp.After(time.Now().Add(-time.Hour)) {
				t.Errorf("%s: a record stamped with the time it was read: %s", set.kind, sc.Text())
			}
		}
		if fellBack != undated {
			t.Errorf("%s: %d records without a time of their own, the files have %d", set.kind, fellBack, undated)
		}
		t.Logf("%s: %d records in %d files, %d without a time of their own", set.kind, rows, len(files), undated)
	}
}

// countRows counts the records of the files with plain text tools: JSON lines, or Zeek TSV rows
// (non-comment lines after the header; a file without #fields has its column names on the
// first line), and those whose time is missing, redacted or masked.
func countRows(t *testing.T, files []string) (rows, undated int) {
	t.Helper()
	masked := regexp.MustCompile(`^X+\.X+\t`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first := true
		headered := bytes.Contains(b, []byte("\n#fields\t"))
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.TrimSpace(line) == "", strings.HasPrefix(line, "#"):
				continue
			case strings.HasPrefix(line, "{"):
				rows++
				var ev map[string]any
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatal(err)
				}
				if inner, ok := ev["log"].(map[string]any); ok {
					ev = inner
				}
				ts, ok := ev["eventTime"].(string)
				if !ok {
					ts, ok = ev["eventtime"].(string) // the all-lowercase export spelling
				}
				if _, isZeek := ev["ts"]; isZeek {
					continue
				}
				if _, isFinding := ev["updatedAt"]; isFinding {
					continue
				}
				if _, err := time.Parse(time.RFC3339, ts); !ok || err != nil {
					if _, err := time.Parse("2006-01-02 15:04:05", ts); !ok || err != nil {
						undated++
					}
				}
			default: // a Zeek TSV row, or the column names of a file without #fields
				if first && !headered {
					first = false
					continue
				}
				rows++
				if masked.MatchString(line) {
					undated++
				}
			}
		}
	}
	return rows, undated
}

// TestScoreProgress: on a terminal, score redraws one line with the records so far, their rate
// and the bytes read, and clears it at the end; elsewhere (a file, a pipe) it prints only the
// summary, with the rate and the bytes read.
func TestScoreProgress(t *testing.T) {
	var term bytes.Buffer
	s := &scoring{start: time.Now().Add(-2 * time.Second)}
	s.done.Store(1500)
	s.read.Store(3 << 20)
	stop := s.progress(&syncWriter{w: &term})
	time.Sleep(redrawEvery + redrawEvery/2)
	stop()
	out := term.String()
	if !regexp.MustCompile(`^\r\x1b\[K1500 records, [0-9]+/s, 3\.0 MiB read in [23]s`).MatchString(out) || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("progress line %q", out)
	}

	in := filepath.Join(t.TempDir(), "krb.log")
	line := `{"ts":1588205199.832602,"uid":"C1","id.orig_h":"10.0.1.6","id.orig_p":56880,"id.resp_h":"10.0.0.4","id.resp_p":88,"request_type":"AS","client":"bob/REALM","service":"krbtgt/REALM","success":true}` + "\n"
	if err := os.WriteFile(in, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", nil, "score", in).must(t, 0)
	want := fmt.Sprintf(`wrote 1 records \[kerberos 1\], 0 bad lines, in [^ ]+ \([0-9]+ records/s, %d B read\)`, len(line))
	if !regexp.MustCompile(want).MatchString(r.stderr) || strings.Contains(r.stderr, "\r") {
		t.Errorf("summary %q", r.stderr)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestScoreWithGeo: score adds geo and AS fields from the databases it is given, and refuses a
// database that is not one.
func TestScoreWithGeo(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ct.json")
	ev := `{"eventVersion":"1.08","eventTime":"2024-05-06T07:08:09Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"2a02:cf40::9","userIdentity":{"type":"Root","principalId":"1"}}` + "\n"
	os.WriteFile(in, []byte(ev), 0o644)
	city := geoiptest.WriteCity(t, dir)
	ranges := geoiptest.WriteRanges(t, dir)
	r := cli(t, "", nil, "score", "-q", "--geo-city-db", city, "--geo-asn-csv", strings.Join(ranges, ","), in).must(t, 0)
	var d struct {
		Source ecs.Endpoint `json:"source"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || d.Source.Geo == nil || d.Source.Geo.CityName != "Oslo" || d.Source.AS == nil || d.Source.AS.Number != 29695 {
		t.Errorf("%v: %s", err, r.stdout)
	}
	r = cli(t, "", nil, "score", "--geo-city-db", in, in)
	if r.code == 0 || !strings.Contains(r.stderr, "not a MaxMind DB file") {
		t.Errorf("a database that is not one: exit %d %s", r.code, r.stderr)
	}
}
