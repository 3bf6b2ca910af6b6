package input

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	line int
	body map[string]any
	err  string
	raw  string
}

func readAll(t *testing.T, r *Reader) []result {
	t.Helper()
	var out []result
	for it := range r.All() {
		res := result{line: it.Line, body: it.Body, raw: it.Raw}
		if it.Err != nil {
			res.err = it.Err.Error()
		}
		out = append(out, res)
	}
	return out
}

func read(t *testing.T, text string) ([]result, Format) {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), "f")
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, r), r.Format()
}

func TestJSONLines(t *testing.T) {
	text := "{\"a\":1}\n\n  {\"a\":2}\r\n{bad\n[{\"a\":3},{\"a\":4},5]\n\"str\"\n{\"a\":6}"
	got, format := read(t, text)
	if format != JSONLines {
		t.Fatalf("format = %v", format)
	}
	want := []struct {
		line int
		a    float64
		err  string
	}{{1, 1, ""}, {3, 2, ""}, {4, 0, "f:4:"}, {5, 3, ""}, {5, 4, ""}, {5, 0, "f:5: the JSON value is a number"}, {6, 0, "f:6: the JSON value is a string"}, {7, 6, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %d items %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line || (w.err == "") != (g.err == "") || !strings.HasPrefix(g.err, w.err) || (w.err == "" && g.body["a"] != w.a) {
			t.Errorf("item %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestJSONDocumentRecords(t *testing.T) {
	text := "{\n  \"Records\": [\n    {\"eventName\": \"A\"},\n\n    {\"eventName\":\n \"B\"},\n    7\n  ],\n  \"trailer\": {\"x\": [1]}\n}\n" +
		"{\"single\": true,\n \"n\": [1, 2]}\n" +
		"[\n {\"e\": 1},\n {\"e\": 2}\n]\n"
	got, format := read(t, text)
	if format != JSONDocument {
		t.Fatalf("format = %v", format)
	}
	type w struct {
		line int
		key  string
		val  any
		err  string
	}
	want := []w{{3, "eventName", "A", ""}, {5, "eventName", "B", ""}, {7, "", nil, "f:7: the JSON value is a number"},
		{11, "single", true, ""}, {14, "e", 1.0, ""}, {15, "e", 2.0, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, x := range want {
		g := got[i]
		if g.line != x.line || !strings.HasPrefix(g.err, x.err) || (x.err == "" && g.body[x.key] != x.val) {
			t.Errorf("item %d = %+v, want %+v", i, g, x)
		}
	}
}

func TestJSONDocumentErrors(t *testing.T) {
	got, _ := read(t, "{\n\"Records\": {\"a\": 1}\n}\n")
	if len(got) != 1 || !strings.Contains(got[0].err, "Records is") {
		t.Errorf("Records not an array: %+v", got)
	}
	// A syntax error ends the document: nothing after it can be trusted.
	got, _ = read(t, "[\n{\"a\": 1},\n{\"a\": oops},\n{\"a\": 3}\n]")
	if len(got) != 2 || got[0].body["a"] != 1.0 || got[1].err == "" || got[1].line != 3 {
		t.Errorf("syntax error: %+v", got)
	}
	got, _ = read(t, "[\n1\n")
	if len(got) != 2 || got[1].err == "" {
		t.Errorf("truncated document: %+v", got)
	}
}

func TestZeekTSVAndHeaderless(t *testing.T) {
	text := "#separator \\x09\n#fields\tuid\tid.orig_p\n#types\tstring\tport\nC1\t88\nC2\n"
	got, format := read(t, text)
	if format != ZeekTSV || len(got) != 2 || got[0].body["id.orig_p"] != int64(88) || got[0].line != 4 || got[1].line != 5 || got[1].err == "" {
		t.Errorf("format %v items %+v", format, got)
	}
	got, format = read(t, "uid\tts\nC1\t1.5\n")
	if format != ZeekTSV || len(got) != 1 || got[0].body["ts"] != "1.5" {
		t.Errorf("headerless: format %v items %+v", format, got)
	}
	// A btest baseline: a comment, then the column names without #fields.
	got, format = read(t, "### BTest baseline data\nts\tuid\tclient\n1.5\tC1\talice\n")
	if format != ZeekTSV || len(got) != 1 || got[0].body["client"] != "alice" {
		t.Errorf("btest baseline: format %v items %+v", format, got)
	}
}

// Tab-separated or #-commented text that is not a Zeek log is refused, not read as records
// whose fields are its columns.
func TestOtherTSVIsNotZeek(t *testing.T) {
	for _, text := range []string{
		"name\tage\nalice\t30\n",                        // a spreadsheet export
		"# exported 2026-11-23\nname\tage\nalice\t30\n", // with a comment
		"ts\tvalue\n1.5\t3\n",                           // a time series: ts but no uid
		"# just a comment\n",
	} {
		if _, err := NewReader(strings.NewReader(text), "f"); err == nil || !strings.Contains(err.Error(), "not Zeek TSV") {
			t.Errorf("%q: %v, want it refused as not Zeek TSV", text, err)
		}
	}
}

func TestGzipByMagicAndOpen(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(`{"Records":[{"eventName":"A"},{"eventName":"B"}]}`))
	gz.Close()
	path := filepath.Join(t.TempDir(), "cloudtrail.json") // no .gz suffix: detected by content
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r)
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if r.Format() != JSONDocument || len(got) != 2 || got[1].body["eventName"] != "B" {
		t.Errorf("format %v items %+v", r.Format(), got)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file must fail")
	}
	if _, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), "bad.gz"); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("corrupt gzip: %v", err)
	}
}

func TestUnrecognisedAndEmpty(t *testing.T) {
	if _, err := NewReader(strings.NewReader("hello world\n"), "f"); err == nil || !strings.Contains(err.Error(), `"hello world"`) {
		t.Errorf("plain text: %v", err)
	}
	got, _ := read(t, "")
	if len(got) != 0 {
		t.Errorf("empty file: %+v", got)
	}
	got, _ = read(t, "\xef\xbb\xbf{\"a\":1}\n")
	if len(got) != 1 || got[0].body["a"] != 1.0 {
		t.Errorf("a byte-order mark must be skipped: %+v", got)
	}
}

func TestLongLines(t *testing.T) {
	long := `{"v":"` + strings.Repeat("x", 3<<20) + `"}`
	got, format := read(t, long+"\n"+`{"v":"short"}`+"\n")
	// The first line is longer than the detection window, so the file is read as a stream of
	// documents, which handles it all the same.
	if len(got) != 2 || len(got[0].body["v"].(string)) != 3<<20 || got[1].body["v"] != "short" || got[1].line != 2 {
		t.Errorf("format %v: %d items", format, len(got))
	}
	got, format = read(t, `{"v":"short"}`+"\n"+long+"\n")
	if format != JSONLines || len(got) != 2 || len(got[1].body["v"].(string)) != 3<<20 {
		t.Errorf("format %v: %d items", format, len(got))
	}
}

// TestZeekStream: every row of a kerberos.log names its log, from #path or, in a file without
// one, from its Kerberos-only columns; a conn.log names conn.
func TestZeekStream(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/kerberos-ids-only.log": {"kerberos", "kerberos", "kerberos", "kerberos"},
		"testdata/kerberos-no-path.log":  {"kerberos"},
	} {
		r, err := Open(file)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for it := range r.All() {
			if it.Err != nil {
				t.Fatal(it.Err)
			}
			got = append(got, it.Stream)
		}
		r.Close()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: streams %v, want %v", file, got, want)
		}
	}
	conn := "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tservice\n1.5\tC1\t10.0.0.1\tdns\n"
	r, err := NewReader(strings.NewReader(conn), "conn.log")
	if err != nil {
		t.Fatal(err)
	}
	it, _ := r.Next()
	if it.Stream != "conn" {
		t.Errorf("conn.log rows: stream %q", it.Stream)
	}
	headerless := "ts\tuid\tid.orig_h\tservice\n1.5\tC1\t10.0.0.1\tdns\n"
	r, _ = NewReader(strings.NewReader(headerless), "x.log")
	if it, _ := r.Next(); it.Stream != "" {
		t.Errorf("columns shared with conn.log must not name a stream: %q", it.Stream)
	}
}

