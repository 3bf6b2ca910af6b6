// Package echolog is the call log of flbhost's self-test plugins: one JSON line per call,
// appended to $ECHOPLUGIN_LOG, which the tests read back to see what the host called.
package echolog

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

var mu sync.Mutex

// Record appends fields as one line to $ECHOPLUGIN_LOG, if set. A plugin must not panic, so a
// failure to log is reported on stderr, prefixed with plugin, only.
func Record(plugin string, fields map[string]any) {
	path := os.Getenv("ECHOPLUGIN_LOG")
	if path == "" {
		return
	}
	line, err := json.Marshal(fields)
	if err != nil {
		fmt.Fprintln(os.Stderr, plugin+": marshal:", err)
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, plugin+":", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		fmt.Fprintln(os.Stderr, plugin+":", err)
	}
}
