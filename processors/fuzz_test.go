package processors_test

import (
	"encoding/json"
	"testing"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// FuzzProcess feeds JSON bytes to the router in auto mode, both decoded into a body (in the
// forms either decoder produces, see fuzzbody) and as the text of a Fluent Bit `log` key, so
// that detection, every unwrapping path (event key, EventBridge, Records) and the pipeline
// error paths all see arbitrary input. Invariants: no panic, at least one record per body,
// every document encodes to valid JSON.
func FuzzProcess(f *testing.F) {
	for _, b := range realdatatest.Seeds(f, realdatatest.CloudTrailRuleTests, realdatatest.GuardDutyFindings, realdatatest.KerberosJSON) {
		js, err := json.Marshal(b.Map)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js, fuzzbody.Ints)
	}
	p, err := processors.New(processors.Options{PreserveOriginal: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		fuzzbody.CheckRecords(t, p.Append(nil, map[string]any{"log": string(data), "stream": "stdout"}, fallback))
		v, err := fuzzbody.Decode(data, mode)
		if err != nil {
			return
		}
		if m, ok := v.(map[string]any); ok {
			fuzzbody.CheckRecords(t, p.Append(nil, m, fallback))
		}
	})
}
