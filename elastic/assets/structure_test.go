package assets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

func content(t *testing.T, name string) []byte {
	t.Helper()
	a, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.Content()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ndjsonLines parses NDJSON strictly: every line one JSON object, no blank lines, a final newline.
func ndjsonLines(t *testing.T, b []byte) []json.RawMessage {
	t.Helper()
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatal("NDJSON must end with a newline")
	}
	var out []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v", n, err)
		}
		if bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("line %d spans lines", n)
		}
		out = append(out, append(json.RawMessage(nil), line...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// siemscoreKinds are the record kinds that have data streams the artifacts read.
var siemscoreKinds = []ecs.Kind{ecs.KindCloudTrail, ecs.KindGuardDuty, ecs.KindKerberos}

// checkIndexPattern fails unless the patterns (each may be a comma-separated list) together
// match the data streams of the given kinds as the plugin names them (elastic/target) in both
// landings, siemscore's own and the integrations', in any namespace, and each pattern matches
// one of them.
func checkIndexPattern(t *testing.T, where string, patterns []string, kinds ...ecs.Kind) {
	t.Helper()
	var list []string
	for _, p := range patterns {
		list = append(list, strings.Split(p, ",")...)
	}
	used := map[string]bool{}
	for _, l := range []target.Landing{target.LandingSiemscore, target.LandingIntegration} {
		for _, k := range kinds {
			for _, ns := range []string{target.DefaultNamespace, "prod"} {
				ds := l.DataStream(k.String(), ns)
				matched := false
				for _, p := range list {
					if ok, err := path.Match(p, ds); err == nil && ok {
						matched, used[p] = true, true
					}
				}
				if !matched {
					t.Errorf("%s: no index pattern of %q matches data stream %s", where, list, ds)
				}
			}
		}
	}
	for _, p := range list {
		if !used[p] {
			t.Errorf("%s: index pattern %q matches none of the data streams", where, p)
		}
	}
}

func TestCatalogue(t *testing.T) {
	used := map[string]bool{}
	names := map[string]bool{}
	for _, a := range List() {
		if names[a.Name] {
			t.Errorf("duplicate artifact name %q", a.Name)
		}
		names[a.Name] = true
		if a.Title == "" || a.Licence == "" || a.FileName == "" || a.Target == "" || a.Kind == "" {
			t.Errorf("%s: incomplete: %+v", a.Name, a)
		}
		ndjson := a.Kind == KindSavedObjects || a.Kind == KindDetectionRules
		if ndjson != strings.HasSuffix(a.FileName, ".ndjson") {
			t.Errorf("%s: file name %q: Kibana's import APIs take .ndjson files, and only they are NDJSON", a.Name, a.FileName)
		}
		if (a.Kind == KindAlertingRule || a.Kind == KindWatch) != (a.ID != "") {
			t.Errorf("%s: ID %q: the rule and the watch need one, the others carry their own", a.Name, a.ID)
		}
		for _, f := range a.files {
			used[f] = true
		}
		b, err := a.Content()
		if err != nil || len(b) == 0 {
			t.Errorf("%s: content: %v", a.Name, err)
		}
		var out bytes.Buffer
		if err := Print(&out, a); err != nil || !bytes.Equal(out.Bytes(), b) {
			t.Errorf("%s: Print of one artifact must be its content as is (%v)", a.Name, err)
		}
	}
	fs.WalkDir(embedded, "files", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !used[strings.TrimPrefix(p, "files/")] {
			t.Errorf("embedded file %s belongs to no artifact", p)
		}
		return err
	})
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "kibana-dashboard") {
		t.Errorf("Lookup of an unknown name must list the known ones: %v", err)
	}
	if _, err := (Artifact{Name: "x"}).Content(); err == nil {
		t.Error("an uncatalogued artifact has no content")
	}

	var all bytes.Buffer
	if err := Print(&all, List()...); err != nil {
		t.Fatal(err)
	}
	for _, a := range List() {
		if !strings.Contains(all.String(), "# "+a.Name+": ") {
			t.Errorf("printing all: no header for %s", a.Name)
		}
	}
	dir := t.TempDir()
	paths, err := WriteFiles(dir, List()...)
	if err != nil || len(paths) != len(List()) {
		t.Fatalf("WriteFiles: %v %v", paths, err)
	}
	for i, a := range List() {
		got, err := os.ReadFile(paths[i])
		want, _ := a.Content()
		if err != nil || !bytes.Equal(got, want) || filepath.Base(paths[i]) != a.FileName {
			t.Errorf("WriteFiles %s: %s differs (%v)", a.Name, paths[i], err)
		}
	}
}

