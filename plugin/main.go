// Command plugin is the siemscore Fluent Bit output plugin. Build it with
//
//	go build -buildmode=c-shared -o out_siemscore.so ./plugin
//
// and load it with `fluent-bit -e out_siemscore.so` (never name it flb-*.so: Fluent Bit loads
// those as C plugins). The exported functions below are the only cgo in the plugin: they convert
// C types and hand over to package entry, which keeps the instance registry and guarantees that
// no panic reaches Fluent Bit.
package main

import "C"

import (
	"os"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/entry"
	"github.com/siemscore/siemscore/plugin/flblog"
	"github.com/siemscore/siemscore/plugin/pipeline"
)

// entry has its own copies of Fluent Bit's return codes so that it builds without cgo. A
// mismatch makes one of these array lengths negative and fails the build.
var (
	_ [entry.FLBError - output.FLB_ERROR]struct{}
	_ [output.FLB_ERROR - entry.FLBError]struct{}
	_ [entry.FLBOK - output.FLB_OK]struct{}
	_ [output.FLB_OK - entry.FLBOK]struct{}
	_ [entry.FLBRetry - output.FLB_RETRY]struct{}
	_ [output.FLB_RETRY - entry.FLBRetry]struct{}
)

var plugin = entry.New(func(cfg config.Config, log hclog.Logger) (entry.Instance, error) {
	return pipeline.Open(cfg, log)
}, os.Stderr)

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc int) {
	defer plugin.Recover("register", &rc, -1)
	return output.FLBPluginRegister(def, flblog.Plugin, "CloudTrail, GuardDuty and Zeek Kerberos to ECS, scored, into Elasticsearch")
}

// FLBPluginInit runs once per [OUTPUT] instance, before the engine starts; a non-OK return stops
// Fluent Bit with the logged reasons.
//
//export FLBPluginInit
func FLBPluginInit(ptr unsafe.Pointer) int {
	h, rc := plugin.Init(properties{ptr})
	if rc == entry.FLBOK {
		output.FLBPluginSetContext(ptr, h)
	}
	return rc
}

// properties reads this instance's properties; valid only during FLBPluginInit, which is when
// Fluent Bit points the plugin structure at the instance being started.
type properties struct{ ptr unsafe.Pointer }

func (p properties) Get(key string) string { return output.FLBPluginConfigKey(p.ptr, key) }

// FLBPluginFlushCtx may run on several Fluent Bit worker threads at once, for one or several
// instances. data is valid only during the call.
//
//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	return plugin.Flush(output.FLBPluginGetContext(ctx), data, int(length), func() string { return C.GoString(tag) })
}

// FLBPluginExitCtx runs once per instance at shutdown, after Fluent Bit stopped flushing to it;
// also with a nil or unknown context for instances that never started.
//
//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	return plugin.Exit(output.FLBPluginGetContext(ctx))
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	rc := 0
	defer plugin.Recover("unregister", &rc, -1)
	output.FLBPluginUnregister(def)
}

func main() {}
