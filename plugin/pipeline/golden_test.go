package pipeline

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest/bulksink"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/body"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current output")

// The golden files hold the bulk items (index, _id, document) the plugin sends for fixed
// inputs, so that a change to decoding, mapping, scoring or encoding that alters a single byte
// of what reaches Elasticsearch shows up as a test failure naming the document. They were
// first written before the hot path was rewritten for speed (issue 12); a deliberate change
// of the documents rewrites them with -update-golden, and the commit says why.
//
// Sets:
//   - workload: the 2000-record mix of the flush benchmarks (CloudTrail, Kerberos, container
//     logs, GuardDuty), scored by a trained bundle with warm state: the first goldenSample
//     items in full, the others as a SHA-256 of the document;
//   - edge: every fuzz seed of the processors, decoded in the value forms the msgpack decoder
//     produces, bare and inside a `log` key, plus msgpack that JSON cannot express (binary
//     strings, non-string and duplicate keys, ext values, times and floats in bodies), with
//     and without preserve_original, and with a fixed record type: in full;
//   - realdata: the public records in ../shared/data, as SHA-256 only (the repository never
//     holds a copy of them); skipped when the folder is absent.
const goldenSample = 40

// goldenMaxFull is the longest document a golden file holds in full; longer ones (the huge
// strings of some fuzz seeds) are kept as their hash.
const goldenMaxFull = 4096

func TestGoldenDocuments(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the workload's bundle")
	}
	w := benchWorkload(t)
	auto, err := processors.New(processors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("workload", func(t *testing.T) {
		items := goldenRun(t, auto, w.scorer(t), [][]byte{w.chunk})
		checkGolden(t, "workload", items, goldenSample)
	})
	t.Run("edge", func(t *testing.T) {
		bodies := edgeBodies(t)
		var items []goldenItem
		for _, opts := range []processors.Options{{}, {PreserveOriginal: true}, {Type: "cloudtrail"}, {Type: "kerberos", EventKeys: []string{"message"}}} {
			p, err := processors.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, goldenRun(t, p, w.scorer(t), [][]byte{edgeChunk(t, bodies)})...)
		}
		checkGolden(t, "edge", items, math.MaxInt)
	})
	t.Run("realdata", func(t *testing.T) {
		bodies, err := plugintest.RealBodies()
		if err != nil {
			t.Skip(err)
		}
		var chunks [][]byte
		for start := 0; start < len(bodies); start += 500 {
			chunk, err := plugintest.Chunk(bodies[start:min(start+500, len(bodies))])
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, chunk)
		}
		checkGolden(t, "realdata", goldenRun(t, auto, w.scorer(t), chunks), 0)
	})
}

// goldenItem is one bulk item as the sink received it.
type goldenItem struct {
	index, id, doc string
}

// deadLetterTime is the time a dead-letter document carries: when it was written, so not
// reproducible.
var deadLetterTime = regexp.MustCompile(`^\{"@timestamp":"[^"]*"`)

// ingestedTime is event.ingested, the time of delivery: not reproducible either.
var ingestedTime = regexp.MustCompile(`"ingested":"[^"]*"`)

// deadLetterHost is the host name dead letters carry, which differs from machine to machine.
var deadLetterHost = regexp.MustCompile(`"host":\{"name":"[^"]*"\}`)

