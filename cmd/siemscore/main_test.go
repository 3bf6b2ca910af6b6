package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/siemscore/siemscore/elastic/assets"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line in-process with stdin and the environment env.
func cli(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code := run(context.Background(), args, a)
	return result{code, out.String(), errb.String()}
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// fixture holds generated training and test files in every format train and score read.
type fixture struct {
	dir string
	org *ipnet.Dataset // CloudTrail of two small organisations
	tut *ipnet.Dataset // the SageMaker tutorial's users, as principal,ip tuples
	krb *synthkrb.Dataset

	ctLines, ctRecords, zeekTSV, tuples string // training files
	ctTest, tupleTest, zeekJSON         string // files to score
	ctTestLines                         int
}

// fastTrain keeps the IP model small: these tests check the command, not the model.
var fastTrain = []string{"--ip-epochs", "2", "--ip-vector-dim", "16", "--krb-k", "4"}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
)

// files returns the shared fixture, generated once per test binary into a directory that
// outlives the tests using it (it is removed by TestMain).
func files(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = makeFixture() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureVal
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureVal != nil {
		os.RemoveAll(fixtureVal.dir)
	}
	os.Exit(code)
}

func makeFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "siemscore-cli-test")
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir}
	oc := ipnet.DefaultOrgConfig()
	oc.Orgs, oc.Members = 2, 8
	if f.org, err = ipnet.Org(oc); err != nil {
		return nil, err
	}
	tc := ipnet.DefaultTutorialConfig()
	tc.Users, tc.Attacks = 60, 200
	if f.tut, _, err = ipnet.Tutorial(tc); err != nil {
		return nil, err
	}
	if f.krb, err = synthkrb.Generate(synthkrb.Config{Seed: 1, Workstations: 40}); err != nil {
		return nil, err
	}
	half := len(f.org.Train) / 2

	// Half the CloudTrail as gzip-compressed JSON lines with one broken line, half as an S3
	// log file.
	var lines bytes.Buffer
	if err := ipnet.WriteCloudTrail(&lines, 1, f.org.Train[:half]); err != nil {
		return nil, err
	}
	lines.WriteString("{\"eventName\": broken\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(lines.Bytes())
	zw.Close()
	f.ctLines = filepath.Join(dir, "cloudtrail.json.gz")
	f.ctRecords = filepath.Join(dir, "cloudtrail-records.json")
	f.zeekTSV = filepath.Join(dir, "kerberos.log")
	f.tuples = filepath.Join(dir, "tuples.csv")
	f.ctTest = filepath.Join(dir, "cloudtrail-test.json")
	f.tupleTest = filepath.Join(dir, "tuples-test.csv")
	f.zeekJSON = filepath.Join(dir, "kerberos.json")
	write := func(path string, fill func(io.Writer) error) error {
		var b bytes.Buffer
		if err := fill(&b); err != nil {
			return err
		}
		return os.WriteFile(path, b.Bytes(), 0o644)
	}
	test := slices.Concat(f.org.Test, f.org.Attacks)
	f.ctTestLines = len(test)
	err = cmpErr(
		os.WriteFile(f.ctLines, gz.Bytes(), 0o644),
		write(f.ctRecords, func(w io.Writer) error { return ipnet.WriteCloudTrailFile(w, 2, f.org.Train[half:]) }),
		write(f.zeekTSV, func(w io.Writer) error { return synthkrb.WriteZeekTSV(w, f.krb.Records, f.krb.Records[0].Time) }),
		write(f.zeekJSON, func(w io.Writer) error { return synthkrb.WriteZeekJSON(w, f.krb.Records) }),
		write(f.ctTest, func(w io.Writer) error { return ipnet.WriteCloudTrail(w, 3, test) }),
		// The workshop's tuples: pandas' header, the tutorial's users, one row that is no tuple.
		write(f.tuples, func(w io.Writer) error {
			fmt.Fprintln(w, "principal,ip")
			writeTuples(w, f.tut.Train)
			fmt.Fprintln(w, "AIDAEXAMPLE,not-an-address")
			return nil
		}),
		write(f.tupleTest, func(w io.Writer) error { writeTuples(w, slices.Concat(f.tut.Test, f.tut.Attacks)); return nil }),
	)
	return f, err
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func writeTuples(w io.Writer, events []ipnet.Event) {
	for _, e := range events {
		fmt.Fprintf(w, "%s,%s\n", e.Principal(), e.IP)
	}
}

// trained returns a bundle trained on every training file, shared by the score tests.
var (
	bundleOnce sync.Once
	bundlePath string
)

func trainedBundle(t *testing.T) string {
	t.Helper()
	f := files(t)
	bundleOnce.Do(func() {
		path := filepath.Join(f.dir, "shared.bundle")
		r := cli(t, "", nil, append(append([]string{"train", "-q", "-o", path}, fastTrain...), f.ctLines, f.ctRecords, f.zeekTSV, f.tuples)...)
		if r.code == 0 {
			bundlePath = path
		} else {
			t.Logf("train: %+v", r)
		}
	})
	if bundlePath == "" {
		t.Fatal("training the shared bundle failed")
	}
	return bundlePath
}

func TestTrainEveryFormat(t *testing.T) {
	f := files(t)
	out := filepath.Join(t.TempDir(), "model.bundle")
	r := cli(t, "", nil, append(append([]string{"train", "-o", out}, fastTrain...), f.ctLines, f.ctRecords, f.zeekTSV, f.tuples)...).must(t, 0)

	b, err := bundle.ReadFile(out, bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Tags(), " "); got != "APIP IPIN KRBH" {
		t.Errorf("sections %q, want all three models", got)
	}
	// The IP model learnt both the CloudTrail principals and the CSV ones.
	if !b.IP().Known(f.org.Train[0].Identity.PrincipalID) || !b.IP().Known(f.tut.Train[0].Identity.PrincipalID) {
		t.Error("the IP model does not know a CloudTrail principal or a CSV principal")
	}
	if n := b.IP().Config().Embedding.Epochs; n != 2 {
		t.Errorf("trained %d epochs, --ip-epochs said 2", n)
	}
	if k := b.Kerberos().K(); k != 4 {
		t.Errorf("k = %d, --krb-k said 4", k)
	}
	for _, want := range []string{
		"reading " + f.ctLines + " (JSON lines)",
		"reading " + f.ctRecords + " (JSON document)",
		"reading " + f.zeekTSV + " (Zeek TSV)",
		"reading " + f.tuples + " (principal,ip CSV)",
		"first row taken as a header",
		"ip: embedding epoch 1/2 loss", "pairs/s",
		"kerberos: ", "api: ",
		f.ctLines + ": " + strconv.Itoa(len(f.org.Train)/2) + " records, 1 bad lines",
		f.tuples + ": " + strconv.Itoa(len(f.tut.Train)) + " records, 1 bad lines",
		"wrote " + out + ": version ",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if c := strings.Count(r.stderr, "bad input: "); c != 2 {
		t.Errorf("%d bad inputs reported, want 2:\n%s", c, r.stderr)
	}

	// Training again replaces the bundle with a newer version.
	r = cli(t, "", nil, append(append([]string{"train", "-q", "-o", out, "--models", "kerberos"}, fastTrain...), f.zeekTSV)...).must(t, 0)
	b2, err := bundle.ReadFile(out, bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b2.Version().Compare(b.Version()) <= 0 || strings.Join(b2.Tags(), " ") != "KRBH" {
		t.Errorf("retrained bundle %s %v after %s", b2.VersionString(), b2.Tags(), b.VersionString())
	}
	if r.stderr != "" {
		t.Errorf("-q still wrote:\n%s", r.stderr)
	}
}

func TestTrainFromStdinAndRequiredModels(t *testing.T) {
	f := files(t)
	in, err := os.ReadFile(f.tuples)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ip.bundle")
	cli(t, string(in), nil, append(append([]string{"train", "-o", out}, fastTrain...), "-")...).must(t, 0)
	b, err := bundle.ReadFile(out, bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.IP() == nil || b.Kerberos() != nil {
		t.Errorf("tuples from stdin gave sections %v", b.Tags())
	}
	// Kerberos is required but the data has none: a failure, and the bundle is left alone.
	r := cli(t, string(in), nil, "train", "-q", "-o", out, "--models", "ip,kerberos", "-").must(t, 1)
	if !strings.Contains(r.stderr, "kerberos model") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if b2, err := bundle.ReadFile(out, bundle.DecodeOptions{}); err != nil || b2.VersionString() != b.VersionString() {
		t.Errorf("a failed run replaced the bundle: %v", err)
	}
}

func TestSignedBundle(t *testing.T) {
	f := files(t)
	const secret = "correct-horse-battery-staple"
	dir := t.TempDir()
	out := filepath.Join(dir, "signed.bundle")
	r := cli(t, "", map[string]string{shared.EnvBundleKey: secret}, append(append([]string{"train", "-o", out}, fastTrain...), f.tuples)...).must(t, 0)
	if !strings.Contains(r.stderr, ", signed, ") || strings.Contains(r.stderr+r.stdout, secret) {
		t.Errorf("signing: stderr %q", r.stderr)
	}
	if _, err := bundle.ReadFile(out, bundle.DecodeOptions{Key: []byte(secret), RequireSignature: true}); err != nil {
		t.Errorf("the bundle is not signed with the key: %v", err)
	}

	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(secret+"\n"), 0o600)
	r = cli(t, "1.2.3.4,198.51.100.1\n", nil, "score", "--bundle", out, "--key-file", keyFile, "--require-signature").must(t, 0)
	if !strings.Contains(r.stderr, "signature verified") {
		t.Errorf("stderr: %s", r.stderr)
	}
	wrong := cli(t, "", map[string]string{shared.EnvBundleKey: "another key"}, "score", "--bundle", out).must(t, 1)
	if strings.Contains(wrong.stderr, "another key") || strings.Contains(wrong.stderr, secret) {
		t.Errorf("a key was printed: %s", wrong.stderr)
	}
	cli(t, "", nil, "score", "--bundle", out, "--require-signature").must(t, 2)
}

// decodeLines parses JSON lines into documents.
func decodeLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("output line is not JSON: %v: %s", err, sc.Text())
		}
		docs = append(docs, d)
	}
	return docs
}

