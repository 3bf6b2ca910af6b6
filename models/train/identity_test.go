package train_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/models/train"
)

// An automated role whose session name is new every run (an EC2 instance profile, an ECS
// task) is found automated: parsed from CloudTrail, its calls count as the role. Keyed by
// session instead (--api-session-keys), as every periodicity model was before the identity
// rule, the same calls are one short pair per session, and none is judged automated.
func TestAutomatedRoleWithANewSessionEveryDay(t *testing.T) {
	cfg := apicalls.DefaultConfig(5)
	cfg.Days, cfg.CronRoles, cfg.Humans, cfg.Burst = 56, 8, 4, apicalls.Burst{}
	ds, err := apicalls.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := ds.WriteCloudTrail(&text); err != nil {
		t.Fatal(err)
	}
	var renewing []apicalls.Principal
	for _, p := range ds.Principals {
		if p.Renews {
			renewing = append(renewing, p)
		}
	}
	if len(renewing) == 0 {
		t.Fatal("no role renews its session")
	}
	for _, sessions := range []bool{false, true} {
		col := train.NewCollector()
		col.SessionKeys(sessions)
		process(t, text.Bytes(), col.Add)
		tc := fastConfig()
		tc.Models, tc.Periodicity.SessionKeys = []string{train.ModelPeriodicity}, sessions
		res, err := train.Train(context.Background(), col.Data(), tc)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Periodicity
		for _, p := range renewing {
			if !sessions {
				for _, api := range p.APIs {
					if s, ok := m.Lookup(p.Key, api); !ok || !s.Automated() {
						t.Errorf("by role: %s %s not found automated (%+v, known %v)", p.Key, api, s, ok)
					}
				}
				continue
			}
			role := p.ARN[:strings.LastIndexByte(p.ARN, '/')+1]
			pairs := 0
			for i := range m.Len() {
				if s := m.Stats(i); strings.HasPrefix(s.Principal, role) {
					pairs++
					if s.Automated() {
						t.Errorf("by session: %s %s judged automated", s.Principal, s.API)
					}
				}
			}
			if pairs < 2*len(p.APIs) {
				t.Errorf("by session: %s has %d pairs, want one per API and session (%d APIs)", p.Key, pairs, len(p.APIs))
			}
		}
	}
}
