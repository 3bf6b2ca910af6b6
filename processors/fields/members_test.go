package fields

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSorted(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 200} {
		m := map[string]any{}
		var want []string
		for i := range n {
			// Keys sharing long prefixes, and short ones, so both comparison paths run.
			k := fmt.Sprintf("%s%d", []string{"k", "prefix__", "prefix__x", "z"}[rand.IntN(4)], i)
			m[k] = i
			want = append(want, k)
		}
		slices.Sort(want)
		var got []string
		for k, v := range Sorted(m) {
			if m[k] != v {
				t.Fatalf("n=%d: %q yielded %v, holds %v", n, k, v, m[k])
			}
			got = append(got, k)
		}
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: order %v, want %v", n, got, want)
		}
	}
	count := 0
	for range Sorted(map[string]any{"a": 1, "b": 2, "c": 3}) {
		count++
		break
	}
	if count != 1 {
		t.Error("Sorted must stop when the loop breaks")
	}
}

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
		got := make([]any, 4)
		ms.Collect(tc.m, got)
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
