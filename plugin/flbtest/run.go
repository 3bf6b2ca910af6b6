// Package flbtest runs a Fluent Bit Go output plugin (a .so built with
// -buildmode=c-shared) inside flbhost, a small C program that loads and calls
// it exactly the way Fluent Bit 5.1 does (see README.md), so integration tests
// can exercise the real .so without Fluent Bit.
//
// BuildHost compiles the host, BuildPlugin builds a plugin, Run pipes chunks
// through the plugin and returns the host's summary, and Start gives a
// running Host to feed chunks and send signals to while records flow.
package flbtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StackMode chooses the stack each flush runs on.
type StackMode string

const (
	// StackDefault is StackAlternate with workers, StackCoro without.
	StackDefault StackMode = ""
	// StackAlternate alternates between the thread's stack and a coroutine
	// stack, so the C stack the Go runtime sees moves between calls.
	StackAlternate StackMode = "alternate"
	// StackThread runs every flush on the worker thread's own stack.
	StackThread StackMode = "thread"
	// StackCoro runs every flush on a small ucontext stack, as Fluent Bit
	// always does (a libco coroutine).
	StackCoro StackMode = "coro"
)

// Instance is one [OUTPUT] section.
type Instance struct {
	// Name must match the name the plugin registers; empty accepts it.
	Name string
	// Props are the section's properties. Core keys such as retry_limit,
	// alias, workers, match and tls.* are consumed by the host, as Fluent
	// Bit's core consumes them, and are not visible to the plugin.
	Props map[string]string
}

// Config describes one run of the host. Zero values mean the host's
// defaults, which are Fluent Bit's.
type Config struct {
	Plugin    string // path of the .so
	Instances []Instance
	// Input is a chunk stream file or FIFO; empty means the host reads
	// stdin, which Host.Send writes.
	Input string
	// Workers is the number of flush threads; 0 is Fluent Bit's default
	// for Go outputs: one engine thread that flushes on coroutine stacks.
	Workers       int
	Stack         StackMode
	CoroStackSize int // bytes; 0 means 64 KiB
	// RetryLimit is every instance's default retry_limit: "N", "no_limits",
	// "false", "off" or "no_retries"; empty means 1. An instance's
	// retry_limit property overrides it.
	RetryLimit string
	// RetryBase and RetryCap are the scheduler's base and cap (0 means 5 s
	// and 2000 s); RetryBase < 0 means no backoff.
	RetryBase, RetryCap time.Duration
	// Interval is a pause before each chunk after the first.
	Interval time.Duration
	// Grace bounds the wind-down after SIGTERM or a cancelled context
	// (0 means 5 s, < 0 none).
	Grace time.Duration
	// QueueLimit is the number of chunks in flight before reading pauses
	// (0 means 256).
	QueueLimit int
	// HotReload is [SERVICE] Hot_Reload On: PreRun(1), and SIGHUP or
	// ReloadEvery reload the plugin.
	HotReload   bool
	ReloadEvery int
	// Verbose 1 reports every finished route and every reload to OnEvent;
	// 2 also every flush call. OnEvent runs on one goroutine, in order.
	Verbose  int
	OnEvent  func(Event)
	Sanitize bool      // use the ASan/UBSan build of the host
	Env      []string  // added to the environment
	Stderr   io.Writer // also receives the host's and the plugin's stderr
}

func millis(d time.Duration) string {
	if d < 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}

func (c Config) args() ([]string, error) {
	if c.Plugin == "" || len(c.Instances) == 0 {
		return nil, errors.New("flbhost: a plugin and at least one instance are needed")
	}
	args := []string{"-e", c.Plugin}
	for i, ins := range c.Instances {
		args = append(args, "-o", ins.Name)
		for _, k := range slices.Sorted(maps.Keys(ins.Props)) {
			if k == "" || strings.Contains(k, "=") {
				return nil, fmt.Errorf("flbhost: instance %d: property key %q cannot be passed", i, k)
			}
			args = append(args, "-p", k+"="+ins.Props[k])
		}
	}
	input := c.Input
	if input == "" {
		input = "-"
	}
	args = append(args, "-i", input, "-w", strconv.Itoa(c.Workers))
	if c.Stack != StackDefault {
		args = append(args, "--stack", string(c.Stack))
	}
	if c.CoroStackSize > 0 {
		args = append(args, "--coro-stack-size", strconv.Itoa(c.CoroStackSize))
	}
	if c.RetryLimit != "" {
		args = append(args, "--retry-limit", c.RetryLimit)
	}
	if c.RetryBase != 0 {
		args = append(args, "--retry-base-ms", millis(c.RetryBase))
	}
	if c.RetryCap != 0 {
		args = append(args, "--retry-cap-ms", millis(c.RetryCap))
	}
	if c.Interval > 0 {
		args = append(args, "--interval-ms", millis(c.Interval))
	}
	if c.Grace != 0 {
		args = append(args, "--grace-ms", millis(c.Grace))
	}
	if c.QueueLimit > 0 {
		args = append(args, "--queue-limit", strconv.Itoa(c.QueueLimit))
	}
	if c.HotReload {
		args = append(args, "--enable-hot-reload")
	}
	if c.ReloadEvery > 0 {
		args = append(args, "--reload-every", strconv.Itoa(c.ReloadEvery))
	}
	for range c.Verbose {
		args = append(args, "-v")
	}
	return args, nil
}

