package realdatatest

import (
	"errors"
	"testing"
)

func TestReadEverySet(t *testing.T) {
	if Dir() == "" {
		if _, err := Read(KerberosTSV); !errors.Is(err, ErrAbsent) {
			t.Fatalf("no data folder, but Read says %v", err)
		}
		t.Skip(ErrAbsent)
	}
	for name, set := range map[string][]string{
		"CloudTrailRuleTests": CloudTrailRuleTests, "CloudTrailScenarios": CloudTrailScenarios,
		"GuardDutyRuleTests": GuardDutyRuleTests, "GuardDutyFindings": GuardDutyFindings,
		"KerberosJSON": KerberosJSON, "KerberosTSV": KerberosTSV,
	} {
		bodies, err := Read(set)
		if err != nil || len(bodies) == 0 {
			t.Errorf("%s: %d records, %v", name, len(bodies), err)
			continue
		}
		if b := bodies[0]; b.File == "" || b.Line < 1 || len(b.Map) == 0 {
			t.Errorf("%s: first record %+v has no place or fields", name, b)
		}
	}
	if _, err := Read([]string{"no/such/*.jsonl"}); err == nil {
		t.Error("a glob matching no file is not an error")
	}
}
