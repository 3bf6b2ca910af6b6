package plugintest

import (
	"fmt"

	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// realSets are the shared data sets and the kind every record of each must become.
var realSets = []struct {
	globs []string
	kind  ecs.Kind
}{
	{realdatatest.CloudTrailRuleTests, ecs.KindCloudTrail},
	{realdatatest.CloudTrailScenarios, ecs.KindCloudTrail},
	{realdatatest.GuardDutyRuleTests, ecs.KindGuardDuty},
	{realdatatest.GuardDutyFindings, ecs.KindGuardDuty},
	{realdatatest.KerberosJSON, ecs.KindKerberos},
	{realdatatest.KerberosTSV, ecs.KindKerberos},
}

// ErrNoRealData means the shared data folder is absent; tests skip on it.
var ErrNoRealData = realdatatest.ErrAbsent

// RealBodies reads every record of the shared real data sets (../shared/data from the module
// root), JSON lines and Zeek TSV alike, as Fluent Bit would hand them over after a JSON or Zeek
// parser.
func RealBodies() ([]Body, error) {
	var out []Body
	for _, set := range realSets {
		bodies, err := realdatatest.Read(set.globs)
		if err != nil {
			return nil, fmt.Errorf("plugintest: %w", err)
		}
		for _, b := range bodies {
			out = append(out, Body{Kind: set.kind, Map: b.Map})
		}
	}
	return out, nil
}
