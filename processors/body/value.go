package body

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ExtValue is an Ext value as Any returns it.
type ExtValue struct {
	Type int8
	Data []byte
}

// Any returns v as the Go value the generic msgpack decoding gives: nil, bool, int64, uint64,
// float64, string, []byte, time.Time, ExtValue, []any or map[string]any. It allocates; it is
// for tests, error messages and the rare key that is not a string.
func (v Value) Any() any {
	switch v.Kind() {
	case Bool:
		return v.Bool()
	case Int:
		return v.Int()
	case Uint:
		return v.Uint()
	case Float:
		return v.Float()
	case String:
		return strings.Clone(v.Str())
	case Binary:
		return []byte(v.Str())
	case Time:
		return v.Time()
	case Ext:
		typ, data := v.Ext()
		return ExtValue{Type: typ, Data: slices.Clone(data)}
	case Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = v.Elem(i).Any()
		}
		return out
	case Map:
		out := make(map[string]any, v.Len())
		for i := range v.Len() {
			out[strings.Clone(v.Key(i))] = v.Elem(i).Any()
		}
		return out
	}
	return nil
}

// AppendAny adds the Go value x to the tree: what the JSON decoders produce (map[string]any,
// []any, string, float64, bool, nil) and what the msgpack decoding produces (int64, uint64,
// []byte, time.Time, ExtValue), plus the other Go integer types, float32, []string and
// map[any]any (keys as fmt's %v). Any other type becomes the String of fmt's %v. Strings are
// copied into the tree's buffer.
func (t *Tree) AppendAny(x any) Value {
	i := t.add(node{})
	t.fill(i, x)
	return Value{t, i}
}

// Of returns x (see AppendAny) in a tree of its own, for one-off bodies and tests.
func Of(x any) Value {
	return new(Tree).AppendAny(x)
}

// NewString adds a String holding s (copied).
func (t *Tree) NewString(s string) Value {
	i := t.add(node{})
	t.setString(i, String, s)
	return Value{t, i}
}

// NewInt adds an Int.
func (t *Tree) NewInt(x int64) Value {
	return Value{t, t.add(node{kind: Int, num: uint64(x)})}
}

// NewTime adds a Time.
func (t *Tree) NewTime(x time.Time) Value {
	return Value{t, t.add(node{kind: Time, num: uint64(x.Unix()), off: uint32(x.Nanosecond())})}
}

// NewMap adds an empty Map.
func (t *Tree) NewMap() Value {
	return Value{t, t.add(node{kind: Map, off: uint32(len(t.nodes))})}
}

// NewArray adds an Array of the values (which must belong to t).
func (t *Tree) NewArray(vals ...Value) Value {
	first := len(t.nodes)
	for _, v := range vals {
		n := *v.node()
		n.key, n.keyLen = 0, 0
		t.nodes = append(t.nodes, n)
	}
	return Value{t, t.add(node{kind: Array, off: uint32(first), n: uint32(len(vals))})}
}

// Merge adds a Map of the members of base and of over, over's member winning when both have a
// key, leaving out over's members named in skip. Values that are not maps add nothing.
func (t *Tree) Merge(base, over Value, skip ...string) Value {
	first := len(t.nodes)
	for _, m := range [2]Value{base, over} {
		if m.Kind() != Map {
			continue
		}
		for k := range m.Len() {
			if m == over && slices.Contains(skip, m.Key(k)) {
				continue
			}
			n := *m.Elem(k).node()
			t.nodes = append(t.nodes, n)
		}
	}
	count := t.sortMembers(first, len(t.nodes)-first)
	return Value{t, t.add(node{kind: Map, off: uint32(first), n: uint32(count)})}
}

func (t *Tree) setString(i int32, kind Kind, s string) {
	start := len(t.buf)
	t.buf = append(t.buf, s...)
	n := &t.nodes[i]
	n.kind, n.off, n.n = kind, uint32(start), uint32(len(s))
}

func (t *Tree) setKey(i int32, k string) {
	start := len(t.buf)
	t.buf = append(t.buf, k...)
	n := &t.nodes[i]
	n.key, n.keyLen = uint32(start), uint32(len(k))
}

// fill sets node i to x.
func (t *Tree) fill(i int32, x any) {
	set := func(kind Kind, num uint64) { n := &t.nodes[i]; n.kind, n.num = kind, num }
	switch v := x.(type) {
	case nil:
		set(Null, 0)
	case bool:
		if v {
			set(Bool, 1)
		} else {
			set(Bool, 0)
		}
	case string:
		t.setString(i, String, v)
	case []byte:
		t.setString(i, Binary, string(v))
	case float64:
		set(Float, math.Float64bits(v))
	case float32:
		set(Float, math.Float64bits(float64(v)))
	case int64:
		set(Int, uint64(v))
	case int:
		set(Int, uint64(int64(v)))
	case int32:
		set(Int, uint64(int64(v)))
	case int16:
		set(Int, uint64(int64(v)))
	case int8:
		set(Int, uint64(int64(v)))
	case uint64:
		t.setUint(i, v)
	case uint:
		t.setUint(i, uint64(v))
	case uint32:
		set(Int, uint64(v))
	case uint16:
		set(Int, uint64(v))
	case uint8:
		set(Int, uint64(v))
	case time.Time:
		n := &t.nodes[i]
		n.kind, n.num, n.off = Time, uint64(v.Unix()), uint32(v.Nanosecond())
	case ExtValue:
		t.setString(i, Ext, string(v.Data))
		t.nodes[i].num = uint64(uint8(v.Type))
	case []any:
		first := t.run(len(v))
		for k, e := range v {
			t.fill(int32(first+k), e)
		}
		t.setContainer(i, Array, first, len(v))
	case []string:
		first := t.run(len(v))
		for k, e := range v {
			t.setString(int32(first+k), String, e)
		}
		t.setContainer(i, Array, first, len(v))
	case map[string]any:
		first := t.run(len(v))
		k := first
		for key, e := range v {
			t.setKey(int32(k), key)
			t.fill(int32(k), e)
			k++
		}
		t.setContainer(i, Map, first, t.sortMembers(first, len(v)))
	case map[any]any:
		first := t.run(len(v))
		k := first
		for key, e := range v {
			t.setKey(int32(k), fmt.Sprint(key))
			t.fill(int32(k), e)
			k++
		}
		t.setContainer(i, Map, first, t.sortMembers(first, len(v)))
	default:
		t.setString(i, String, fmt.Sprint(v))
	}
}

func (t *Tree) setUint(i int32, u uint64) {
	n := &t.nodes[i]
	n.kind, n.num = Int, u
	if u > math.MaxInt64 {
		n.kind = Uint
	}
}

// run appends count zero nodes for a container's elements and returns the first's index.
func (t *Tree) run(count int) int {
	first := len(t.nodes)
	t.nodes = slices.Grow(t.nodes, count)[:first+count]
	clear(t.nodes[first:])
	return first
}

func (t *Tree) setContainer(i int32, kind Kind, first, count int) {
	n := &t.nodes[i]
	n.kind, n.off, n.n = kind, uint32(first), uint32(count)
}
