package flblog

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLinesLookLikeFluentBits(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "siemscore.1", hclog.Info)
	l.Info("delivered", "records", 2000, "index", "logs-siemscore.cloudtrail-default")
	l.Named("companion").Info("serving model bundle", "bytes", 1366539.0, "share", 0.25)
	l.Named("esclient").Warn("elasticsearch request failed", "error", errors.New("dial tcp: connection refused"))
	l.Error("odd", "lonely")
	l.Debug("not shown")
	want := []string{
		`^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] \[ info\] \[output:siemscore:siemscore\.1\] delivered records=2000 index=logs-siemscore\.cloudtrail-default$`,
		`^\[[^]]+\] \[ info\] \[output:siemscore:siemscore\.1\] companion: serving model bundle bytes=1366539 share=0\.25$`,
		`^\[[^]]+\] \[ warn\] \[output:siemscore:siemscore\.1\] esclient: elasticsearch request failed error="dial tcp: connection refused"$`,
		`^\[[^]]+\] \[error\] \[output:siemscore:siemscore\.1\] odd EXTRA=lonely$`,
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want match for %s", i, lines[i], re)
		}
	}
}

func TestLevelFilter(t *testing.T) {
	for _, tc := range []struct {
		level hclog.Level
		want  []string
	}{
		{hclog.Error, []string{"[error]"}},
		{hclog.Warn, []string{"[ warn]", "[error]"}},
		{hclog.Trace, []string{"[trace]", "[debug]", "[ info]", "[ warn]", "[error]"}},
	} {
		var buf bytes.Buffer
		l := New(&buf, "x", tc.level)
		l.Trace("m")
		l.Debug("m")
		l.Info("m")
		l.Warn("m")
		l.Error("m")
		got := regexp.MustCompile(`\[(trace|debug| info| warn|error)\]`).FindAllString(buf.String(), -1)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("level %s: got %v, want %v", tc.level, got, tc.want)
		}
		if l.IsDebug() != (tc.level <= hclog.Debug) {
			t.Errorf("level %s: IsDebug = %v", tc.level, l.IsDebug())
		}
	}
}

// lineWriter records each Write call, to check that one record is one Write.
type lineWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	w := &lineWriter{}
	l := New(w, "x", hclog.Info)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l.With("worker", g).Info("flush done", "n", i, "text", "a b c")
			}
		})
	}
	wg.Wait()
	if len(w.writes) != 1600 {
		t.Fatalf("%d writes, want 1600", len(w.writes))
	}
	line := regexp.MustCompile(`^\[[^]]+\] \[ info\] \[output:siemscore:x\] flush done worker=\d n=\d+ text="a b c"\n$`)
	for _, s := range w.writes {
		if !line.MatchString(s) {
			t.Fatalf("malformed write %q", s)
		}
	}
}
