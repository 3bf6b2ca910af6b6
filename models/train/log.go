package train

import (
	"fmt"
	"strings"
)

// Logger receives the pipeline's progress: hclog.Logger (the companion's structured log)
// satisfies it, and Lines turns it into plain lines for a terminal.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Lines is a Logger that writes each message with its key-value pairs as one line to line.
type Lines func(line string)

func (l Lines) Info(msg string, args ...any) { l(format(msg, args)) }

func (l Lines) Warn(msg string, args ...any) { l("warning: " + format(msg, args)) }

func format(msg string, args []any) string {
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	return b.String()
}

// nopLog discards everything.
type nopLog struct{}

func (nopLog) Info(string, ...any) {}
func (nopLog) Warn(string, ...any) {}
