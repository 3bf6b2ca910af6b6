// Package flblogtest helps tests read log output: Buffer is a bytes.Buffer that several goroutines may write to at once, for tests
// that collect the log output of loggers, go-plugin clients and child processes.
package flblogtest

import (
	"bytes"
	"sync"
)

// Buffer collects writes from any number of goroutines. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
