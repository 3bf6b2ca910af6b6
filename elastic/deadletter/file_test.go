package deadletter_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/processors/ecs"
)

func doc(t *testing.T, id string, original string) []byte {
	t.Helper()
	var d ecs.DeadLetterDocument
	d.Error = ecs.Error{Type: "document_parsing_exception", Message: "m"}
	d.SiemScore.DeadLetter = ecs.DeadLetter{Index: "logs-siemscore.generic-x", ID: id, Kind: "generic", Status: 400, Original: original, OriginalBytes: len(original)}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, path string) []deadletter.Entry {
	t.Helper()
	var out []deadletter.Entry
	if err := deadletter.ReadPath(path, func(e deadletter.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "siemscore-deadletter-*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Records of every size come back whole and in order, across rotations, and the directory never
// holds more than its cap: a write past it fails with ErrFull and writes nothing.
func TestAppendRotateCapRead(t *testing.T) {
	dir := t.TempDir()
	const limit = 4 << 20 // rotation at 1 MiB
	f, err := deadletter.Open(dir, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	var order []string
	for i := range 12 {
		id := fmt.Sprintf("r%02d", i)
		original := fmt.Sprintf(`{"message":%q}`, strings.Repeat("é\n\"x", 20_000*(i%4)+1)) // up to ~600 KB, newlines and quotes escaped
		want[id] = original
		order = append(order, id)
		if err := f.Append([][]byte{doc(t, id, original)}); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if n := len(files(t, dir)); n < 3 {
		t.Errorf("%d files after writing ~3.6 MB with 1 MiB rotation", n)
	}
	got := readAll(t, dir)
	if len(got) != len(order) {
		t.Fatalf("%d entries read back, want %d", len(got), len(order))
	}
	for i, e := range got {
		x := e.Doc.SiemScore.DeadLetter
		if e.Err != nil || x.ID != order[i] || x.Original != want[x.ID] {
			t.Errorf("entry %d (%s): id %s, original of %d bytes (want %d), err %v", i, e.Where, x.ID, len(x.Original), len(want[order[i]]), e.Err)
		}
	}
	// Past the cap: refused whole.
	big := doc(t, "big", strings.Repeat("y", limit))
	before := readAll(t, dir)
	if err := f.Append([][]byte{big}); !errors.Is(err, deadletter.ErrFull) {
		t.Fatalf("a write past the cap: %v", err)
	}
	if after := readAll(t, dir); len(after) != len(before) {
		t.Errorf("a refused write left %d entries", len(after)-len(before))
	}
	// The operator replays and removes files: the space is there again.
	for _, name := range files(t, dir) {
		os.Remove(name)
	}
	if err := f.Append([][]byte{doc(t, "again", `{"a":1}`)}); err != nil {
		t.Errorf("after the directory was emptied: %v", err)
	}
}

// A line cut short by a crash is reported and the lines around it are still read.
func TestReadToleratesACutLine(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "siemscore-deadletter-20260101T000000.000000000Z-1-1.ndjson")
	content := string(doc(t, "a", `{"x":1}`)) + "\n" + "{\"@timestamp\": garbage\n" + string(doc(t, "b", `{"x":2}`)) + "\n" + `{"cut":`
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != 4 || got[0].Err != nil || got[2].Err != nil || got[1].Err == nil || got[3].Err == nil {
		t.Fatalf("entries: %+v", got)
	}
	if got[2].Doc.SiemScore.DeadLetter.ID != "b" || !strings.HasSuffix(got[3].Where, ":4") {
		t.Errorf("entries: %+v", got)
	}
	if err := got[0].Replayable(); err != nil {
		t.Errorf("a refused record is replayable: %v", err)
	}
	var undecodable deadletter.Entry
	undecodable.Doc.SiemScore.DeadLetter = ecs.DeadLetter{Kind: "generic", ID: "u", Original: "AAEC"}
	if undecodable.Replayable() == nil {
		t.Error("undecodable input is not a record and cannot be replayed")
	}
}

func TestOpenRefusesATinyCap(t *testing.T) {
	if _, err := deadletter.Open(t.TempDir(), 1000); err == nil {
		t.Error("a cap of 1000 bytes must be refused")
	}
}
