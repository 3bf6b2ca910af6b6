package guardduty_test

import (
	"encoding/json"
	"testing"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/guardduty"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// FuzzGuardDuty feeds findings (raw or in an EventBridge envelope) to Parse and to a router
// fixed to GuardDuty. Invariants: no panic, at least one record, valid JSON documents.
func FuzzGuardDuty(f *testing.F) {
	for _, b := range realdatatest.Seeds(f, realdatatest.GuardDutyRuleTests, realdatatest.GuardDutyFindings) {
		js, err := json.Marshal(realdatatest.Event(b))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js, uint8(0))
		f.Add([]byte(`{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":`+string(js)+`}`), fuzzbody.Ints)
	}
	p, err := processors.New(processors.Options{Type: "guardduty", PreserveOriginal: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		fuzzbody.CheckParser(t, p, new(guardduty.Parser).Parse, data, mode)
	})
}