// Every line of a JSON-lines file comes back as bodies or as an error item holding its text:
// nothing is skipped silently (an empty array included).
func TestEveryLineIsAccountedFor(t *testing.T) {
	got, _ := read(t, "{\"a\":0}\n5\n\"s\"\nnull\ntrue\n[]\n[1,{\"a\":1}]\nnot json\n{\"a\":2}\n")
	want := []struct {
		line     int
		raw, err string
	}{{1, "", ""}, {2, "5", "a number"}, {3, `"s"`, "a string"}, {4, "null", "null"}, {5, "true", "a boolean"},
		{6, "[]", "an empty array holds no event"}, {7, "1", "a number"}, {7, "", ""}, {8, "not json", "invalid character"}, {9, "", ""}}
	if len(got) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line || g.raw != w.raw || !strings.Contains(g.err, w.err) || (w.err == "") != (g.err == "") {
			t.Errorf("item %d = %+v, want %+v", i, g, w)
		}
	}
}

// A truncated .gz yields every complete line before the cut and then one error, whether the
// file is smaller or larger than what format detection reads ahead.
func TestTruncatedGzip(t *testing.T) {
	for _, n := range []int{3, 40_000} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		for i := range n {
			fmt.Fprintf(gz, "{\"n\":%d,\"pad\":%q}\n", i, strings.Repeat("x", 40))
		}
		gz.Close()
		cut := buf.Bytes()[:buf.Len()-12] // lose the trailer and a little data
		r, err := NewReader(bytes.NewReader(cut), "cut.gz")
		if err != nil {
			t.Fatalf("%d lines: %v", n, err)
		}
		got := readAll(t, r)
		var good, bad int
		for _, g := range got {
			if g.err != "" {
				bad++
				continue
			}
			if g.body["n"] != float64(good) {
				t.Fatalf("%d lines: body %d is %v", n, good, g.body)
			}
			good++
		}
		if bad != 1 || good < n-2 || good > n {
			t.Errorf("%d lines cut short: %d read, %d errors", n, good, bad)
		}
	}
}
