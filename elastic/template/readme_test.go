package template

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEDocumentsEveryScoreField keeps the field table of the top-level README.md in step
// with the mapping: every siemscore.* and event.risk_score* field the plugin maps has a row with
// its Elasticsearch type, and the table names no field the mapping lacks.
func TestREADMEDocumentsEveryScoreField(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:siemscore|event\\.risk_score)[a-z_.]*)` \\| ([a-z_]+) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = m[2]
	}
	mappings := loadMappings(t, logsMappings)
	mapped := map[string]bool{}
	for _, p := range mappedLeaves(mappings, "") {
		if !strings.HasPrefix(p, "siemscore.") && !strings.HasPrefix(p, "event.risk_score") {
			continue
		}
		mapped[p] = true
		f, _ := mappedField(mappings, p)
		switch typ, ok := documented[p]; {
		case !ok:
			t.Errorf("README.md has no row for %s", p)
		case typ != f["type"]:
			t.Errorf("README.md gives %s the type %s, the mapping %v", p, typ, f["type"])
		}
	}
	for p := range documented {
		if !mapped[p] {
			t.Errorf("README.md documents %s, which the mapping lacks", p)
		}
	}
}