type savedObject struct {
	ID                   string          `json:"id"`
	Type                 string          `json:"type"`
	CoreMigrationVersion string          `json:"coreMigrationVersion"`
	TypeMigrationVersion string          `json:"typeMigrationVersion"`
	Attributes           json.RawMessage `json:"attributes"`
	References           []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"references"`
}

// newestMigration is the latest typeMigrationVersion Kibana 8.11, the oldest Kibana these
// objects support, knows per type: an object stamped newer is refused on import.
var newestMigration = map[string]string{"index-pattern": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}

func versionLE(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return true
}

func savedObjects(t *testing.T, name string) []savedObject {
	t.Helper()
	var out []savedObject
	for i, line := range ndjsonLines(t, content(t, name)) {
		var so savedObject
		if err := json.Unmarshal(line, &so); err != nil {
			t.Fatalf("%s line %d: %v", name, i+1, err)
		}
		out = append(out, so)
	}
	return out
}

// jsonStringAttrs are the attributes Kibana stores as JSON text inside the saved object.
var jsonStringAttrs = map[string][]string{
	"index-pattern": {"fields", "fieldFormatMap", "fieldAttrs", "runtimeFieldMap", "sourceFilters", "typeMeta"},
	"dashboard":     {"optionsJSON", "panelsJSON"},
}

func TestSavedObjects(t *testing.T) {
	for _, a := range List() {
		if a.Kind != KindSavedObjects {
			continue
		}
		t.Run(a.Name, func(t *testing.T) {
			objs := savedObjects(t, a.Name)
			byKey := map[string]savedObject{}
			for _, so := range objs {
				key := so.Type + "/" + so.ID
				if so.ID == "" || so.Type == "" || len(so.Attributes) == 0 || so.References == nil {
					t.Errorf("%s: needs id, type, attributes and references", key)
				}
				if _, dup := byKey[key]; dup {
					t.Errorf("%s appears twice", key)
				}
				byKey[key] = so
				newest, known := newestMigration[so.Type]
				if !known {
					t.Errorf("%s: type %q is not one this package ships", key, so.Type)
				}
				if so.CoreMigrationVersion != "8.8.0" || so.TypeMigrationVersion == "" || !versionLE(so.TypeMigrationVersion, newest) {
					t.Errorf("%s: migration versions %q/%q: Kibana 8.11 accepts core 8.8.0 and type at most %s",
						key, so.CoreMigrationVersion, so.TypeMigrationVersion, newest)
				}
				var attrs map[string]any
				if err := json.Unmarshal(so.Attributes, &attrs); err != nil {
					t.Fatalf("%s: attributes: %v", key, err)
				}
				if title, _ := attrs["title"].(string); title == "" {
					t.Errorf("%s: no title", key)
				}
				for _, k := range jsonStringAttrs[so.Type] {
					s, ok := attrs[k].(string)
					var v any
					if !ok || json.Unmarshal([]byte(s), &v) != nil {
						t.Errorf("%s: attribute %s must be a string holding JSON, got %v", key, k, attrs[k])
					}
				}
				if meta, ok := attrs["kibanaSavedObjectMeta"].(map[string]any); ok {
					var v map[string]any
					if s, _ := meta["searchSourceJSON"].(string); json.Unmarshal([]byte(s), &v) != nil {
						t.Errorf("%s: searchSourceJSON is not JSON: %q", key, meta["searchSourceJSON"])
					}
				}
			}
			for _, so := range objs {
				for _, ref := range so.References {
					if _, ok := byKey[ref.Type+"/"+ref.ID]; !ok {
						t.Errorf("%s/%s: reference %q to %s/%s does not resolve within the file", so.Type, so.ID, ref.Name, ref.Type, ref.ID)
					}
				}
			}
			if a.Name == "kibana-dashboard" {
				checkDashboard(t, objs, byKey)
			}
		})
	}
}

func TestDataView(t *testing.T) {
	objs := savedObjects(t, "kibana-data-view")
	if len(objs) != 1 || objs[0].Type != "index-pattern" || objs[0].ID != "siemscore-logs" {
		t.Fatalf("the data view artifact must hold the data view alone, with its fixed id: %+v", objs)
	}
	var attrs struct {
		Title, TimeFieldName string
		FieldFormatMap       string `json:"fieldFormatMap"`
		FieldAttrs           string `json:"fieldAttrs"`
	}
	json.Unmarshal(objs[0].Attributes, &attrs)
	want := target.Pattern
	for _, ds := range []string{"aws.cloudtrail", "aws.guardduty", "zeek.kerberos"} {
		want += "," + target.IntegrationPattern(ds)
	}
	if attrs.Title != want || attrs.TimeFieldName != "@timestamp" {
		t.Errorf("data view %q on %q: want %q on @timestamp", attrs.Title, attrs.TimeFieldName, want)
	}
	checkIndexPattern(t, "data view", []string{attrs.Title}, siemscoreKinds...)
	var uses []fieldUse
	uses = append(uses, fieldUse{attrs.TimeFieldName, useDate, "data view time field"})
	for _, s := range []string{attrs.FieldFormatMap, attrs.FieldAttrs} {
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		for f := range m {
			uses = append(uses, fieldUse{f, useAny, "data view field settings"})
		}
	}
	checkFields(t, uses)
	dashboard := savedObjects(t, "kibana-dashboard")
	if string(dashboard[0].Attributes) != string(objs[0].Attributes) {
		t.Error("the dashboard must carry the same data view")
	}
}

type dashboardPanel struct {
	Type     string `json:"type"`
	GridData struct {
		X, Y, W, H int
		I          string
	} `json:"gridData"`
	PanelIndex   string `json:"panelIndex"`
	PanelRefName string `json:"panelRefName"`
}

func checkDashboard(t *testing.T, objs []savedObject, byKey map[string]savedObject) {
	var dash *savedObject
	lensIDs := map[string]bool{}
	for i := range objs {
		switch objs[i].Type {
		case "dashboard":
			dash = &objs[i]
		case "lens":
			lensIDs[objs[i].ID] = true
			checkLens(t, objs[i])
		}
	}
	if dash == nil {
		t.Fatal("no dashboard object")
	}
	var attrs struct {
		PanelsJSON  string `json:"panelsJSON"`
		TimeRestore bool   `json:"timeRestore"`
		TimeFrom    string `json:"timeFrom"`
		Description string `json:"description"`
	}
	json.Unmarshal(dash.Attributes, &attrs)
	var panels []dashboardPanel
	if err := json.Unmarshal([]byte(attrs.PanelsJSON), &panels); err != nil {
		t.Fatal(err)
	}
	if !attrs.TimeRestore || attrs.TimeFrom == "" || attrs.Description == "" {
		t.Errorf("dashboard: restore a time range and describe it: %+v", attrs)
	}
	refs := map[string]string{}
	for _, r := range dash.References {
		refs[r.Name] = r.Type + "/" + r.ID
	}
	var cells [][2]int
	for _, p := range panels {
		// Kibana 8.x resolves panelRefName among the references prefixed "<panelIndex>:".
		ref, ok := refs[p.PanelIndex+":"+p.PanelRefName]
		if !ok || p.PanelIndex == "" || p.GridData.I != p.PanelIndex {
			t.Errorf("panel %q: no reference %q or bad grid id", p.PanelIndex, p.PanelIndex+":"+p.PanelRefName)
			continue
		}
		id, isLens := strings.CutPrefix(ref, "lens/")
		if p.Type != "lens" || !isLens || !lensIDs[id] {
			t.Errorf("panel %q (%s): reference %s is not a lens object in the file, or is on two panels", p.PanelIndex, p.Type, ref)
		}
		delete(lensIDs, id)
		g := p.GridData
		if g.X < 0 || g.W < 1 || g.X+g.W > 48 || g.Y < 0 || g.H < 1 {
			t.Errorf("panel %q: grid %+v outside the 48-column grid", p.PanelIndex, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if slices.Contains(cells, [2]int{x, y}) {
					t.Errorf("panel %q overlaps another at %d,%d", p.PanelIndex, x, y)
					x, y = g.X+g.W, g.Y+g.H
				}
				cells = append(cells, [2]int{x, y})
			}
		}
	}
	if len(lensIDs) > 0 {
		t.Errorf("lens objects on no panel: %v", lensIDs)
	}
	if len(refs) != len(panels) {
		t.Errorf("dashboard has %d references for %d panels", len(refs), len(panels))
	}
}

// checkLens validates one Lens object: layers, references, the visualization's column IDs,
// and every field each column and query uses against the mapping.
func checkLens(t *testing.T, so savedObject) {
	t.Helper()
	where := "lens " + so.ID
	var attrs lensAttributes
	if err := json.Unmarshal(so.Attributes, &attrs); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if attrs.Description == "" {
		t.Errorf("%s: describe what the panel shows", where)
	}
	refs := map[string]bool{}
	for _, r := range so.References {
		if r.Type == "index-pattern" && r.ID == "siemscore-logs" {
			refs[r.Name] = true
		}
	}
	var vis lensVisualization
	if err := json.Unmarshal(attrs.State.Visualization, &vis); err != nil {
		t.Fatalf("%s: visualization: %v", where, err)
	}
	shown, err := vis.accessors(attrs.VisualizationType)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var uses []fieldUse
	uses = append(uses, luceneFields(attrs.State.Query.Query, where+" query")...)
	if q := attrs.State.Query; q.Query != "" && q.Language != "lucene" {
		t.Errorf("%s: query language %q: use lucene so tests can run the query", where, q.Language)
	}
	layers := attrs.State.DatasourceStates.FormBased.Layers
	if len(layers) == 0 {
		t.Fatalf("%s: no formBased layers", where)
	}
	for id, layer := range layers {
		if !refs["indexpattern-datasource-layer-"+id] {
			t.Errorf("%s: layer %s has no data view reference", where, id)
		}
		ids, ok := shown[id]
		if !ok {
			t.Errorf("%s: layer %s is not in the visualization", where, id)
		}
		if len(layer.ColumnOrder) != len(layer.Columns) {
			t.Errorf("%s: layer %s: columnOrder %v does not list the %d columns", where, id, layer.ColumnOrder, len(layer.Columns))
		}
		for _, cid := range layer.ColumnOrder {
			c, ok := layer.Columns[cid]
			if !ok {
				t.Errorf("%s: column %s in columnOrder but not defined", where, cid)
				continue
			}
			if !slices.Contains(ids, cid) {
				t.Errorf("%s: column %s is not shown by the visualization", where, cid)
			}
			if c.IsBucketed != (c.OperationType == "terms" || c.OperationType == "date_histogram") {
				t.Errorf("%s: column %s: isBucketed %v for %s", where, cid, c.IsBucketed, c.OperationType)
			}
			if c.OperationType == "terms" && c.Params.OrderBy.Type == "column" {
				if by, ok := layer.Columns[c.Params.OrderBy.ColumnID]; !ok || by.IsBucketed {
					t.Errorf("%s: column %s is ordered by %q, not a metric of the layer", where, cid, c.Params.OrderBy.ColumnID)
				}
			}
			if c.Filter != nil && c.Filter.Language != "lucene" {
				t.Errorf("%s: column %s filter language %q: use lucene", where, cid, c.Filter.Language)
			}
			uses = append(uses, c.fieldUses(where+" column "+cid)...)
		}
		for _, cid := range ids {
			if _, ok := layer.Columns[cid]; !ok {
				t.Errorf("%s: the visualization shows %s, which layer %s lacks", where, cid, id)
			}
		}
	}
	for id := range refs {
		if _, ok := layers[strings.TrimPrefix(id, "indexpattern-datasource-layer-")]; !ok {
			t.Errorf("%s: reference %s names no layer", where, id)
		}
	}
	checkFields(t, uses)
}

func TestAlertingRule(t *testing.T) {
	a, _ := Lookup("kibana-rule")
	var rule struct {
		Name       string `json:"name"`
		RuleTypeID string `json:"rule_type_id"`
		Consumer   string `json:"consumer"`
		Schedule   struct{ Interval string }
		Params     map[string]any `json:"params"`
		Actions    []any          `json:"actions"`
	}
	raw := content(t, a.Name)
	if err := json.Unmarshal(raw, &rule); err != nil {
		t.Fatal(err)
	}
	if rule.Name == "" || rule.RuleTypeID != ".es-query" || rule.Consumer == "" || rule.Actions == nil {
		t.Errorf("rule: %+v", rule)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a.ID) {
		t.Errorf("rule ID %q: Kibana before 8.17 takes only v1/v4 UUIDs", a.ID)
	}
	// Kibana 8.11's EsQueryRuleParamsSchema: any other key is refused.
	allowed := []string{"size", "timeWindowSize", "timeWindowUnit", "excludeHitsFromPreviousRun", "threshold", "thresholdComparator",
		"aggType", "aggField", "groupBy", "termField", "termSize", "searchType", "timeField", "esQuery", "index"}
	for k := range rule.Params {
		if !slices.Contains(allowed, k) {
			t.Errorf("params.%s is not in Kibana 8.11's .es-query schema", k)
		}
	}
	p := rule.Params
	if p["searchType"] != "esQuery" || p["aggType"] != "count" || !slices.Contains([]any{">", ">=", "<", "<="}, p["thresholdComparator"]) {
		t.Errorf("params: %v", p)
	}
	if th, _ := p["threshold"].([]any); len(th) != 1 {
		t.Errorf("threshold %v: one value for a single comparator", p["threshold"])
	}
	var q map[string]any
	if err := json.Unmarshal([]byte(p["esQuery"].(string)), &q); err != nil || q["query"] == nil {
		t.Fatalf("esQuery must be a JSON string with a top-level query: %v", err)
	}
	uses := dslFields(q, "esQuery")
	uses = append(uses, fieldUse{p["timeField"].(string), useDate, "timeField"})
	checkFields(t, uses)
	var indices []string
	for _, idx := range p["index"].([]any) {
		indices = append(indices, idx.(string))
	}
	checkIndexPattern(t, "index", indices, siemscoreKinds...)
	window := durationOf(t, strconv.Itoa(int(p["timeWindowSize"].(float64)))+p["timeWindowUnit"].(string))
	if interval := durationOf(t, rule.Schedule.Interval); window < interval {
		t.Errorf("time window %s shorter than the schedule %s leaves events unseen", window, interval)
	}
}

// durationOf parses Elastic's interval notation (5m, 1h, 30s, 1d).
func durationOf(t *testing.T, s string) time.Duration {
	t.Helper()
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil {
			t.Fatalf("interval %q: %v", s, err)
		}
		return time.Duration(n) * 24 * time.Hour
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("interval %q: %v", s, err)
	}
	return d
}

type detectionRule struct {
	RuleID           string   `json:"rule_id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Type             string   `json:"type"`
	Index            []string `json:"index"`
	Language         string   `json:"language"`
	Query            string   `json:"query"`
	Interval         string   `json:"interval"`
	From             string   `json:"from"`
	To               string   `json:"to"`
	RiskScore        int      `json:"risk_score"`
	Severity         string   `json:"severity"`
	RiskScoreMapping []struct {
		Field, Operator, Value string
	} `json:"risk_score_mapping"`
	SeverityMapping []struct {
		Field, Operator, Value, Severity string
	} `json:"severity_mapping"`
	Threshold *struct {
		Field       []string `json:"field"`
		Value       int      `json:"value"`
		Cardinality []struct {
			Field string `json:"field"`
			Value int    `json:"value"`
		} `json:"cardinality"`
	} `json:"threshold"`
	Note           string `json:"note"`
	Setup          string `json:"setup"`
	RequiredFields []struct {
		Name, Type string
		ECS        bool `json:"ecs"`
	} `json:"required_fields"`
	InvestigationFields struct {
		FieldNames []string `json:"field_names"`
	} `json:"investigation_fields"`
	Threat []struct {
		Framework string `json:"framework"`
		Tactic    struct{ ID, Name, Reference string }
		Technique []struct {
			ID, Name, Reference string
			Subtechnique        []struct{ ID, Name, Reference string }
		}
	} `json:"threat"`
	MaxSignals int  `json:"max_signals"`
	Version    int  `json:"version"`
	Enabled    bool `json:"enabled"`
}