func (c Config) grace() time.Duration {
	if c.Grace == 0 {
		return 5 * time.Second
	}
	return max(c.Grace, 0)
}

// Event is one progress line of the host: "route" when a chunk is finished
// for one instance and "reload" after a hot reload (Verbose >= 1), "flush"
// for every call (Verbose >= 2).
type Event struct {
	Event string `json:"event"`
	// chunk number in the stream, from 0; for a reload, the number of
	// chunks read before it
	Seq      uint64 `json:"seq"`
	Instance string `json:"instance"`
	Reloads  uint64 `json:"reloads"` // reload: reloads so far
	// route
	Tag      string `json:"tag"`
	Outcome  string `json:"outcome"` // delivered, error, retry_limit, no_retries, abandoned
	Attempts int    `json:"attempts"`
	Bytes    int    `json:"bytes"`
	// flush
	Attempt int    `json:"attempt"`
	RC      int    `json:"rc"`
	NS      int64  `json:"ns"`
	Worker  int    `json:"worker"`
	Stack   string `json:"stack"` // coro or thread
}

// Counts are flush and route totals. A route is one chunk for one instance.
type Counts struct {
	Routes     uint64 `json:"routes"`
	FlushCalls uint64 `json:"flush_calls"`
	// return codes of the calls; InvalidRC counts the codes other than
	// 0/1/2, which are also counted as Error (Fluent Bit maps them so)
	OK        uint64 `json:"ok"`
	Retry     uint64 `json:"retry"`
	Error     uint64 `json:"error"`
	InvalidRC uint64 `json:"invalid_rc"`
	// route outcomes; Dropped is the sum of the three Dropped* counts
	Delivered         uint64 `json:"delivered"`
	Dropped           uint64 `json:"dropped"`
	DroppedError      uint64 `json:"dropped_error"`
	DroppedRetryLimit uint64 `json:"dropped_retry_limit"`
	DroppedNoRetries  uint64 `json:"dropped_no_retries"`
	Abandoned         uint64 `json:"abandoned"` // still queued when the grace period ended
	MaxAttempts       uint64 `json:"max_attempts"`
	// calls after which the plugin had written into its const input
	MutatedBuffers uint64  `json:"mutated_buffers"`
	FlushTimeMS    float64 `json:"flush_time_ms"` // inside flush calls
}

// InstanceSummary is one instance's part of the summary.
type InstanceSummary struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	RetryLimit int    `json:"retry_limit"` // -1 unlimited, 0 no_retries
	Counts
	FlushP50Micros float64 `json:"flush_p50_us"`
	FlushP99Micros float64 `json:"flush_p99_us"`
	FlushMaxMicros float64 `json:"flush_max_us"`
	MaxConcurrent  int     `json:"max_concurrent"`
}

// Summary is the host's final report.
type Summary struct {
	Plugin                     string  `json:"plugin"`
	ExitCode                   int     `json:"exit_code"`
	ExitReason                 string  `json:"exit_reason"` // eof, signal, init_failed, load_failed, input_error, ...
	FailedInstance             string  `json:"failed_instance"`
	FailedRC                   int     `json:"failed_rc"`
	InputError                 string  `json:"input_error"`
	Chunks                     uint64  `json:"chunks"`
	Bytes                      uint64  `json:"bytes"`
	Workers                    int     `json:"workers"`
	Stack                      string  `json:"stack"`
	CoroStackSize              int     `json:"coro_stack_size"`
	CoroFlushes                uint64  `json:"coro_flushes"`
	ThreadFlushes              uint64  `json:"thread_flushes"`
	Reloads                    uint64  `json:"reloads"`
	PropertyLookupsOutsideInit uint64  `json:"property_lookups_outside_init"`
	WallMS                     float64 `json:"wall_ms"`
	Counts
	Instances []InstanceSummary `json:"instances"`
}

// Instance returns the summary of the instance called name (its alias, or
// "<plugin>.<index>").
func (s *Summary) Instance(name string) (InstanceSummary, bool) {
	for _, ins := range s.Instances {
		if ins.Name == name {
			return ins, true
		}
	}
	return InstanceSummary{}, false
}

