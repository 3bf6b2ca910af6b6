package estest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Stop stops the local server for an outage test; data is kept. The test
// holds the server exclusively until Start, Restart or its end, when the
// server is started again for everyone else. Skips against an ES_URL cluster.
//
// go test runs packages in parallel against the one local server, so Stop
// first waits for tests in other packages that hold it (see URL). Tests in
// the caller's own package must not run in parallel with an outage test.
func Stop(t testing.TB) {
	t.Helper()
	h := managed(t)
	co := coordinatorFor(h.run())
	if err := co.beginOutage(); err != nil {
		t.Fatalf("estest: stop: %v", err)
	}
	t.Cleanup(func() {
		if co.inOutage() {
			defer co.endOutage()
			runScript(t, h, "start")
		}
	})
	runScript(t, h, "stop")
}

// Start starts the local server, on its previous port and data, and ends an
// outage begun by Stop. Skips against an ES_URL cluster.
func Start(t testing.TB) {
	t.Helper()
	if u := externalURL(); u != "" {
		t.Skipf("estest: %s=%s is external; only the local %s server can be started", envURL, u, harnessDir)
	}
	h := localHarness(t)
	defer coordinatorFor(h.run()).endOutage()
	runScript(t, h, "start")
}

// Restart stops and starts the local server on the same port and data, as a
// short outage in the middle of a test. Skips against an ES_URL cluster.
func Restart(t testing.TB) {
	t.Helper()
	h := managed(t)
	co := coordinatorFor(h.run())
	if err := co.beginOutage(); err != nil {
		t.Fatalf("estest: restart: %v", err)
	}
	defer co.endOutage()
	runScript(t, h, "restart")
}

// managed returns the harness of a running local server the test may disrupt.
func managed(t testing.TB) harness {
	t.Helper()
	if u := externalURL(); u != "" {
		t.Skipf("estest: %s=%s is external; outage tests need the local %s server", envURL, u, harnessDir)
	}
	URL(t)
	return localHarness(t)
}

func runScript(t testing.TB, h harness, verb string) {
	t.Helper()
	out, err := exec.Command(h.script(), verb).CombinedOutput()
	if err != nil {
		t.Fatalf("estest: %s %s: %v\n%s", h.script(), verb, err, out)
	}
	t.Logf("estest: %s %s: %s", filepath.Base(h.script()), verb, strings.TrimSpace(string(out)))
}

// coordinator shares the local server between test binaries with two flock
// files in run/. Every test using the server holds users.lock shared; an
// outage holds it exclusively. An outage first takes writer.lock
// exclusively, and new users pass through writer.lock shared, so a queued
// outage is not starved by a stream of new tests. Locks are per process:
// flock belongs to the open file, and the kernel drops it if a test binary dies.
type coordinator struct {
	run     string
	mu      sync.Mutex
	users   *os.File
	writer  *os.File // held exclusively during an outage
	readers int      // tests in this process that hold the server
}

var (
	coordinatorsMu sync.Mutex
	coordinators   = map[string]*coordinator{}
)

// coordinatorFor returns this process's coordinator for a run directory.
func coordinatorFor(run string) *coordinator {
	coordinatorsMu.Lock()
	defer coordinatorsMu.Unlock()
	c, ok := coordinators[run]
	if !ok {
		c = &coordinator{run: run}
		coordinators[run] = c
	}
	return c
}

func (c *coordinator) enter() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.openUsers(); err != nil {
		return err
	}
	c.readers++
	if c.readers > 1 || c.writer != nil {
		return nil
	}
	gate, err := lockFile(filepath.Join(c.run, "writer.lock"), syscall.LOCK_SH)
	if err != nil {
		c.readers--
		return err
	}
	defer gate.Close()
	if err := flock(c.users, syscall.LOCK_SH); err != nil {
		c.readers--
		return err
	}
	return nil
}

func (c *coordinator) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readers--
	if c.readers == 0 && c.writer == nil {
		// Unlocking an open file only fails if it is not open, which it is.
		_ = flock(c.users, syscall.LOCK_UN)
	}
}

func (c *coordinator) beginOutage() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer != nil {
		return nil
	}
	if err := c.openUsers(); err != nil {
		return err
	}
	// Let go of our shared hold before queueing: another binary queued for
	// an outage may hold writer.lock while waiting for our users.lock.
	if err := flock(c.users, syscall.LOCK_UN); err != nil {
		return err
	}
	w, err := lockFile(filepath.Join(c.run, "writer.lock"), syscall.LOCK_EX)
	if err != nil {
		return err
	}
	if err := flock(c.users, syscall.LOCK_EX); err != nil {
		w.Close()
		return err
	}
	c.writer = w
	return nil
}

func (c *coordinator) inOutage() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writer != nil
}

func (c *coordinator) endOutage() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writer == nil {
		return
	}
	how := syscall.LOCK_UN
	if c.readers > 0 {
		how = syscall.LOCK_SH
	}
	// Changing the mode of a lock we hold cannot deadlock, and closing
	// writer.lock releases it whatever happens.
	_ = flock(c.users, how)
	c.writer.Close()
	c.writer = nil
}

func (c *coordinator) openUsers() error {
	if c.users != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(c.run, "users.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("server lock: %w", err)
	}
	c.users = f
	return nil
}

func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("server lock: %w", err)
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("server lock %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}
