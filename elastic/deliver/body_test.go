package deliver

import (
	"errors"
	"io"
	"testing"
)

// The HTTP transport may still read a request body after the exchange has ended; the chunk's
// buffer is reused by then, so every reader of it must be cut off.
func TestRequestBodyReadersStopAtRelease(t *testing.T) {
	rb := &requestBody{data: []byte("0123456789")}
	first, retry := rb.reader(), rb.reader()
	buf := make([]byte, 4)
	if n, err := first.Read(buf); n != 4 || err != nil || string(buf) != "0123" {
		t.Fatalf("Read = %d %v %q", n, err, buf)
	}
	if all, err := io.ReadAll(retry); err != nil || string(all) != "0123456789" {
		t.Fatalf("a retry's reader must read the body from the start: %q %v", all, err)
	}
	rb.release()
	if n, err := first.Read(buf); n != 0 || !errors.Is(err, errBodyReleased) {
		t.Errorf("Read after release = %d, %v", n, err)
	}
	if n, err := rb.reader().Read(buf); n != 0 || !errors.Is(err, errBodyReleased) {
		t.Errorf("a new reader after release reads %d, %v", n, err)
	}
}