// ExitError reports a host that exited non-zero: 2 the plugin did not load
// or register, 3 an Init failed (Summary.FailedInstance names it), 4 the
// chunk stream was corrupt, 23 a sanitizer report (Config.Sanitize); -1 the
// host died of a signal (a crash).
type ExitError struct {
	Code    int
	State   string
	Summary *Summary // nil when the host printed none
	Stderr  string   // the last 64 KiB
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("flbhost: host %s", e.State)
	if e.Summary != nil {
		msg += fmt.Sprintf(" (%s", e.Summary.ExitReason)
		if e.Summary.FailedInstance != "" {
			msg += fmt.Sprintf(": instance %q Init returned %d", e.Summary.FailedInstance, e.Summary.FailedRC)
		}
		if e.Summary.InputError != "" {
			msg += ": " + e.Summary.InputError
		}
		msg += ")"
	}
	return msg + "\n" + e.Stderr
}

// Host is a running host process.
type Host struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *tailBuffer
	done     chan struct{}
	summary  *Summary
	parseErr error
	waitErr  error
}

// Start builds the host if needed and starts it. Cancelling ctx sends
// SIGTERM (a graceful stop within Grace), and kills the host if it is
// still running 10 s after that.
func Start(ctx context.Context, cfg Config) (*Host, error) {
	args, err := cfg.args()
	if err != nil {
		return nil, err
	}
	bin, err := BuildHost(ctx, BuildOptions{Sanitize: cfg.Sanitize})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cfg.grace() + 10*time.Second
	cmd.Env = append(os.Environ(), cfg.Env...)
	h := &Host{cmd: cmd, stderr: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stderr = h.stderr
	if cfg.Stderr != nil {
		cmd.Stderr = io.MultiWriter(h.stderr, cfg.Stderr)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("flbhost: %w", err)
	}
	if cfg.Input == "" {
		if h.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("flbhost: %w", err)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("flbhost: starting %s: %w", bin, err)
	}
	go func() {
		h.readResults(stdout, cfg.OnEvent)
		h.waitErr = cmd.Wait()
		close(h.done)
	}()
	return h, nil
}

func (h *Host) readResults(r io.Reader, onEvent func(Event)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			h.setParseErr(fmt.Errorf("flbhost: result line %q: %w", line, err))
			continue
		}
		if ev.Event == "summary" {
			h.summary = new(Summary)
			if err := json.Unmarshal(line, h.summary); err != nil {
				h.setParseErr(fmt.Errorf("flbhost: summary %q: %w", line, err))
			}
			continue
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
	if err := sc.Err(); err != nil {
		h.setParseErr(fmt.Errorf("flbhost: reading results: %w", err))
		// keep draining so the host never blocks on a full pipe
		_, _ = io.Copy(io.Discard, r)
	}
}

func (h *Host) setParseErr(err error) {
	if h.parseErr == nil {
		h.parseErr = err
	}
}

// Send writes chunks to the host's stdin; it blocks while the host's queue
// is full. Only for a Config without Input.
func (h *Host) Send(chunks ...Chunk) error {
	if h.stdin == nil {
		return errors.New("flbhost: Send needs a host that reads stdin (Config.Input empty)")
	}
	return WriteChunks(h.stdin, chunks...)
}

// CloseInput ends the stdin chunk stream: the host finishes the queued
// chunks, retries included, then exits.
func (h *Host) CloseInput() error {
	if h.stdin == nil {
		return nil
	}
	if err := h.stdin.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("flbhost: closing input: %w", err)
	}
	return nil
}

// Signal sends sig to the host: SIGHUP hot-reloads (with HotReload),
// SIGTERM and SIGINT stop it gracefully.
func (h *Host) Signal(sig os.Signal) error {
	if err := h.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("flbhost: signal %v: %w", sig, err)
	}
	return nil
}

// Stderr returns the last 64 KiB the host and the plugin wrote to stderr.
func (h *Host) Stderr() string { return h.stderr.String() }

// Wait waits for the host to exit and returns its summary. A non-zero exit
// is an *ExitError, which carries the summary when the host printed one.
func (h *Host) Wait() (*Summary, error) {
	<-h.done
	if h.waitErr != nil {
		var ee *exec.ExitError
		if errors.As(h.waitErr, &ee) {
			return h.summary, &ExitError{Code: ee.ExitCode(), State: ee.String(), Summary: h.summary, Stderr: h.Stderr()}
		}
		return h.summary, fmt.Errorf("flbhost: %w\n%s", h.waitErr, h.Stderr())
	}
	if h.parseErr != nil {
		return h.summary, h.parseErr
	}
	if h.summary == nil {
		return nil, fmt.Errorf("flbhost: the host printed no summary\n%s", h.Stderr())
	}
	return h.summary, nil
}

// Run starts the host, sends chunks on its stdin, closes it and waits.
func Run(ctx context.Context, cfg Config, chunks ...Chunk) (*Summary, error) {
	if cfg.Input != "" {
		return nil, errors.New("flbhost: Run sends chunks on stdin; use Start for Config.Input")
	}
	h, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sendErr := h.Send(chunks...)
	closeErr := h.CloseInput()
	sum, err := h.Wait()
	if err != nil {
		// a host that failed early breaks the pipe; its own error says why
		return sum, err
	}
	return sum, errors.Join(sendErr, closeErr)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
