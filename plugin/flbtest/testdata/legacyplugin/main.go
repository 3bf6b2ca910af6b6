// Command legacyplugin is a Fluent Bit Go output plugin in the pre-FlushCtx
// style: it exports FLBPluginFlush and FLBPluginExit only, never sets a
// context, and appends one JSON line per call to $ECHOPLUGIN_LOG. flbhost's
// self-test uses it to check the fallback paths (ABI §2).
package main

import "C"

import (
	"crypto/sha256"
	"encoding/hex"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/siemscore/siemscore/plugin/flbtest/testdata/echolog"
)

func record(fields map[string]any) { echolog.Record("legacyplugin", fields) }

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, "legacy", "flbhost self-test output without contexts")
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	record(map[string]any{"call": "init", "id": output.FLBPluginConfigKey(plugin, "id")})
	return output.FLB_OK
}

//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) int {
	sum := sha256.Sum256(C.GoBytes(data, length))
	record(map[string]any{"call": "flush", "tag": C.GoString(tag), "sha256": hex.EncodeToString(sum[:])})
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int {
	record(map[string]any{"call": "exit"})
	return output.FLB_OK
}

func main() {}
