package flbtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFluentBitRunner runs the real Fluent Bit: a dummy input emitting 50 records into the http
// output of a test server, waited for by count; then a SIGKILL, a restart on the same
// directory (the dummy input emits its 50 again) and a graceful stop.
func TestFluentBitRunner(t *testing.T) {
	bin := RequireFluentBit(t)
	var lines atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lines.Add(int64(bytes.Count(body, []byte("\n"))))
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	cfg := fmt.Sprintf(`[SERVICE]
    Flush         0.2
    Log_Level     info
    storage.path  {{dir}}/storage

[INPUT]
    Name     dummy
    Dummy    {"message":"hello"}
    Rate     200
    Samples  50

[OUTPUT]
    Name    http
    Match   *
    Host    %s
    Port    %s
    Format  json_lines
`, host, port)
	fb, err := StartFluentBit(FluentBitConfig{Binary: bin, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	count := func() (int, error) { return int(lines.Load()), nil }
	if err := fb.WaitRecords(ctx, 50, count); err != nil {
		t.Fatal(err)
	}
	u, err := fb.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSS < u.RSS || u.RSS < 1<<20 || u.Threads < 2 {
		t.Errorf("implausible usage %+v", u)
	}
	if _, err := os.Stat(filepath.Join(fb.Dir(), "storage")); err != nil {
		t.Errorf("{{dir}} must name the run's directory: %v", err)
	}
	firstPID := fb.PID()
	if err := fb.Restart(); err == nil {
		t.Error("Restart while running must fail")
	}
	if err := fb.Kill(); err != nil {
		t.Fatal(err)
	}
	if exited, _ := fb.Exited(); !exited {
		t.Fatal("Kill returned before the process ended")
	}
	if err := fb.Restart(); err != nil {
		t.Fatal(err)
	}
	if fb.PID() == firstPID {
		t.Error("Restart must start a new process")
	}
	if err := fb.WaitRecords(ctx, 100, count); err != nil {
		t.Fatal(err)
	}
	if err := fb.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	logs := fb.Logs()
	if strings.Count(logs, "--- flbtest: starting") != 2 || !strings.Contains(logs, "Fluent Bit v5.1") {
		t.Errorf("the log must hold both runs' output:\n%s", logs)
	}

	// A wait ends, with the log, when Fluent Bit exits first.
	if err := fb.Restart(); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(200 * time.Millisecond); _ = fb.Kill() }()
	err = fb.WaitRecords(ctx, 1_000_000, count)
	if err == nil || !strings.Contains(err.Error(), "exited while waiting") {
		t.Errorf("waiting past the process's end: %v", err)
	}
}

func TestFluentBitBadConfig(t *testing.T) {
	bin := RequireFluentBit(t)
	fb, err := StartFluentBit(FluentBitConfig{Binary: bin, Config: "[OUTPUT]\n    Name  no_such_output\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = fb.WaitFor(ctx, 10*time.Millisecond, func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "no_such_output") {
		t.Errorf("a configuration Fluent Bit refuses must end the wait with its message: %v", err)
	}
}
