//go:build cgo

// Package flbgo decodes a Fluent Bit chunk the way a plugin built on fluent-bit-go does, for
// benchmarks that compare it with plugin/decode: fluent-bit-go's decoder, then the conversion of
// its []byte strings and interface{} keys to the strings and map[string]any that plugin/decode
// yields and the processors take. fluent-bit-go's output package uses cgo, hence the build
// constraint.
package flbgo

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

// Raw calls fn with every record of chunk as fluent-bit-go returns it, and returns how many
// there were.
func Raw(chunk []byte, fn func(ts any, rec map[any]any)) int {
	if len(chunk) == 0 {
		return 0
	}
	dec := output.NewDecoder(unsafe.Pointer(&chunk[0]), len(chunk))
	n := 0
	for {
		ret, ts, rec := output.GetRecord(dec)
		if ret != 0 {
			return n
		}
		fn(ts, rec)
		n++
	}
}

// Records calls fn with every record of chunk converted as a plugin must: its time in UTC and
// its body with string keys and values. It stops at a record whose timestamp fluent-bit-go did
// not decode as an event time.
func Records(chunk []byte, fn func(t time.Time, body map[string]any)) (int, error) {
	var err error
	n := Raw(chunk, func(ts any, rec map[any]any) {
		if err != nil {
			return
		}
		t, ok := ts.(output.FLBTime)
		if !ok {
			err = fmt.Errorf("flbgo: timestamp %T", ts)
			return
		}
		fn(t.Time.UTC(), stringMap(rec))
	})
	return n, err
}

func stringMap(m map[any]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		var key string
		switch k := k.(type) {
		case []byte:
			key = string(k)
		case string:
			key = k
		default:
			key = fmt.Sprint(k)
		}
		out[key] = stringValue(v)
	}
	return out
}

func stringValue(v any) any {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case map[any]any:
		return stringMap(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = stringValue(x)
		}
		return out
	}
	return v
}
