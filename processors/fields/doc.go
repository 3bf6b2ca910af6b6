package fields

import (
	"slices"

	"github.com/siemscore/siemscore/processors/ecs"
)

// AddIssue records a parsing issue on d; an empty code is no issue.
func AddIssue(d *ecs.Document, code string) {
	if code != "" && !slices.Contains(d.SiemScore.Issues, code) {
		d.SiemScore.Issues = append(d.SiemScore.Issues, code)
	}
}

// AppendUnique appends s to list unless it is empty or already there (related.user, related.ip
// and the like hold each value once).
func AppendUnique[T comparable](list []T, s T) []T {
	var zero T
	if s == zero || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// OptTime returns key as a set ecs.OptTime when it holds a valid time (see Time).
func (o *Obj) OptTime(key string) ecs.OptTime {
	v, _ := o.Get(key)
	if t, st := Time(v); st == TimeOK {
		return ecs.Time(t)
	}
	return ecs.OptTime{}
}

// OptBool returns key as a set ecs.OptBool when it holds a boolean (see Bool).
func (o *Obj) OptBool(key string) ecs.OptBool {
	if v, ok := o.Bool(key); ok {
		return ecs.Bool(v)
	}
	return ecs.OptBool{}
}
