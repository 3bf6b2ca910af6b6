package safe_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/safe"
)

func TestPanicIsLoggedAndContained(t *testing.T) {
	var logs flblogtest.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	if err := safe.Do(log, "worker", func() { var m map[string]int; m["x"]++ }); err == nil || !strings.Contains(err.Error(), "worker panicked") {
		t.Errorf("Do: %v", err)
	}
	if err := safe.Do(log, "calm", func() {}); err != nil {
		t.Errorf("Do without a panic: %v", err)
	}
	done := make(chan struct{})
	safe.Go(log, "background", func() { defer close(done); panic("boom") })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine never ran")
	}
	// The log line is written after the deferred close; wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "background panicked") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for _, want := range []string{"worker panicked", "assignment to entry in nil map", "background panicked", "boom", "safe_test.go"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
