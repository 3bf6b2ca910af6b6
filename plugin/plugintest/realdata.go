package plugintest

import (
	"fmt"

	"github.com/siemscore/siemscore/internal/realdata"
	"github.com/siemscore/siemscore/processors"
)

// realSets are the shared data sets and the kind every record of each must become.
var realSets = []struct {
	globs []string
	kind  processors.Kind
}{
	{realdata.CloudTrailRuleTests, processors.KindCloudTrail},
	{realdata.CloudTrailScenarios, processors.KindCloudTrail},
	{realdata.GuardDutyRuleTests, processors.KindGuardDuty},
	{realdata.GuardDutyFindings, processors.KindGuardDuty},
	{realdata.KerberosJSON, processors.KindKerberos},
	{realdata.KerberosTSV, processors.KindKerberos},
}

// ErrNoRealData means the shared data folder is absent; tests skip on it.
var ErrNoRealData = realdata.ErrAbsent

// RealBodies reads every record of the shared real data sets (../shared/data from the module
// root), JSON lines and Zeek TSV alike, as Fluent Bit would hand them over after a JSON or Zeek
// parser.
func RealBodies() ([]Body, error) {
	var out []Body
	for _, set := range realSets {
		bodies, err := realdata.Read(set.globs)
		if err != nil {
			return nil, fmt.Errorf("plugintest: %w", err)
		}
		for _, b := range bodies {
			out = append(out, Body{Kind: set.kind, Map: b.Map})
		}
	}
	return out, nil
}