// goldenRun flushes the chunks through an instance that delivers with elastic/deliver into a
// bulk sink, and returns the items in the order they were sent.
func goldenRun(t *testing.T, proc *processors.Processor, scorer Scorer, chunks [][]byte) []goldenItem {
	t.Helper()
	var (
		mu    sync.Mutex
		items []goldenItem
	)
	sink, err := bulksink.Start(bulksink.Options{OnDoc: func(d bulksink.Doc) {
		mu.Lock()
		defer mu.Unlock()
		doc := string(d.Source)
		if strings.HasPrefix(d.Index, target.DeadLetter(target.DefaultNamespace)) {
			doc = deadLetterTime.ReplaceAllString(doc, `{"@timestamp":"(when written)"`)
			doc = deadLetterHost.ReplaceAllString(doc, `"host":{"name":"(this host)"}`)
		}
		doc = ingestedTime.ReplaceAllString(doc, `"ingested":"(when delivered)"`)
		items = append(items, goldenItem{index: d.Index, id: d.ID, doc: doc})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	esCfg := esclient.DefaultConfig()
	esCfg.Hosts = []string{sink.URL()}
	client, err := esclient.New(esCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dcfg := deliver.DefaultConfig()
	dcfg.Templates.Enabled = false
	d, err := deliver.New(client, dcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(Options{Processor: proc, Scorer: scorer, Sink: esSink{d, client}, Budget: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chunks {
		if code := in.Flush(c, func() string { return "golden" }); code != deliver.OK {
			t.Fatalf("chunk %d: flush returned %v", i, code)
		}
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	return items
}

func (it goldenItem) hash() string {
	sum := sha256.Sum256([]byte(it.doc))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkGolden compares items with testdata/golden/<name>.txt: one line per item, index, _id
// and the document (the first full items) or its hash, tab-separated.
func checkGolden(t *testing.T, name string, items []goldenItem, full int) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *updateGolden {
		var buf bytes.Buffer
		for i, it := range items {
			doc := it.doc
			if i >= full || len(doc) > goldenMaxFull {
				doc = it.hash()
			}
			fmt.Fprintf(&buf, "%s\t%s\t%s\n", it.index, it.id, doc)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d items)", path, len(items))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden to create it)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	i, bad := 0, 0
	for ; sc.Scan(); i++ {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("%s:%d: malformed line", path, i+1)
		}
		if i >= len(items) {
			t.Errorf("%s: %d items sent, the golden file has more", name, len(items))
			return
		}
		it := items[i]
		want := parts[2]
		got := it.doc
		if strings.HasPrefix(want, "sha256:") {
			got = it.hash()
		}
		if it.index != parts[0] || it.id != parts[1] || got != want {
			bad++
			if bad <= 5 {
				t.Errorf("%s item %d differs:\n got  %s %s %s\n want %s %s %s", name, i, it.index, it.id, it.doc, parts[0], parts[1], want)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(items) {
		t.Errorf("%s: %d items sent, the golden file has %d", name, len(items), i)
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d items differ from %s", name, bad, len(items), path)
	}
}

// edgeBodies reads the processors' fuzz seeds (JSON text) and returns each as the msgpack
// decoder's value forms would carry it, plus bodies that only msgpack can hold.
func edgeBodies(t *testing.T) []any {
	t.Helper()
	var files []string
	for _, dir := range []string{"../../processors/testdata/fuzz", "../../processors/cloudtrail/testdata/fuzz", "../../processors/guardduty/testdata/fuzz", "../../processors/zeek/testdata/fuzz"} {
		matches, err := filepath.Glob(filepath.Join(dir, "*", "*"))
		if err != nil || len(matches) == 0 {
			t.Fatalf("no fuzz seeds in %s", dir)
		}
		files = append(files, matches...)
	}
	sort.Strings(files)
	var out []any
	for _, f := range files {
		text := seedText(t, f)
		if text == nil || filepath.Base(f) == "records_many" { // thousands of records like those of "records"
			continue
		}
		out = append(out, map[string]any{"log": string(text), "stream": "stdout"})
		for _, form := range []valueForm{formJSON, formInts, formInts | formBytes, formInts | formNonFinite} {
			if v, ok := decodeForm(text, form); ok {
				if m, isMap := v.(map[string]any); isMap {
					out = append(out, m)
				}
			}
		}
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	ct := plugintest.CloudTrail(1)
	out = append(out,
		// Binary strings, a time, an ext value, float32, the largest uint64 and non-finite
		// floats inside CloudTrail's free-form objects and the passthrough of a generic record.
		map[string]any{
			"eventName": []byte("GetObject"), "eventSource": "s3.amazonaws.com", "eventTime": at,
			"requestParameters": map[string]any{"bucketName": []byte("b"), "when": at, "ext": body.ExtValue{Type: 5, Data: []byte{1, 2}},
				"f32": float32(0.1), "big": uint64(math.MaxUint64), "nan": math.NaN(), "list": []any{math.Inf(1), int64(-3), "x<y>&z"}},
			"responseElements": map[string]any{"ConsoleLogin": []byte("Success")},
			"userIdentity":     ct["userIdentity"], "sourceIPAddress": []byte("203.0.113.9"),
		},
		map[string]any{"message": "generic <b>&", "raw": []byte("bin\x00\xff"), "when": at, "ext": body.ExtValue{Type: 9, Data: []byte("e")},
			"f32": float32(1.5), "big": uint64(math.MaxUint64), "nan": math.NaN(), "inf": math.Inf(-1), "tiny": 1e-9, "huge": 1e300,
			"nested": map[string]any{"u2028": "a\u2028b", "ctl": "\x01\t", "bad": "\xc3\x28"}},
		// Non-string and duplicate keys: msgpack maps can have both.
		decodetest.Map{{Key: "eventName", Value: "ListBuckets"}, {Key: "eventSource", Value: "s3.amazonaws.com"},
			{Key: int64(7), Value: "seven"}, {Key: true, Value: "yes"}, {Key: "eventName", Value: "ListObjects"},
			{Key: "requestParameters", Value: decodetest.Map{{Key: "a", Value: 1}, {Key: "a", Value: 2}, {Key: 1.5, Value: "x"}}}},
		decodetest.Map{{Key: "message", Value: "dup"}, {Key: "k", Value: "first"}, {Key: "k", Value: "second"}, {Key: []byte("bin-key"), Value: nil}},
	)
	return out
}

// seedText returns the []byte argument of a `go test fuzz v1` file, or nil for seeds of
// another shape.
func seedText(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if lit, ok := strings.CutPrefix(line, "[]byte("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return []byte(s)
		}
	}
	return nil
}

// valueForm says which of the msgpack decoder's value forms a JSON seed is turned into.
type valueForm uint8

const (
	formJSON      valueForm = 0
	formInts      valueForm = 1 << iota // integral numbers as int64 (uint64 beyond), as Fluent Bit's JSON parser packs them
	formBytes                           // strings as binary strings
	formNonFinite                       // "NaN", "+Inf", "-Inf" as those floats
)

func decodeForm(text []byte, form valueForm) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return convertForm(v, form), true
}

func convertForm(v any, form valueForm) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertForm(e, form)
		}
	case []any:
		for i, e := range x {
			x[i] = convertForm(e, form)
		}
	case json.Number:
		if form&formInts != 0 {
			if i, err := x.Int64(); err == nil {
				return i
			}
			if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
				return u
			}
		}
		f, _ := x.Float64()
		return f
	case string:
		if form&formNonFinite != 0 {
			switch x {
			case "NaN":
				return math.NaN()
			case "+Inf":
				return math.Inf(1)
			case "-Inf":
				return math.Inf(-1)
			}
		}
		if form&formBytes != 0 {
			return []byte(x)
		}
	}
	return v
}

// edgeChunk writes each body as one v2 event; bodies that are not maps are written as they are.
func edgeChunk(t *testing.T, bodies []any) []byte {
	t.Helper()
	var e decodetest.Encoder
	for i, b := range bodies {
		ts := decodetest.EventTime(plugintest.Base.Add(time.Duration(i) * time.Second))
		if m, ok := b.(map[string]any); ok {
			e.V2(ts, nil, m)
		} else {
			e.Value([]any{[]any{ts, map[string]any{}}, b})
		}
	}
	chunk, err := e.Chunk()
	if err != nil {
		t.Fatal(err)
	}
	return chunk
}
