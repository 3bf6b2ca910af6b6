// Command echoplugin is a Fluent Bit Go output plugin for flbhost's self-test.
// It appends one JSON line per call the host makes to the file named by
// $ECHOPLUGIN_LOG, so a test can check the call sequence, the properties the
// host serves, and the exact bytes and tag of every flush.
//
// Properties:
//
//	id           label written to every line of this instance
//	echo_keys    comma-separated keys whose lookup results are logged
//	fail_init    "true": FLBPluginInit returns FLB_ERROR
//	rc           fixed return code for every flush (may be invalid, e.g. 7)
//	retry_first  "true": the first flush of each distinct chunk returns RETRY
//	scribble     "true": overwrite the first byte of the (const) buffer
//	sleep_us     sleep this long inside every flush
//	lookup_in_flush  key to look up during every flush through the plugin
//	             pointer kept from Init (a bug ABI §5 warns about)
//	leak_bytes   malloc this many C bytes per flush and lose them
package main

/*
#include <stdlib.h>

// The prefix of the host's structs (ABI §3) that a NULL check needs; Go's
// FLBPluginConfigKey turns NULL into "", so it cannot tell the two apart.
struct echo_api { const char *(*output_get_property)(const char *, void *); };
struct echo_plugin { void *name; struct echo_api *api; void *o_ins; };

static int echo_prop_is_null(void *plugin, const char *key)
{
	struct echo_plugin *p = plugin;
	return p->api->output_get_property(key, p->o_ins) == NULL;
}
*/
import "C"

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
	"github.com/tinylib/msgp/msgp"

	"github.com/siemscore/siemscore/plugin/flbtest/testdata/echolog"
)

type instance struct {
	id         string
	rc         int
	fixedRC    bool
	retryFirst bool
	scribble   bool
	sleep      time.Duration
	lookup     string
	leakBytes  int
	plugin     unsafe.Pointer // kept only to show the stale lookup
	flushes    atomic.Int64
	seen       sync.Map // chunk sha256 -> struct{}
}

func record(fields map[string]any) { echolog.Record("echoplugin", fields) }

//export FLBPluginPreRegister
func FLBPluginPreRegister(hotReloading C.int) C.int {
	record(map[string]any{"call": "pre_register", "hot": int(hotReloading)})
	return 0
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	record(map[string]any{"call": "register"})
	return output.FLBPluginRegister(def, "echo", "flbhost self-test output")
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	ins := &instance{id: output.FLBPluginConfigKey(plugin, "id")}
	props := map[string]any{}
	for _, key := range strings.Split(output.FLBPluginConfigKey(plugin, "echo_keys"), ",") {
		if key == "" {
			continue
		}
		ckey := C.CString(key)
		isNull := C.echo_prop_is_null(plugin, ckey) != 0
		C.free(unsafe.Pointer(ckey))
		if isNull {
			props[key] = nil
		} else {
			props[key] = output.FLBPluginConfigKey(plugin, key)
		}
	}
	line := map[string]any{"call": "init", "id": ins.id, "props": props}

	if v := output.FLBPluginConfigKey(plugin, "rc"); v != "" {
		rc, err := strconv.Atoi(v)
		if err != nil {
			line["error"] = fmt.Sprintf("rc %q: %v", v, err)
			record(line)
			return output.FLB_ERROR
		}
		ins.rc, ins.fixedRC = rc, true
	}
	if v := output.FLBPluginConfigKey(plugin, "sleep_us"); v != "" {
		us, err := strconv.Atoi(v)
		if err != nil {
			line["error"] = fmt.Sprintf("sleep_us %q: %v", v, err)
			record(line)
			return output.FLB_ERROR
		}
		ins.sleep = time.Duration(us) * time.Microsecond
	}
	if v := output.FLBPluginConfigKey(plugin, "leak_bytes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			line["error"] = fmt.Sprintf("leak_bytes %q: %v", v, err)
			record(line)
			return output.FLB_ERROR
		}
		ins.leakBytes = n
	}
	ins.retryFirst = output.FLBPluginConfigKey(plugin, "retry_first") == "true"
	ins.scribble = output.FLBPluginConfigKey(plugin, "scribble") == "true"
	ins.lookup = output.FLBPluginConfigKey(plugin, "lookup_in_flush")
	ins.plugin = plugin

	if output.FLBPluginConfigKey(plugin, "fail_init") == "true" {
		line["result"] = "fail"
		record(line)
		return output.FLB_ERROR
	}
	output.FLBPluginSetContext(plugin, ins)
	line["result"] = "ok"
	record(line)
	return output.FLB_OK
}

//export FLBPluginOutputPreRun
func FLBPluginOutputPreRun(enableHotReload C.int) C.int {
	record(map[string]any{"call": "pre_run", "hot": int(enableHotReload)})
	return 0
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	ins, ok := output.FLBPluginGetContext(ctx).(*instance)
	if !ok {
		record(map[string]any{"call": "flush", "error": "no context"})
		return output.FLB_ERROR
	}
	buf := C.GoBytes(data, length)
	sum := sha256.Sum256(buf)
	hash := hex.EncodeToString(sum[:])
	objects, complete := countObjects(buf)

	rc := output.FLB_OK
	if ins.fixedRC {
		rc = ins.rc
	} else if _, seen := ins.seen.LoadOrStore(hash, struct{}{}); ins.retryFirst && !seen {
		rc = output.FLB_RETRY
	}
	if ins.scribble && length > 0 {
		*(*byte)(data) ^= 0xff
	}
	if ins.leakBytes > 0 {
		_ = C.malloc(C.size_t(ins.leakBytes))
	}
	if ins.sleep > 0 {
		time.Sleep(ins.sleep)
	}
	line := map[string]any{
		"call": "flush", "id": ins.id, "tag": C.GoString(tag), "sha256": hash, "size": int(length),
		"objects": objects, "complete": complete, "tid": syscall.Gettid(), "n": ins.flushes.Add(1), "rc": rc,
	}
	if ins.lookup != "" {
		line["lookup"] = output.FLBPluginConfigKey(ins.plugin, ins.lookup)
	}
	record(line)
	return rc
}

// countObjects counts the top-level msgpack objects of a chunk; complete is
// false when the chunk ends inside an object.
func countObjects(b []byte) (n int, complete bool) {
	for len(b) > 0 {
		rest, err := msgp.Skip(b)
		if err != nil {
			return n, false
		}
		b = rest
		n++
	}
	return n, true
}

//export FLBPluginOutputPreExit
func FLBPluginOutputPreExit(byHotReload C.int) {
	record(map[string]any{"call": "pre_exit", "hot": int(byHotReload)})
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	line := map[string]any{"call": "exit_ctx", "id": nil}
	if ins, ok := output.FLBPluginGetContext(ctx).(*instance); ok {
		line["id"] = ins.id
		line["flushes"] = ins.flushes.Load()
	}
	record(line)
	return output.FLB_OK
}

// FLBPluginExit must never run: the host calls ExitCtx when it exists (§2).
//
//export FLBPluginExit
func FLBPluginExit() int {
	record(map[string]any{"call": "exit"})
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	record(map[string]any{"call": "unregister"})
	output.FLBPluginUnregister(def)
}

func main() {}