func field(doc map[string]any, keys ...string) any {
	var v any = doc
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestScoreRecords(t *testing.T) {
	f := files(t)
	model := trainedBundle(t)
	b, err := bundle.ReadFile(model, bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "scored.ndjson")
	r := cli(t, "", nil, "score", "--bundle", model, "-o", out, f.ctTest).must(t, 0)
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	docs := decodeLines(t, string(text))
	if len(docs) != f.ctTestLines {
		t.Fatalf("%d documents out for %d records in", len(docs), f.ctTestLines)
	}
	// Every record is scored by the bundle, and the attacks (after the normal test events)
	// score higher than the normal traffic on average.
	var normal, attack float64
	nTest := len(f.org.Test)
	for i, d := range docs {
		if v := field(d, "siemscore", "model", "version"); v != b.VersionString() {
			t.Fatalf("document %d scored by %v, want %s", i, v, b.VersionString())
		}
		if field(d, "siemscore", "ip", "status") != "scored" || field(d, "event", "risk_score_norm") == nil {
			t.Fatalf("document %d: IP not scored: %v", i, field(d, "siemscore", "ip"))
		}
		s := field(d, "siemscore", "ip", "score_norm").(float64)
		if i < nTest {
			normal += s / float64(nTest)
		} else {
			attack += s / float64(len(docs)-nTest)
		}
	}
	// A sanity check of direction only: the shared bundle trains two epochs of small vectors.
	if attack <= normal+5 {
		t.Errorf("mean score_norm: attacks %.1f, normal %.1f", attack, normal)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("wrote %d records [cloudtrail %d]", len(docs), len(docs))) {
		t.Errorf("stderr: %s", r.stderr)
	}

	// Zeek JSON from stdin, scored in order: day one warms the host windows up, after which
	// records carry the Kerberos scores and features.
	zeek, err := os.ReadFile(f.zeekJSON)
	if err != nil {
		t.Fatal(err)
	}
	r = cli(t, string(zeek), nil, "score", "-q", "--bundle", model).must(t, 0)
	docs = decodeLines(t, r.stdout)
	if len(docs) != len(f.krb.Records) {
		t.Fatalf("%d documents for %d Zeek records", len(docs), len(f.krb.Records))
	}
	// By default the features come with the records that score above 0 only.
	var unusual, ordinary int
	for i, d := range docs {
		score, _ := field(d, "siemscore", "kerberos", "score_norm").(float64)
		has := field(d, "siemscore", "kerberos", "features", "requests") != nil
		if has != (score > 0) {
			t.Fatalf("record %d: score_norm %v, features %v", i, score, field(d, "siemscore", "kerberos", "features"))
		}
		if has {
			unusual++
		} else if field(d, "siemscore", "kerberos", "status") == "scored" {
			ordinary++
		}
	}
	if unusual == 0 || ordinary == 0 {
		t.Errorf("%d records with features, %d scored without", unusual, ordinary)
	}
	r = cli(t, string(zeek), nil, "score", "-q", "--bundle", model, "--kerberos-features", "all").must(t, 0)
	docs = decodeLines(t, r.stdout)
	for i, d := range docs {
		if field(d, "siemscore", "kerberos", "features", "requests") == nil {
			t.Fatalf("--kerberos-features all, record %d: %v", i, field(d, "siemscore", "kerberos"))
		}
	}
	r = cli(t, "", nil, "score", "--kerberos-features", "some").must(t, 2)
	if !strings.Contains(r.stderr, "--kerberos-features") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestScoreWithoutBundleAndBadLines(t *testing.T) {
	in := `{"eventVersion":"1.09","eventTime":"2025-03-05T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice"}}
not json at all
{"schemaVersion":"2.0","type":"Recon:EC2/PortProbeUnprotectedPort","severity":"oops"}
`
	r := cli(t, in, nil, "score").must(t, 0)
	docs := decodeLines(t, r.stdout)
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3 (the unreadable line is reported, and written as a pipeline error)", len(docs))
	}
	if field(docs[1], "event", "original") != "not json at all" || field(docs[1], "error", "type") != "input_invalid" {
		t.Errorf("the unreadable line: %v", docs[1])
	}
	if field(docs[0], "siemscore", "model", "status") != "untrained" {
		t.Errorf("without a bundle: %v", field(docs[0], "siemscore", "model"))
	}
	if !strings.Contains(r.stderr, "bad input: stdin:2:") || !strings.Contains(r.stderr, ", 1 bad lines") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// Count in = count out: every line gives a document, the bad ones a pipeline_error document
// holding the line, and each bad line is counted once. What the test expects comes from the
// lines it wrote (a marker per good line, the text of each bad one).
func TestScoreAccountsForEveryLine(t *testing.T) {
	var in strings.Builder
	var good []string
	bad := map[string]bool{}
	for i := range 30 {
		switch i % 6 {
		case 0, 3:
			marker := fmt.Sprintf("m-%02d", i)
			good = append(good, marker)
			fmt.Fprintf(&in, "{\"marker\":%q}\n", marker)
		case 1:
			in.WriteString(fmt.Sprint(i) + "\n")
			bad[fmt.Sprint(i)] = true
		case 2:
			in.WriteString("[]\n")
			bad["[]"] = true
		case 4:
			s := fmt.Sprintf("plain text %d", i)
			in.WriteString(s + "\n")
			bad[s] = true
		case 5:
			in.WriteString("null\n")
			bad["null"] = true
		}
	}
	r := cli(t, in.String(), nil, "score", "--record-type", "generic").must(t, 0)
	docs := decodeLines(t, r.stdout)
	seen := map[string]int{}
	for _, d := range docs {
		if m, ok := d["marker"].(string); ok {
			seen[m]++
			continue
		}
		if o, _ := field(d, "event", "original").(string); bad[o] && field(d, "error", "type") == "input_invalid" {
			seen[o]++
			continue
		}
		t.Errorf("a document the input does not explain: %v", d)
	}
	for _, m := range good {
		if seen[m] != 1 {
			t.Errorf("marker %s: %d documents", m, seen[m])
		}
	}
	if len(docs) != 30 {
		t.Errorf("%d documents for 30 lines", len(docs))
	}
	if !strings.Contains(r.stderr, ", 20 bad lines") {
		t.Errorf("20 bad lines must be counted: %s", r.stderr)
	}
}

// A truncated .gz: every complete line before the cut is written and the cut is one bad line,
// small file or large.
func TestScoreTruncatedGzip(t *testing.T) {
	for _, n := range []int{4, 30_000} {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for i := range n {
			fmt.Fprintf(zw, "{\"seq\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("p", 30))
		}
		zw.Close()
		path := filepath.Join(t.TempDir(), "cut.json.gz")
		if err := os.WriteFile(path, buf.Bytes()[:buf.Len()-10], 0o644); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "", nil, "score", "--record-type", "generic", path).must(t, 0)
		docs := decodeLines(t, r.stdout)
		for i, d := range docs {
			if d["seq"] != float64(i) {
				t.Fatalf("%d lines: document %d is %v", n, i, d)
			}
		}
		if len(docs) < n-2 || !strings.Contains(r.stderr, ", 1 bad lines") {
			t.Errorf("%d lines cut short: %d written; %s", n, len(docs), r.stderr)
		}
	}
}

func TestScoreTuples(t *testing.T) {
	f := files(t)
	model := trainedBundle(t)
	r := cli(t, "", nil, "score", "--bundle", model, f.tupleTest).must(t, 0)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	nTest, nAttack := len(f.tut.Test), len(f.tut.Attacks)
	if len(rows) != 1+nTest+nAttack || strings.Join(rows[0], ",") != "principal,ip,score_norm,score" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	var normal, attack float64
	for i, row := range rows[1:] {
		e := f.tut.Test
		j := i
		if i >= nTest {
			e, j = f.tut.Attacks, i-nTest
		}
		if row[0] != e[j].Principal() || row[1] != e[j].IP.String() {
			t.Fatalf("row %d: %v, want %s,%s", i, row, e[j].Principal(), e[j].IP)
		}
		s, err := strconv.ParseFloat(row[2], 64)
		if err != nil || s < 0 || s > 100 {
			t.Fatalf("row %d: score_norm %q", i, row[2])
		}
		if _, err := strconv.ParseFloat(row[3], 64); err != nil {
			t.Fatalf("row %d: score %q", i, row[3])
		}
		if i < nTest {
			normal += s / float64(nTest)
		} else {
			attack += s / float64(nAttack)
		}
	}
	if attack <= normal+5 {
		t.Errorf("mean score_norm: attacks %.1f, normal %.1f", attack, normal)
	}

	// Tuples need an IP model; records and tuples do not mix in one output.
	if r := cli(t, "AIDAEXAMPLE,198.51.100.1\n", nil, "score").must(t, 1); !strings.Contains(r.stderr, "needs --bundle with an IP model") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if r := cli(t, "", nil, "score", "--bundle", model, f.tupleTest, f.ctTest).must(t, 1); !strings.Contains(r.stderr, "score them separately") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// The public records in ../shared/data train and score without a line lost: real Zeek logs
// (JSON and TSV, masked times), CloudTrail rule-test records with odd fields, GuardDuty findings.
func TestRealData(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("no public records at %s (see ../shared/data/README.md beside the repository): %v", data, err)
	}
	glob := func(pattern string) []string {
		m, _ := filepath.Glob(filepath.Join(data, pattern))
		if len(m) == 0 {
			t.Skipf("no files match %s", pattern)
		}
		return m
	}
	ct := glob("cloudtrail/panther-analysis/cloudtrail_rule_tests.jsonl")
	zeek := slices.Concat(glob("kerberos/otrf-apt29/*.log"), glob("kerberos/otrf-lsass/*/*kerberos*"), glob("kerberos/zeek-baselines/*kerberos.log*"))
	out := filepath.Join(t.TempDir(), "real.bundle")
	r := cli(t, "", nil, append([]string{"train", "-o", out, "--models", "ip"}, slices.Concat(ct, zeek)...)...).must(t, 0)
	if !strings.Contains(r.stderr, "0 bad lines") || !strings.Contains(r.stderr, "kerberos: no_event_time") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	gd := slices.Concat(glob("guardduty/onug-csnf/*.jsonl"), glob("cloudtrail/panther-analysis/guardduty_rule_tests.jsonl"))
	var in int
	for _, f := range gd {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in += bytes.Count(bytes.TrimSpace(b), []byte("\n")) + 1
	}
	r = cli(t, "", nil, append([]string{"score", "-q", "--bundle", out}, gd...)...).must(t, 0)
	docs := decodeLines(t, r.stdout)
	if len(docs) != in {
		t.Fatalf("%d findings in, %d documents out", in, len(docs))
	}
	for i, d := range docs {
		if field(d, "siemscore", "guardduty", "status") != "scored" {
			t.Errorf("finding %d: %v", i, field(d, "siemscore", "guardduty"))
		}
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo at a quarter of its size (a few seconds)")
	}
	out := t.TempDir()
	r := cli(t, "", nil, "demo", "--scale", "0.25", "--seed", "2", "--out", out).must(t, 0)
	for _, want := range []string{"IP anomaly model", "AUC", "TPR at 1% FPR", "best F1", "top anomalies", "spray", "kerberoast", "brute_force",
		"automated roles: precision", "volume_z", filepath.Join(out, "report.html")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "ip: embedding epoch 5/5") || !strings.Contains(r.stderr, "scored") {
		t.Errorf("progress:\n%s", r.stderr)
	}
	for _, name := range []string{"model.bundle", "report.html"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"--help"}, []string{"train", "score", "demo", "assets", "deadletter", "version"}},
		{[]string{"deadletter", "--help"}, []string{"replay"}},
		{[]string{"deadletter", "replay", "--help"}, []string{"--file", "--namespace", "--index", "--es-url", "--batch", "no duplicate"}},
		{[]string{"train", "--help"}, []string{"--output", "--models", "--seed", "--key-file", "--ip-epochs", "--ip-vector-dim", "--krb-k", "--api-threshold", "SIEMSCORE_BUNDLE_KEY"}},
		{[]string{"score", "--help"}, []string{"--bundle", "--key-file", "--require-signature", "--output", "principal,ip,score_norm,score"}},
		{[]string{"demo", "--help"}, []string{"--out", "--seed", "--scale", "out/demo"}},
		{[]string{"assets", "--help"}, []string{"list", "print", "install"}},
		{[]string{"assets", "list", "--help"}, []string{"List the artifacts"}},
		{[]string{"assets", "print", "--help"}, []string{"--dir"}},
		{[]string{"assets", "install", "--help"}, []string{"--kibana-url", "--es-url", "--api-key", "--user", "--password", "SIEMSCORE_ES_API_KEY"}},
		{[]string{"version", "--help"}, []string{"version"}},
	} {
		r := cli(t, "", nil, tc.args...).must(t, 0)
		for _, f := range append(tc.flags, "Usage:") {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%v: help lacks %q", tc.args, f)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"train", "--nosuchflag", "x"},
		{"train"},
		{"train", "--models", "dns", "x"},
		{"train", "--api-from", "2024-01-01", "x"},
		{"train", "--record-type", "syslog", "x"},
		{"demo", "--scale", "0"},
		{"demo", "extra"},
		{"score", "--record-type", "syslog"},
		{"assets", "print", "nosuchartifact"},
		{"assets", "install"},
		{"version", "extra"},
	} {
		r := cli(t, "", nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "siemscore: ") || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := cli(t, "", nil, "train", "-o", filepath.Join(t.TempDir(), "b"), "/no/such/file"); r.code != exitFailure {
		t.Errorf("a missing file: exit %d", r.code)
	}
}

func TestVersion(t *testing.T) {
	r := cli(t, "", nil, "version").must(t, 0)
	if !strings.HasPrefix(r.stdout, "siemscore ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: %q", r.stdout)
	}
}

func TestAssetsListAndPrint(t *testing.T) {
	r := cli(t, "", nil, "assets", "list").must(t, 0)
	for _, n := range assets.Names() {
		if !strings.Contains(r.stdout, n) {
			t.Errorf("list lacks %s", n)
		}
	}
	art, err := assets.Lookup("kibana-dashboard")
	if err != nil {
		t.Fatal(err)
	}
	want, err := art.Content()
	if err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "", nil, "assets", "print", "kibana-dashboard").must(t, 0); r.stdout != string(want) {
		t.Error("print of one artifact is not its content as the import API takes it")
	}
	if r := cli(t, "", nil, "assets", "print").must(t, 0); strings.Count(r.stdout, "\n# ") < len(assets.Names())-1 {
		t.Errorf("print of all artifacts does not head each one:\n%.300s", r.stdout)
	}
	// --dir creates the directory, parents included, as -o does for a file.
	dir := filepath.Join(t.TempDir(), "new", "assets")
	cli(t, "", nil, "assets", "print", "--dir", dir, "kibana-dashboard", "watch").must(t, 0)
	if got, err := os.ReadFile(filepath.Join(dir, art.FileName)); err != nil || !bytes.Equal(got, want) {
		t.Errorf("--dir: %v", err)
	}
}

