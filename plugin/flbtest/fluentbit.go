package flbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FluentBitEnv names a Fluent Bit binary to use instead of the shared one, for checkouts that
// do not sit beside ../shared (a git worktree, another machine).
const FluentBitEnv = "SIEMSCORE_FLUENT_BIT"

// sharedFluentBit is where the team's Fluent Bit 5.1.1 build sits, relative to the module root.
var sharedFluentBit = filepath.Join("..", "shared", "tools", "fluent-bit", "fluent-bit")

// FluentBitPath returns the real Fluent Bit binary: $SIEMSCORE_FLUENT_BIT, else
// ../shared/tools/fluent-bit/fluent-bit beside the module root. It returns "" and the places
// it looked when there is none.
func FluentBitPath() (string, string) {
	var tried []string
	if p := os.Getenv(FluentBitEnv); p != "" {
		if isExecutable(p) {
			return p, ""
		}
		tried = append(tried, p+" ($"+FluentBitEnv+")")
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, sharedFluentBit)
		if isExecutable(p) {
			return p, ""
		}
		tried = append(tried, p)
	}
	return "", strings.Join(tried, ", ")
}

// RequireFluentBit returns the real Fluent Bit binary or skips the test, saying where it looked.
func RequireFluentBit(t testing.TB) string {
	t.Helper()
	p, tried := FluentBitPath()
	if p == "" {
		t.Skipf("the real Fluent Bit is absent (looked at %s; set %s to use another build)", tried, FluentBitEnv)
	}
	return p
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// FluentBitConfig describes a run of the real Fluent Bit.
type FluentBitConfig struct {
	// Binary is the fluent-bit executable; empty means FluentBitPath.
	Binary string
	// Config is the configuration text, classic or YAML (YAML set). It may name files in Dir
	// (storage.path, tail databases) by the placeholder {{dir}}.
	Config string
	YAML   bool
	// Plugins are Go output plugins (.so) loaded with -e.
	Plugins []string
	// Env is added to the process's environment (KEY=VALUE).
	Env []string
	// Dir holds the configuration file and whatever the configuration keeps on disk. It
	// survives Stop, Kill and Restart, so filesystem buffering can be tested across a crash.
	// Empty means a new temporary directory, removed by Remove.
	Dir string
}

// FluentBit is a running (or stopped) Fluent Bit process.
type FluentBit struct {
	cfg     FluentBitConfig
	ownsDir bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	err  error         // its exit status
	logs bytes.Buffer  // every run's output, stdout and stderr
}

// StartFluentBit writes the configuration into cfg.Dir and starts Fluent Bit on it.
func StartFluentBit(cfg FluentBitConfig) (*FluentBit, error) {
	if cfg.Binary == "" {
		p, tried := FluentBitPath()
		if p == "" {
			return nil, fmt.Errorf("flbtest: no Fluent Bit binary (looked at %s)", tried)
		}
		cfg.Binary = p
	}
	f := &FluentBit{cfg: cfg}
	if f.cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "flbtest-fluentbit")
		if err != nil {
			return nil, fmt.Errorf("flbtest: %w", err)
		}
		f.cfg.Dir, f.ownsDir = dir, true
	}
	name := "fluent-bit.conf"
	if cfg.YAML {
		name = "fluent-bit.yaml"
	}
	text := strings.ReplaceAll(cfg.Config, "{{dir}}", f.cfg.Dir)
	if err := os.WriteFile(filepath.Join(f.cfg.Dir, name), []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("flbtest: %w", err)
	}
	if err := f.start(); err != nil {
		f.Remove()
		return nil, err
	}
	return f, nil
}

// Dir is the directory the configuration and its files live in.
func (f *FluentBit) Dir() string { return f.cfg.Dir }

func (f *FluentBit) start() error {
	name := "fluent-bit.conf"
	if f.cfg.YAML {
		name = "fluent-bit.yaml"
	}
	args := []string{"-c", filepath.Join(f.cfg.Dir, name)}
	for _, p := range f.cfg.Plugins {
		args = append(args, "-e", p)
	}
	cmd := exec.Command(f.cfg.Binary, args...)
	cmd.Dir = f.cfg.Dir
	cmd.Env = append(os.Environ(), f.cfg.Env...)
	w := &lockedWriter{mu: &f.mu, buf: &f.logs}
	cmd.Stdout, cmd.Stderr = w, w
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd != nil && f.done != nil {
		select {
		case <-f.done:
		default:
			return errors.New("flbtest: Fluent Bit is already running")
		}
	}
	fmt.Fprintf(&f.logs, "--- flbtest: starting %s %s\n", f.cfg.Binary, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("flbtest: starting Fluent Bit: %w", err)
	}
	done := make(chan struct{})
	f.cmd, f.done, f.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		f.mu.Lock()
		f.err = err
		fmt.Fprintf(&f.logs, "--- flbtest: Fluent Bit (pid %d) exited: %v\n", cmd.Process.Pid, err)
		f.mu.Unlock()
		close(done)
	}()
	return nil
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// PID is the process ID of the current run.
func (f *FluentBit) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmd.Process.Pid
}

