package companion

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
)

// Each goroutine the companion host starts must survive a panic in what it runs: an unrecovered
// panic in any goroutine of the plugin kills Fluent Bit. These tests make each one panic.

// namedPanics is a logger that panics when a session asks it for the companion's own logger,
// the first thing a session does.
type namedPanics struct{ hclog.Logger }

func (namedPanics) Named(string) hclog.Logger { panic("session exploded") }

func logTo(b *flblogtest.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: b, Level: hclog.Debug})
}

func waitLog(t *testing.T, b *flblogtest.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The supervisor: a session that panics is restarted like a crashed companion, and shutdown
// still ends the supervisor.
func TestSupervisorSurvivesPanickingSessions(t *testing.T) {
	var logs flblogtest.Buffer
	cfg := Config{Path: "/nonexistent/siemscore", RestartMin: time.Millisecond, RestartMax: 5 * time.Millisecond, Log: namedPanics{logTo(&logs)}}.withDefaults()
	c := newCompanion(cfg, Metrics)
	before := Metrics.Snapshot().Restarts
	c.start()
	deadline := time.Now().Add(10 * time.Second)
	for Metrics.Snapshot().Restarts < before+3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := Metrics.Snapshot().Restarts - before; n < 3 {
		t.Errorf("%d restarts after panicking sessions; the supervisor must go on", n)
	}
	waitLog(t, &logs, "companion session panicked")
	done := make(chan struct{})
	go func() { c.shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not end the supervisor")
	}
}

type panickyModels struct{ fakeModels }

func (panickyModels) Poll(shared.Cursor, time.Duration) (shared.State, error) {
	panic("poll exploded")
}

// The follower: its panic ends the session with an error, which restarts the companion.
func TestFollowerPanicEndsTheSession(t *testing.T) {
	var logs flblogtest.Buffer
	c := newCompanion(Config{Log: logTo(&logs)}.withDefaults(), Metrics)
	errc := make(chan error, 1)
	c.startFollower(panickyModels{}, errc)
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "companion follower panicked") {
			t.Errorf("follower error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower's panic was not reported")
	}
	waitLog(t, &logs, "poll exploded")
}

// panickyRPC is a companion connection whose ping panics.
type panickyRPC struct{}

func (panickyRPC) Close() error                 { return nil }
func (panickyRPC) Dispense(string) (any, error) { return nil, errors.New("not used") }
func (panickyRPC) Ping() error                  { panic("ping exploded") }

var _ plugin.ClientProtocol = panickyRPC{}

func TestPingPanicIsAFailedPing(t *testing.T) {
	var logs flblogtest.Buffer
	err := pingWithin(logTo(&logs), panickyRPC{}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "ping panicked") {
		t.Errorf("ping: %v", err)
	}
	waitLog(t, &logs, "ping exploded")
}

// The stopper: a panic while stopping the companion (here go-plugin's Kill on a client that
// never was) is logged and kill still returns.
func TestKillSurvivesAPanic(t *testing.T) {
	var logs flblogtest.Buffer
	c := newCompanion(Config{Log: logTo(&logs)}.withDefaults(), Metrics)
	done := make(chan struct{})
	go func() { c.kill(nil, &exec.Cmd{}, false); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("kill did not return")
	}
	waitLog(t, &logs, "companion stop panicked")
}
