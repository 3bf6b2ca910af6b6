package fields

import (
	"slices"
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
