package metrics

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
)

// panickyListener panics when the server asks for a connection.
type panickyListener struct{ net.Listener }

func (panickyListener) Accept() (net.Conn, error) { panic("accept exploded") }

// A panic in the metrics server's goroutine is logged and ends the server, not Fluent Bit.
func TestServerPanicIsContained(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var logs flblogtest.Buffer
	s := New().serve(panickyListener{ln}, hclog.New(&hclog.LoggerOptions{Output: &logs}))
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server goroutine did not end")
	}
	// The line is logged once the goroutine's own defers have run.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "panicked") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "metrics server panicked") || !strings.Contains(logs.String(), "accept exploded") {
		t.Errorf("log:\n%s", logs.String())
	}
}