func detectionRules(t *testing.T) []detectionRule {
	t.Helper()
	var out []detectionRule
	for i, line := range ndjsonLines(t, content(t, "security-rules")) {
		var r detectionRule
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("rule %d: %v", i+1, err)
		}
		out = append(out, r)
	}
	return out
}

// ecsFields are the ECS fields the rules use; the rest are siemscore's own (ecs: false).
func isECS(field string) bool { return !strings.HasPrefix(field, "siemscore.") }

// kindsOfIndex returns the record kinds an index pattern reads.
func kindsOfIndex(pattern string) []ecs.Kind {
	var out []ecs.Kind
	for _, k := range siemscoreKinds {
		for _, l := range []target.Landing{target.LandingSiemscore, target.LandingIntegration} {
			if ok, _ := path.Match(pattern, l.DataStream(k.String(), "x")); ok && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

var (
	mitreID   = regexp.MustCompile(`^(TA\d{4}|T\d{4}(\.\d{3})?)$`)
	ruleUUID  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	bandNames = []string{ecs.SeverityCritical, ecs.SeverityMajor, ecs.SeverityMinor, ecs.SeverityWarning, ecs.SeverityLow}
)

func TestDetectionRules(t *testing.T) {
	rules := detectionRules(t)
	types := map[string]int{}
	ids := map[string]bool{}
	types_ := fieldTypes(t)
	for _, r := range rules {
		where := "rule " + r.Name
		types[r.Type]++
		if ids[r.RuleID] || !ruleUUID.MatchString(r.RuleID) {
			t.Errorf("%s: rule_id %q must be a unique UUID", where, r.RuleID)
		}
		ids[r.RuleID] = true
		if r.Name == "" || r.Description == "" || len(r.Note) < 200 || r.Setup == "" || r.Version < 1 || r.MaxSignals < 1 {
			t.Errorf("%s: needs name, description, a triage note, setup, version and max_signals", where)
		}
		if !slices.Contains([]string{"low", "medium", "high", "critical"}, r.Severity) || r.RiskScore < 0 || r.RiskScore > 100 {
			t.Errorf("%s: severity %q / risk %d", where, r.Severity, r.RiskScore)
		}
		if r.Language != "lucene" || r.Query == "" || len(r.Index) == 0 {
			t.Errorf("%s: needs a lucene query and an index", where)
		}
		var kinds []ecs.Kind
		for _, idx := range r.Index {
			kinds = append(kinds, kindsOfIndex(idx)...)
		}
		if len(kinds) == 0 {
			t.Errorf("%s: index %v matches no siemscore data stream", where, r.Index)
		}
		if r.To != "now" || durationOf(t, strings.TrimPrefix(r.From, "now-")) < durationOf(t, r.Interval) {
			t.Errorf("%s: from %q to %q leaves gaps between runs every %s", where, r.From, r.To, r.Interval)
		}
		uses := luceneFields(r.Query, where+" query")
		switch r.Type {
		case "query":
			if len(r.RiskScoreMapping) != 1 || r.RiskScoreMapping[0].Field != "event.risk_score_norm" ||
				r.RiskScoreMapping[0].Operator != "equals" || r.RiskScoreMapping[0].Value != "" {
				t.Errorf("%s: risk_score_mapping must take event.risk_score_norm as is: %+v", where, r.RiskScoreMapping)
			}
			if len(r.SeverityMapping) == 0 {
				t.Errorf("%s: no severity_mapping", where)
			}
			for _, m := range r.SeverityMapping {
				if m.Operator != "equals" || !slices.Contains(bandNames, m.Value) ||
					!slices.Contains([]string{"low", "medium", "high", "critical"}, m.Severity) ||
					!strings.HasPrefix(m.Field, "siemscore.") || !strings.HasSuffix(m.Field, ".severity") {
					t.Errorf("%s: severity_mapping %+v: map a siemscore.*.severity band to a Kibana severity", where, m)
				}
				uses = append(uses, fieldUse{m.Field, useSeverity, where + " severity_mapping"})
			}
			for _, f := range r.InvestigationFields.FieldNames {
				uses = append(uses, fieldUse{f, useAny, where + " investigation_fields"})
			}
		case "threshold":
			th := r.Threshold
			if th == nil || len(th.Field) == 0 || len(th.Field) > 3 || th.Value < 1 {
				t.Fatalf("%s: threshold needs 1-3 fields and a value >= 1: %+v", where, th)
			}
			for _, f := range th.Field {
				uses = append(uses, fieldUse{f, useTerms, where + " threshold.field"})
			}
			for _, c := range th.Cardinality {
				if c.Value < 1 {
					t.Errorf("%s: cardinality %+v", where, c)
				}
				uses = append(uses, fieldUse{c.Field, useUnique, where + " threshold.cardinality"})
			}
			// Threshold alerts hold only the group-by fields: mappings and highlighted fields on
			// anything else would silently stay empty.
			for _, m := range r.RiskScoreMapping {
				if !slices.Contains(th.Field, m.Field) {
					t.Errorf("%s: risk_score_mapping on %s, which a threshold alert does not carry", where, m.Field)
				}
			}
			for _, m := range r.SeverityMapping {
				if !slices.Contains(th.Field, m.Field) {
					t.Errorf("%s: severity_mapping on %s, which a threshold alert does not carry", where, m.Field)
				}
			}
			for _, f := range r.InvestigationFields.FieldNames {
				if !slices.Contains(th.Field, f) {
					t.Errorf("%s: investigation field %s is not grouped on", where, f)
				}
				uses = append(uses, fieldUse{f, useTerms, where + " investigation_fields"})
			}
		default:
			t.Errorf("%s: type %q", where, r.Type)
		}
		if len(r.InvestigationFields.FieldNames) == 0 {
			t.Errorf("%s: no investigation_fields", where)
		}
		// required_fields must name every field the query and mappings rely on, with its type.
		var required []string
		for _, f := range r.RequiredFields {
			required = append(required, f.Name)
			if types_[f.Name] != f.Type || f.ECS != isECS(f.Name) {
				t.Errorf("%s: required field %s declared %s (ecs %v), mapped %q", where, f.Name, f.Type, f.ECS, types_[f.Name])
			}
			uses = append(uses, fieldUse{f.Name, useAny, where + " required_fields"})
		}
		for _, u := range luceneFields(r.Query, "") {
			if !slices.Contains(required, u.field) {
				t.Errorf("%s: query field %s missing from required_fields", where, u.field)
			}
		}
		for _, m := range r.SeverityMapping {
			if !slices.Contains(required, m.Field) {
				t.Errorf("%s: severity_mapping field %s missing from required_fields", where, m.Field)
			}
		}
		for _, th := range r.Threat {
			if th.Framework != "MITRE ATT&CK" || !mitreID.MatchString(th.Tactic.ID) || th.Tactic.Name == "" ||
				th.Tactic.Reference != "https://attack.mitre.org/tactics/"+th.Tactic.ID+"/" || len(th.Technique) == 0 {
				t.Errorf("%s: threat %+v", where, th)
			}
			for _, tq := range th.Technique {
				if !mitreID.MatchString(tq.ID) || tq.Name == "" || tq.Reference != "https://attack.mitre.org/techniques/"+tq.ID+"/" {
					t.Errorf("%s: technique %+v", where, tq)
				}
				for _, st := range tq.Subtechnique {
					if !strings.HasPrefix(st.ID, tq.ID+".") || st.Reference != "https://attack.mitre.org/techniques/"+strings.ReplaceAll(st.ID, ".", "/")+"/" {
						t.Errorf("%s: subtechnique %+v of %s", where, st, tq.ID)
					}
				}
			}
		}
		checkFields(t, uses)
	}
	if types["query"] < 1 || types["threshold"] < 1 {
		t.Errorf("rule types %v: ship at least one query and one threshold rule", types)
	}
}

type watchDef struct {
	Metadata map[string]any `json:"metadata"`
	Trigger  struct {
		Schedule struct{ Interval string }
	}
	Input struct {
		Search struct {
			Request struct {
				Indices            []string       `json:"indices"`
				RestTotalHitsAsInt bool           `json:"rest_total_hits_as_int"`
				Body               map[string]any `json:"body"`
			}
		}
	}
	Condition struct {
		Compare map[string]map[string]any `json:"compare"`
	}
	Actions map[string]map[string]any `json:"actions"`
}

func watch(t *testing.T) watchDef {
	t.Helper()
	var w watchDef
	dec := json.NewDecoder(bytes.NewReader(content(t, "watch")))
	if err := dec.Decode(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

// Keys Elasticsearch's watch parser and WatcherSearchTemplateRequest accept; others are refused.
var (
	watchKeys         = []string{"trigger", "input", "condition", "transform", "actions", "metadata", "throttle_period"}
	watchRequestKeys  = []string{"indices", "body", "search_type", "indices_options", "template", "rest_total_hits_as_int"}
	watchActionLevels = []string{"error", "warn", "info", "debug", "trace"}
)

func TestWatch(t *testing.T) {
	var top map[string]json.RawMessage
	json.Unmarshal(content(t, "watch"), &top)
	for k := range top {
		if !slices.Contains(watchKeys, k) {
			t.Errorf("watch key %q is not one Watcher accepts", k)
		}
	}
	var input struct {
		Search struct {
			Request map[string]json.RawMessage `json:"request"`
		} `json:"search"`
	}
	json.Unmarshal(top["input"], &input)
	for k := range input.Search.Request {
		if !slices.Contains(watchRequestKeys, k) {
			t.Errorf("search request key %q is not one Watcher accepts", k)
		}
	}
	w := watch(t)
	interval := durationOf(t, w.Trigger.Schedule.Interval)
	req := w.Input.Search.Request
	checkIndexPattern(t, "watch indices", req.Indices, siemscoreKinds...)
	if !req.RestTotalHitsAsInt {
		t.Error("the compare condition reads hits.total as a number: set rest_total_hits_as_int")
	}
	checkFields(t, dslFields(req.Body, "watch body"))
	// The search must look back at least one schedule interval.
	var lookback time.Duration
	for _, u := range dslFields(req.Body, "") {
		if u.field == "@timestamp" {
			lookback = rangeLookback(t, req.Body)
		}
	}
	if lookback < interval {
		t.Errorf("watch looks back %s but runs every %s", lookback, interval)
	}
	if len(w.Condition.Compare) != 1 {
		t.Fatalf("condition: %+v", w.Condition)
	}
	for p, cmp := range w.Condition.Compare {
		if !strings.HasPrefix(p, "ctx.payload.") || len(cmp) != 1 {
			t.Errorf("compare %s %v", p, cmp)
		}
		for op := range cmp {
			if !slices.Contains([]string{"eq", "not_eq", "gt", "gte", "lt", "lte"}, op) {
				t.Errorf("compare operator %q", op)
			}
		}
	}
	var logging, index bool
	for name, act := range w.Actions {
		if l, ok := act["logging"].(map[string]any); ok && l["text"] != "" {
			logging = slices.Contains(watchActionLevels, l["level"].(string))
		}
		if ix, ok := act["index"].(map[string]any); ok {
			if err := target.ValidateIndex(ix["index"].(string)); err != nil {
				t.Errorf("action %s: index: %v", name, err)
			}
			index = true
		}
	}
	if !logging || !index {
		t.Errorf("the watch needs a logging and an index action: %v", w.Actions)
	}
}

// rangeLookback returns how far back the @timestamp range of a search body reaches ("now-10m").
func rangeLookback(t *testing.T, body map[string]any) time.Duration {
	t.Helper()
	b, _ := json.Marshal(body)
	m := regexp.MustCompile(`"@timestamp":\{"gte":"now-(\w+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no @timestamp range from now-<duration> in %s", b)
	}
	return durationOf(t, string(m[1]))
}

type elastAlertRule struct {
	Name               string           `yaml:"name"`
	Description        string           `yaml:"description"`
	Type               string           `yaml:"type"`
	Index              string           `yaml:"index"`
	TimestampField     string           `yaml:"timestamp_field"`
	Filter             []map[string]any `yaml:"filter"`
	Include            []string         `yaml:"include"`
	SummaryTableFields []string         `yaml:"summary_table_fields"`
	Aggregation        map[string]int   `yaml:"aggregation"`
	Alert              []string         `yaml:"alert"`
}

func elastAlert(t *testing.T) elastAlertRule {
	t.Helper()
	var r elastAlertRule
	if err := yaml.Unmarshal(content(t, "elastalert-rule"), &r); err != nil {
		t.Fatalf("ElastAlert rule: %v", err)
	}
	return r
}

// elastAlertKeys are the rule keys ElastAlert 2's schema (elastalert/schema.yaml) defines for
// the settings this rule uses.
var elastAlertKeys = []string{"name", "description", "type", "index", "timestamp_field", "timestamp_type", "filter", "include",
	"aggregation", "summary_table_fields", "alert_subject", "alert_text", "alert"}

func TestElastAlertRule(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal(content(t, "elastalert-rule"), &raw); err != nil {
		t.Fatal(err)
	}
	for k := range raw {
		if !slices.Contains(elastAlertKeys, k) {
			t.Errorf("key %q is not an ElastAlert 2 rule option this package knows", k)
		}
	}
	r := elastAlert(t)
	// schema.yaml: required [type, index, alert].
	if r.Type != "any" || r.Index == "" || len(r.Alert) == 0 || r.Name == "" || r.Description == "" {
		t.Errorf("rule: %+v", r)
	}
	checkIndexPattern(t, "ElastAlert index", []string{r.Index}, siemscoreKinds...)
	uses := []fieldUse{{r.TimestampField, useDate, "timestamp_field"}}
	for _, f := range r.Filter {
		uses = append(uses, dslFields(map[string]any{"filter": []any{toJSONMap(t, f)}}, "filter")...)
	}
	for _, f := range append(slices.Clone(r.Include), r.SummaryTableFields...) {
		uses = append(uses, fieldUse{f, useAny, "include/summary_table_fields"})
	}
	if len(r.Filter) == 0 || len(uses) < 3 {
		t.Errorf("no filter")
	}
	checkFields(t, uses)
}

// toJSONMap round-trips a YAML value through JSON, so it has the shapes encoding/json gives.
func toJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
