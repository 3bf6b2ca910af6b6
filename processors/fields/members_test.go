package fields

import (
	"slices"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/processors/body"
)

func TestMembers(t *testing.T) {
	ms := NewMembers("eventName", "eventSource", "id.orig_h", "absent")
	for _, tc := range []struct {
		name string
		m    map[string]any
		want []any
	}{
		{"exact", map[string]any{"eventName": "A", "eventSource": "s", "other": 1}, []any{"A", "s", nil, nil}},
		{"any case", map[string]any{"eventname": "B", "EVENTSOURCE": "S", "ID.ORIG_H": "h"}, []any{"B", "S", "h", nil}},
		{"exact wins", map[string]any{"eventname": "low", "eventName": "exact", "EventName": "pascal"}, []any{"exact", nil, nil, nil}},
		{"smallest other spelling wins", map[string]any{"eventname": "low", "EventName": "pascal", "EVENTNAME": "upper"}, []any{"upper", nil, nil, nil}},
		{"null is absent", map[string]any{"eventName": nil, "eventname": "low"}, []any{"low", nil, nil, nil}},
		{"long keys ignored", map[string]any{string(make([]byte, 100)): 1}, []any{nil, nil, nil, nil}},
	} {
		vals := make([]body.Value, 4)
		ms.Collect(val(tc.m), vals)
		got := make([]any, len(vals))
		for i, v := range vals {
			got[i] = v.Any()
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, bad := range [][]string{{"a", "A"}, {string(make([]byte, 65))}, make([]string, MaxMembers+1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMembers(%q) must panic", bad)
				}
			}()
			NewMembers(bad...)
		}()
	}
}

// find must agree with a case-insensitive comparison against every name, for the names in
// any case and for keys one byte away from them (which may hash to the same slot).
func TestMembersFindMatchesEqualFold(t *testing.T) {
	names := []string{"ts", "uid", "id", "id.orig_h", "id_orig_h", "id.orig_p", "id_orig_p", "id.resp_h", "id_resp_h",
		"id.resp_p", "id_resp_p", "request_type", "client", "service", "cipher", "error_msg", "error_code", "success",
		"eventName", "eventSource", "eventTime", "eventVersion", "awsRegion", "sourceIPAddress", "userAgent", "x"}
	ms := NewMembers(names...)
	want := func(k string) int {
		for i, n := range names {
			if strings.EqualFold(k, n) {
				return i
			}
		}
		return -1
	}
	keys := []string{"", "X", "y", "T", "tS"}
	for _, n := range names {
		keys = append(keys, n, strings.ToUpper(n), strings.ToLower(n), n+"x", n[:len(n)-1])
		for i := range n {
			for _, c := range []byte{'.', '_', 'a', 'Z', n[i] ^ 0x20} {
				b := []byte(n)
				b[i] = c
				keys = append(keys, string(b))
			}
		}
	}
	for _, k := range keys {
		if got := ms.find(k); got != want(k) {
			t.Fatalf("find(%q) = %d, want %d", k, got, want(k))
		}
	}
}
