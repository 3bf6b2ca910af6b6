// Package flblog gives the plugin an hclog.Logger (the logger the Elasticsearch client and the
// delivery engine take) that writes lines the way Fluent Bit writes its own, so the plugin's
// messages read like the rest of the agent's output and the usual log parsing keeps working:
//
//	[2026/11/23 10:00:00] [ info] [output:siemscore:siemscore.0] delivered records=2000
package flblog

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Plugin is the plugin name in the [output:<plugin>:<instance>] tag.
const Plugin = "siemscore"

// New returns a logger for one output instance that writes lines at level and above to w.
// Sub-loggers (Named) prefix their messages with their name.
func New(w io.Writer, instance string, level hclog.Level) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		// Formatting happens in the sink; the inner logger only carries the level and names.
		Output: io.Discard,
		Level:  level,
	})
	l.RegisterSink(&sink{w: w, tag: "[output:" + Plugin + ":" + instance + "] ", level: level})
	return l
}

// sink formats one record per Accept call into a single Write, so lines from concurrent flushes
// never interleave.
type sink struct {
	mu    sync.Mutex
	w     io.Writer
	tag   string
	level hclog.Level
	buf   []byte
}

// levelTags are Fluent Bit's five-character level names.
var levelTags = map[hclog.Level]string{
	hclog.Trace: "[trace] ", hclog.Debug: "[debug] ", hclog.Info: "[ info] ",
	hclog.Warn: "[ warn] ", hclog.Error: "[error] ",
}

func (s *sink) Accept(name string, level hclog.Level, msg string, args ...any) {
	if level < s.level || level == hclog.Off {
		return
	}
	tag, ok := levelTags[level]
	if !ok {
		tag = levelTags[hclog.Error]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(s.buf[:0], '[')
	b = time.Now().AppendFormat(b, "2006/01/02 15:04:05")
	b = append(b, "] "...)
	b = append(b, tag...)
	b = append(b, s.tag...)
	if name != "" {
		b = append(b, name...)
		b = append(b, ": "...)
	}
	b = append(b, msg...)
	for i := 0; i < len(args); i += 2 {
		b = append(b, ' ')
		if i+1 == len(args) {
			b = appendValue(append(b, "EXTRA="...), args[i])
			break
		}
		b = append(b, fmt.Sprint(args[i])...)
		b = appendValue(append(b, '='), args[i+1])
	}
	b = append(b, '\n')
	s.buf = b
	// A log line that cannot be written has nowhere else to go.
	_, _ = s.w.Write(b)
}

// appendValue writes v bare when it is one plain word and quoted otherwise, so key=value pairs
// stay unambiguous.
func appendValue(b []byte, v any) []byte {
	var s string
	switch v := v.(type) {
	case error:
		s = v.Error()
	case string:
		s = v
	case fmt.Stringer:
		s = v.String()
	case float64:
		// Numbers the companion logs reach us as JSON floats (go-plugin re-parses its log
		// lines): a byte count would read 1.366539e+06 with %v.
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		s = fmt.Sprint(v)
	}
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r > '~' }) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}
