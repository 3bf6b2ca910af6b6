package deliver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// slowRead reads an answer with the tokenizer alone.
func slowRead(raw []byte, want []string) ([]itemResult, error) {
	var rr responseReader
	rr.raw = raw
	rr.dec = nil
	err := rr.readTokens(want)
	return rr.results, err
}

func answer(ids []string, status func(int) int, extra string) []byte {
	var b strings.Builder
	b.WriteString(`{"took":3,"errors":false,"items":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"create":{%s"_id":%q,"status":%d}}`, extra, id, status(i))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// checkFast: whenever the byte scan accepts an answer, the tokenizer reads the same results
// from it; the scan never panics.
func checkFast(t *testing.T, raw []byte, want []string) bool {
	t.Helper()
	var rr responseReader
	rr.raw = raw
	if !rr.readFast(want) {
		return false
	}
	slow, err := slowRead(raw, want)
	if err != nil || !slices.Equal(slow, rr.results) {
		t.Fatalf("the scan accepted %s\nas %+v; the tokenizer reads %+v, %v", raw, rr.results, slow, err)
	}
	for _, r := range slow {
		if !r.create || r.idMismatch || r.Status < 200 || r.Status > 299 {
			t.Fatalf("the scan accepted a failed or foreign item: %s", raw)
		}
	}
	return true
}

func TestReadFast(t *testing.T) {
	ids := []string{"a1", "b2", "c3"}
	ok := func(int) int { return 201 }
	for _, tc := range []struct {
		name string
		raw  []byte
		want bool
	}{
		{"filtered", []byte(`{"errors":false,"items":[{"create":{"_id":"a1","status":201}},{"create":{"_id":"b2","status":200}},{"create":{"_id":"c3","status":201}}]}`), true},
		{"unfiltered", answer(ids, ok, `"_index":"logs-x","_version":1,"result":"created",`), true},
		{"errors true", bytes.Replace(answer(ids, ok, ""), []byte("false"), []byte("true"), 1), false},
		{"a 409", answer(ids, func(i int) int { return 201 + 208*(i%2) }, ""), false},
		{"another _id", answer([]string{"a1", "zz", "c3"}, ok, ""), false},
		{"one item short", answer(ids[:2], ok, ""), false},
		{"one item more", answer(append(ids, "d4"), ok, ""), false},
		{"pretty", []byte("{\n \"errors\" : false,\n \"items\" : [ ]\n}"), false},
		{"errors inside an object", []byte(`{"x":{"errors":false},"items":[{"create":{"_id":"a1","status":201}}]}`), false},
		{"an escape", []byte(`{"errors":false,"items":[{"create":{"_id":"a\u0031","status":201}},{"create":{"_id":"b2","status":201}},{"create":{"_id":"c3","status":201}}]}`), false},
		{"nested object", answer(ids, ok, `"_shards":{"total":1},`), false},
		{"not a create", bytes.Replace(answer(ids, ok, ""), []byte("create"), []byte("index"), 1), false},
		{"truncated", answer(ids, ok, "")[:60], false},
		{"trailing garbage", append(answer(ids, ok, ""), "x"...), false},
	} {
		if got := checkFast(t, tc.raw, ids); got != tc.want {
			t.Errorf("%s: readFast = %v, want %v", tc.name, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	base := answer(ids, ok, `"_index":"i",`)
	for range 20000 {
		b := bytes.Clone(base)
		for range 1 + r.IntN(3) {
			switch i := r.IntN(len(b)); r.IntN(3) {
			case 0:
				b[i] = "{}[]\":,0123456789ab \\"[r.IntN(21)]
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = slices.Insert(b, i, "{}[]\":,0123456789ab \\"[r.IntN(21)])
			}
		}
		checkFast(t, b, ids)
	}
}

func FuzzReadFast(f *testing.F) {
	f.Add(answer([]string{"a1", "b2"}, func(int) int { return 201 }, `"_index":"i",`), "a1,b2")
	// What earlier versions of the scan let through: a missing comma, a leading zero, a
	// member named twice.
	f.Add([]byte(`{"took":3,"errors":false"items":[{"create":{"_id":"a1","status":201}}]}`), "a1")
	f.Add([]byte(`{"errors":false,"items":[{"create":{"_id":"a1","status":0201}}]}`), "a1")
	f.Add([]byte(`{"errors":false,"items":[{"create":{"status":200}},{"create":{"":"","":"","status":200}}]}`), ",")
	f.Fuzz(func(t *testing.T, raw []byte, ids string) {
		checkFast(t, raw, strings.Split(ids, ","))
	})
}
