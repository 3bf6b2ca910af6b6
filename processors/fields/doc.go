package fields

import (
	"slices"

	"github.com/siemscore/siemscore/processors/body"
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

// OptTime returns v as a set ecs.OptTime when it is a valid time (see Time).
func OptTime(v body.Value) ecs.OptTime {
	if t, st := Time(v); st == TimeOK {
		return ecs.Time(t)
	}
	return ecs.OptTime{}
}

// OptBool returns v as a set ecs.OptBool when it is a boolean (see Bool).
func OptBool(v body.Value) ecs.OptBool {
	if b, ok := Bool(v); ok {
		return ecs.Bool(b)
	}
	return ecs.OptBool{}
}

// OptTime is OptTime of key's value.
func (o *Obj) OptTime(key string) ecs.OptTime {
	v, _ := o.Get(key)
	return OptTime(v)
}

// OptBool is OptBool of key's value.
func (o *Obj) OptBool(key string) ecs.OptBool {
	v, _ := o.Get(key)
	return OptBool(v)
}
