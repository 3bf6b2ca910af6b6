// Package heaptest serves the memory-bound tests of the stateful packages: it measures the live
// heap, and makes strings the way plugin/decode hands them out, all sharing one event-sized
// buffer, so a test can tell whether a state keeps (and so pins) the events it has seen.
package heaptest

import (
	"runtime"
	"unsafe"
)

// Live returns the bytes held by live heap objects, after a full collection.
func Live() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Event copies parts into one fresh buffer of at least eventSize bytes and returns strings that
// share it, as the decoder's strings share their event's bytes: a state that keeps any of them
// keeps the whole buffer alive.
func Event(eventSize int, parts ...string) []string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	buf := make([]byte, max(n, eventSize))
	out := make([]string, len(parts))
	off := 0
	for i, p := range parts {
		copy(buf[off:], p)
		if len(p) > 0 {
			out[i] = unsafe.String(&buf[off], len(p))
		}
		off += len(p)
	}
	return out
}
