package cloudtrail_test

import (
	"encoding/json"
	"testing"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/cloudtrail"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// FuzzCloudTrail feeds JSON events, in the forms either decoder produces (mode, see
// fuzzbody), to Parse and to a router fixed to CloudTrail. Invariants: no panic, at least one
// record, every document encodes to valid JSON.
func FuzzCloudTrail(f *testing.F) {
	for _, b := range realdatatest.Seeds(f, realdatatest.CloudTrailRuleTests, realdatatest.CloudTrailScenarios) {
		js, err := json.Marshal(realdatatest.Event(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js, uint8(0))
		f.Add(js, fuzzbody.Ints|fuzzbody.Bytes)
	}
	p, err := processors.New(processors.Options{Type: "cloudtrail", PreserveOriginal: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		fuzzbody.CheckParser(t, p, new(cloudtrail.Parser).Parse, data, mode)
	})
}