// Logs returns everything Fluent Bit (and the plugins it loaded) wrote so far, over every run.
func (f *FluentBit) Logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

// Exited reports whether the current run has ended, and how.
func (f *FluentBit) Exited() (bool, error) {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	select {
	case <-done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return true, f.err
	default:
		return false, nil
	}
}

// Usage is what a Fluent Bit process has used, from /proc.
type Usage struct {
	CPU     time.Duration // user + system time of all its threads
	RSS     int64         // resident set size now, bytes
	PeakRSS int64         // the highest resident set size so far (VmHWM), bytes
	Threads int
}

// clockTicks is the unit of the times in /proc/<pid>/stat (USER_HZ), 100 on Linux.
const clockTicks = 100

// Usage reads the running process's CPU time and memory. It must be called before the process
// exits: the kernel forgets both with it.
func (f *FluentBit) Usage() (Usage, error) {
	pid := f.PID()
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("flbtest: %w", err)
	}
	// The command name (field 2) may hold spaces; the fields after it are space-separated.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 18 {
		return u, fmt.Errorf("flbtest: unexpected /proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	threads, err3 := strconv.Atoi(fields[17])           // field 20
	if err := errors.Join(err1, err2, err3); err != nil {
		return u, fmt.Errorf("flbtest: /proc/%d/stat: %w", pid, err)
	}
	u.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	u.Threads = threads
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("flbtest: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			u.RSS = kb << 10
		case "VmHWM":
			u.PeakRSS = kb << 10
		default:
			continue
		}
		if err != nil {
			return u, fmt.Errorf("flbtest: /proc/%d/status %s: %w", pid, key, err)
		}
	}
	return u, nil
}

// WaitFor polls cond every poll until it reports true, ctx ends, or Fluent Bit exits. The error
// says which, with the end of the log.
func (f *FluentBit) WaitFor(ctx context.Context, poll time.Duration, cond func() (bool, error)) error {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("flbtest: waiting for Fluent Bit: %w\n%s", context.Cause(ctx), tail(f.Logs(), 40))
		case <-done:
			_, err := f.Exited()
			return fmt.Errorf("flbtest: Fluent Bit exited while waiting (%v)\n%s", err, tail(f.Logs(), 40))
		case <-t.C:
		}
	}
}

// WaitRecords waits until count reports at least n records (count is the test's own view of
// what arrived: a sink's counter, an Elasticsearch _count).
func (f *FluentBit) WaitRecords(ctx context.Context, n int, count func() (int, error)) error {
	last := 0
	err := f.WaitFor(ctx, 20*time.Millisecond, func() (bool, error) {
		c, err := count()
		last = c
		return c >= n, err
	})
	if err != nil {
		return fmt.Errorf("%d of %d records: %w", last, n, err)
	}
	return nil
}

// Stop sends SIGTERM (Fluent Bit flushes what it holds within its Grace period) and waits up
// to timeout for the exit, then kills it. The exit status of a graceful stop is not an error.
func (f *FluentBit) Stop(timeout time.Duration) error {
	return f.signal(syscall.SIGTERM, timeout)
}

// Kill sends SIGKILL, a crash: nothing is flushed, filesystem chunks stay on disk.
func (f *FluentBit) Kill() error {
	return f.signal(syscall.SIGKILL, 10*time.Second)
}

func (f *FluentBit) signal(sig syscall.Signal, timeout time.Duration) error {
	f.mu.Lock()
	cmd, done := f.cmd, f.done
	f.mu.Unlock()
	if exited, _ := f.Exited(); exited {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("flbtest: %v to Fluent Bit: %w", sig, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("flbtest: Fluent Bit did not exit within %s of %v; killed\n%s", timeout, sig, tail(f.Logs(), 40))
}

// Restart starts Fluent Bit again on the same configuration and directory, after Stop or Kill.
func (f *FluentBit) Restart() error {
	if exited, _ := f.Exited(); !exited {
		return errors.New("flbtest: Restart needs the previous run to have ended (Stop or Kill)")
	}
	return f.start()
}

// Remove stops Fluent Bit if it still runs and deletes the directory StartFluentBit created.
func (f *FluentBit) Remove() {
	if f.cmd != nil {
		_ = f.Kill()
	}
	if f.ownsDir {
		os.RemoveAll(f.cfg.Dir)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
