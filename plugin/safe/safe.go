// Package safe runs the plugin's own goroutines so that a panic in one is logged and contained:
// a panic that no goroutine recovers kills the whole Fluent Bit process, with every other
// output and input in it. The exported cgo functions have their own guard (plugin/entry); this
// is for what the plugin starts in the background (the bundle watcher, the companion's
// supervisor, follower and pings, the metrics server, the stop-signal watcher).
package safe

import (
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
)

// Go runs f in a new goroutine. A panic in f is logged, with its stack, and ends the goroutine;
// what names it in the log line.
func Go(log hclog.Logger, what string, f func()) {
	go func() { _ = Do(log, what, f) }()
}

// Do runs f and, if it panics, logs the panic with its stack and returns it as an error, so that
// a loop can carry on with its next round or a supervisor restart what failed.
func Do(log hclog.Logger, what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v", what, r)
			log.Error(what+" panicked; carrying on without it until it is restarted", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	f()
	return nil
}

// Run is Do for a function that returns an error: it returns f's error, or the panic as one.
func Run(log hclog.Logger, what string, f func() error) (err error) {
	if perr := Do(log, what, func() { err = f() }); perr != nil {
		return perr
	}
	return err
}