// The install command takes its credentials from the environment, sends them to Kibana and
// never prints them; a Kibana that refuses them makes the command fail.
func TestAssetsInstall(t *testing.T) {
	const key = "siemscore-id:very-secret-api-key"
	var (
		mu          sync.Mutex
		auth, paths []string
		refuse      atomic.Bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth, paths = append(auth, r.Header.Get("Authorization")), append(paths, r.URL.Path)
		mu.Unlock()
		if refuse.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"statusCode":401,"error":"Unauthorized","message":"unable to authenticate"}`)
			return
		}
		io.WriteString(w, `{"success":true,"successCount":11,"successResults":[]}`)
	}))
	defer srv.Close()
	env := map[string]string{envKibanaURL: srv.URL, shared.EnvESAPIKey: key}

	r := cli(t, "", env, "assets", "install", "kibana-dashboard", "elastalert-rule").must(t, 0)
	if !strings.Contains(r.stdout, "kibana-dashboard") || !strings.Contains(r.stdout, "created") || !strings.Contains(r.stdout, "skipped") {
		t.Errorf("stdout: %s", r.stdout)
	}
	// The scheme is case-insensitive (RFC 9110); the credentials are the encoded key.
	wantAuth := "apikey " + base64.StdEncoding.EncodeToString([]byte(key))
	if len(auth) != 1 || !strings.EqualFold(auth[0], wantAuth) || !strings.HasSuffix(auth[0], wantAuth[7:]) || paths[0] != "/api/saved_objects/_import" {
		t.Errorf("Kibana saw %v %v", paths, auth)
	}

	refuse.Store(true)
	r = cli(t, "", env, "assets", "install", "kibana-dashboard").must(t, 1)
	if !strings.Contains(r.stdout, "401") || !strings.Contains(r.stderr, "1 of 1 artifacts failed") {
		t.Errorf("refused: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "very-secret") {
		t.Error("the API key was printed")
	}
}
