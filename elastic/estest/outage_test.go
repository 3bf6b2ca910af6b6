package estest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// With holderRunEnv set, this test binary plays another test binary sharing
// the server in that run directory: it takes the hold named by holderModeEnv
// ("use" like URL, or "outage" like Stop), prints "held", and lets go when
// its stdin closes.
const (
	holderRunEnv  = "ESTEST_HOLDER_RUN_DIR"
	holderModeEnv = "ESTEST_HOLDER_MODE"
)

func TestMain(m *testing.M) {
	if run := os.Getenv(holderRunEnv); run != "" {
		os.Exit(hold(coordinatorFor(run), os.Getenv(holderModeEnv)))
	}
	os.Exit(m.Run())
}

func hold(co *coordinator, mode string) int {
	take, release := co.enter, co.leave
	if mode == "outage" {
		take, release = co.beginOutage, co.endOutage
	}
	if err := take(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("held\n")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
	release()
	return 0
}

type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	held  chan struct{}
}

func startHolder(t *testing.T, run, mode string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderRunEnv+"="+run, holderModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin, held: make(chan struct{})}
	go func() {
		if line, _ := bufio.NewReader(stdout).ReadString('\n'); line == "held\n" {
			close(h.held)
		}
	}()
	// A failed test may leave holders waiting on each other: kill them.
	t.Cleanup(func() {
		if h.stdin != nil {
			h.cmd.Process.Kill()
			h.cmd.Wait()
		}
	})
	return h
}

// release makes the holder let go and waits for it to exit.
func (h *holder) release(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	h.stdin = nil
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("holder process: %v", err)
	}
}

func waitFor(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not happen within 20s", what)
	}
}

// waitUntilLocked waits until some process holds path exclusively.
func waitUntilLocked(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return
		}
	}
	t.Fatalf("nobody locked %s within 20s", path)
}

// stillWaiting reports whether done stays open for a moment. A moment too
// short can only hide a bug, never invent one.
func stillWaiting(done <-chan struct{}) bool {
	select {
	case <-done:
		return false
	case <-time.After(300 * time.Millisecond):
		return true
	}
}

func TestOutageWaitsForUsersAndHoldsOffNewOnes(t *testing.T) {
	run := t.TempDir()
	user := startHolder(t, run, "use")
	waitFor(t, "a user taking the server", user.held)

	co := coordinatorFor(run)
	outage := make(chan struct{})
	go func() {
		if err := co.beginOutage(); err != nil {
			t.Errorf("beginOutage: %v", err)
		}
		close(outage)
	}()
	if !stillWaiting(outage) {
		t.Fatal("the outage began while another binary used the server")
	}
	user.release(t)
	waitFor(t, "the outage beginning once the user left", outage)

	late := startHolder(t, run, "use")
	if !stillWaiting(late.held) {
		t.Fatal("a new user got the server during the outage")
	}
	co.endOutage()
	waitFor(t, "the new user getting the server after the outage", late.held)
}

func TestQueuedOutageIsNotStarvedByNewUsers(t *testing.T) {
	run := t.TempDir()
	user := startHolder(t, run, "use")
	waitFor(t, "a user taking the server", user.held)
	outage := startHolder(t, run, "outage")
	waitUntilLocked(t, filepath.Join(run, "writer.lock"))
	if !stillWaiting(outage.held) {
		t.Fatal("the outage began while another binary used the server")
	}
	late := startHolder(t, run, "use")
	if !stillWaiting(late.held) {
		t.Fatal("a new user overtook the queued outage")
	}
	user.release(t)
	waitFor(t, "the queued outage beginning", outage.held)
	if !stillWaiting(late.held) {
		t.Fatal("a new user got the server during the outage")
	}
	outage.release(t)
	waitFor(t, "the new user getting the server after the outage", late.held)
}

func TestOutageInsideATestKeepsThatTestsHold(t *testing.T) {
	run := t.TempDir()
	co := coordinatorFor(run)
	if err := co.enter(); err != nil {
		t.Fatal(err)
	}
	if err := co.beginOutage(); err != nil {
		t.Fatal(err)
	}
	// URL called again during the test's own outage must not wait on itself.
	if err := co.enter(); err != nil {
		t.Fatal(err)
	}
	co.leave()
	co.endOutage()

	other := startHolder(t, run, "outage")
	if !stillWaiting(other.held) {
		t.Fatal("another binary's outage began while this test still used the server")
	}
	co.leave()
	waitFor(t, "the other outage beginning once this test left", other.held)
}
