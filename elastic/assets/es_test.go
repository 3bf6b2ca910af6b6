package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TestArtifactsAgainstElasticsearch runs every artifact's query and every dashboard panel's
// aggregation against the real Elasticsearch holding the fixture's enriched documents. Kibana,
// Watcher and ElastAlert 2 are not available here, so the test executes what each of them
// would send: the stack rule's esQuery inside its time window, the detection rules' Lucene
// queries as query_string (threshold rules as the equivalent terms aggregation), the watch's
// search body with its condition evaluated here, the ElastAlert 2 filter, and each Lens
// layer translated into its aggregation (lens_test.go). Relative times ("now-6m") are anchored
// at a fixed "now" right after a planted anomaly, so windows hold exactly what is planned.
func TestArtifactsAgainstElasticsearch(t *testing.T) {
	f := buildFixture(t)
	t.Run("kibana-rule", f.testAlertingRule)
	for _, r := range detectionRules(t) {
		t.Run("security-rules/"+r.Name, func(t *testing.T) { f.testDetectionRule(t, r) })
	}
	t.Run("watch", f.testWatch)
	t.Run("elastalert-rule", f.testElastAlert)
	for _, so := range savedObjects(t, "kibana-dashboard") {
		if so.Type == "lens" {
			t.Run("lens/"+so.ID, func(t *testing.T) { f.testLens(t, so) })
		}
	}
}

// narrow turns an artifact's index pattern (…-*) into the fixture's namespace, so the queries
// see the fixture's data streams and nothing else on the shared server.
func (f *fixture) narrow(t *testing.T, pattern string) string {
	t.Helper()
	var out []string
	for _, p := range strings.Split(pattern, ",") {
		if !strings.HasSuffix(p, "-*") {
			t.Fatalf("index pattern %q does not end in -* (any namespace)", p)
		}
		out = append(out, strings.TrimSuffix(p, "*")+f.ns)
	}
	return strings.Join(out, ",")
}

// anchorDates rewrites Elasticsearch date math relative to now ("now", "now-10m") to be
// relative to anchor instead.
func anchorDates(v any, anchor time.Time) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			out[k] = anchorDates(sub, anchor)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, sub := range x {
			out[i] = anchorDates(sub, anchor)
		}
		return out
	case string:
		if rest, ok := strings.CutPrefix(x, "now"); ok {
			return esTime(anchor) + "||" + rest
		}
	}
	return v
}

func esTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// timeWindow is the range filter Kibana adds for a rule looking back lookback from anchor.
func timeWindow(anchor time.Time, lookback time.Duration) map[string]any {
	return map[string]any{"range": map[string]any{"@timestamp": map[string]any{
		"gte": esTime(anchor.Add(-lookback)), "lte": esTime(anchor), "format": "strict_date_optional_time"}}}
}

func (f *fixture) search(t *testing.T, index string, body any, totalAsInt bool) map[string]any {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture fills siemscore's own data streams; those of the integration landing, which
	// the artifacts read too, do not exist in its namespace.
	opts := []func(*esapi.SearchRequest){f.es.Search.WithIndex(index), f.es.Search.WithBody(bytes.NewReader(b)),
		f.es.Search.WithIgnoreUnavailable(true), f.es.Search.WithAllowNoIndices(true)}
	if totalAsInt {
		opts = append(opts, f.es.Search.WithRestTotalHitsAsInt(true))
	}
	res, err := f.es.Search(opts...)
	out := checkResponse(t, "search "+index+" "+string(b), res, err)
	var answer map[string]any
	if err := json.Unmarshal(out, &answer); err != nil {
		t.Fatal(err)
	}
	return answer
}

func hitIDs(answer map[string]any) []string {
	hits, _ := answer["hits"].(map[string]any)
	list, _ := hits["hits"].([]any)
	var ids []string
	for _, h := range list {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func (f *fixture) inWindow(d fixtureDoc, anchor time.Time, lookback time.Duration) bool {
	ts := d.doc.Timestamp
	return !ts.Before(anchor.Add(-lookback)) && !ts.After(anchor)
}

// planted returns the IDs of the planted documents (of the given labels, or any) in the window.
func (f *fixture) planted(anchor time.Time, lookback time.Duration, labels ...string) []string {
	var ids []string
	for _, d := range f.docs {
		if !isNormal(d.label) && f.inWindow(d, anchor, lookback) && (len(labels) == 0 || slices.Contains(labels, d.label)) {
			ids = append(ids, d.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// normalsIn counts the normal documents of the given kinds' datasets in the window, so a test
// can show that the rule had normal records to leave out.
func (f *fixture) normalsIn(anchor time.Time, lookback time.Duration, index string) int {
	n := 0
	for _, d := range f.docs {
		if isNormal(d.label) && f.inWindow(d, anchor, lookback) && strings.HasPrefix(d.doc.DataStream.Dataset, datasetOf(index)) {
			n++
		}
	}
	return n
}

// datasetOf returns the dataset prefix an index pattern names ("siemscore." for all kinds).
func datasetOf(index string) string {
	ds := strings.TrimPrefix(index, "logs-")
	ds, _, _ = strings.Cut(ds, "-")
	return strings.TrimSuffix(ds, "*")
}

func (f *fixture) labels(ids []string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		out[f.byID[id].label]++
	}
	return out
}

// anchors are the rule runs the window-based tests make: right after each planted scenario,
// and one just before the spray, when only normal traffic is in the window.
func (f *fixture) anchors() map[string]time.Time {
	return map[string]time.Time{"cloudtrail": f.ctAnchor, "kerberos": f.krbAnchor, "api": f.apiAnchor, "quiet": f.krbQuiet}
}

func (f *fixture) testAlertingRule(t *testing.T) {
	var rule struct {
		Params struct {
			Index               []string  `json:"index"`
			TimeField           string    `json:"timeField"`
			EsQuery             string    `json:"esQuery"`
			Size                int       `json:"size"`
			Threshold           []float64 `json:"threshold"`
			ThresholdComparator string    `json:"thresholdComparator"`
			TimeWindowSize      int       `json:"timeWindowSize"`
			TimeWindowUnit      string    `json:"timeWindowUnit"`
		} `json:"params"`
	}
	if err := json.Unmarshal(content(t, "kibana-rule"), &rule); err != nil {
		t.Fatal(err)
	}
	p := rule.Params
	var q struct {
		Query any `json:"query"`
	}
	json.Unmarshal([]byte(p.EsQuery), &q)
	lookback := durationOf(t, fmt.Sprint(p.TimeWindowSize)+p.TimeWindowUnit)
	for name, anchor := range f.anchors() {
		var total float64
		var ids []string
		// Kibana's es-query executor: one search over the rule's indices, the rule's query and
		// the time window, newest first.
		answer := f.search(t, f.narrow(t, strings.Join(p.Index, ",")), map[string]any{
			"size": p.Size, "track_total_hits": true,
			"query": map[string]any{"bool": map[string]any{"filter": []any{q.Query, timeWindow(anchor, lookback)}}},
			"sort":  []any{map[string]any{p.TimeField: map[string]any{"order": "desc"}}},
		}, false)
		total += totalHits(answer)
		ids = append(ids, hitIDs(answer)...)
		want := f.planted(anchor, lookback)
		fired := compare(total, p.ThresholdComparator, p.Threshold[0])
		if int(total) != len(want) || fired != (len(want) > 0) {
			t.Errorf("%s run: %v matches (fired %v), want the %d planted events in the window %v", name, total, fired, len(want), f.labels(want))
		}
		for _, id := range ids {
			if isNormal(f.byID[id].label) {
				t.Errorf("%s run: normal event %s (%s) matched", name, id, f.byID[id].label)
			}
		}
		if len(ids) != min(len(want), p.Size) {
			t.Errorf("%s run: %d hits returned, want %d", name, len(ids), min(len(want), p.Size))
		}
		if name == "quiet" && f.normalsIn(anchor, lookback, "logs-siemscore.*") == 0 {
			t.Error("the quiet window holds no normal events: the negative check proves nothing")
		}
	}
}

func compare(v float64, op string, th float64) bool {
	switch op {
	case ">", "gt":
		return v > th
	case ">=", "gte":
		return v >= th
	case "<", "lt":
		return v < th
	case "<=", "lte":
		return v <= th
	case "eq":
		return v == th
	case "not_eq":
		return v != th
	}
	return false // TestWatch and TestAlertingRule reject other comparators
}

// ruleExpectation is what a detection rule must find, at which rule run.
type ruleExpectation struct {
	anchor func(f *fixture) time.Time
	labels []string                  // query rules: the planted documents returned
	groups func(*fixture) [][]string // threshold rules: the groups alerted on
}

var ruleExpectations = map[string]ruleExpectation{
	"siemscore: AWS principal active from an unusual IP address": {
		anchor: func(f *fixture) time.Time { return f.ctAnchor }, labels: []string{ctAttack}},
	"siemscore: GuardDuty finding from an address unusual for its principal": {
		anchor: func(f *fixture) time.Time { return f.ctAnchor }, labels: []string{gdPlanted}},
	"siemscore: Kerberos host deviating from its peer cluster": {
		anchor: func(f *fixture) time.Time { return f.krbAnchor },
		groups: func(f *fixture) [][]string { return [][]string{{f.sprayHost.String()}} }},
	"siemscore: Kerberos failures for many accounts from one anomalous host": {
		anchor: func(f *fixture) time.Time { return f.krbAnchor },
		groups: func(f *fixture) [][]string { return [][]string{{f.sprayHost.String()}} }},
	"siemscore: API call volume burst by a principal": {
		anchor: func(f *fixture) time.Time { return f.apiAnchor },
		groups: func(f *fixture) [][]string { return [][]string{{f.burstUser, f.burstAction}} }},
}

func (f *fixture) testDetectionRule(t *testing.T, r detectionRule) {
	exp, ok := ruleExpectations[r.Name]
	if !ok {
		t.Fatalf("no expectation for rule %q: say what it must find", r.Name)
	}
	anchor := exp.anchor(f)
	lookback := durationOf(t, strings.TrimPrefix(r.From, "now-"))
	query := map[string]any{"query_string": map[string]any{"query": r.Query, "analyze_wildcard": true}}
	run := func(anchor time.Time, aggs map[string]any, size int) []map[string]any {
		// The detection engine searches the rule's indices together.
		body := map[string]any{"size": size, "track_total_hits": true,
			"query": map[string]any{"bool": map[string]any{"filter": []any{query, timeWindow(anchor, lookback)}}}}
		if aggs != nil {
			body["aggs"] = aggs
		}
		return []map[string]any{f.search(t, f.narrow(t, strings.Join(r.Index, ",")), body, false)}
	}
	if n := f.normalsIn(anchor, lookback, r.Index[0]); n == 0 {
		t.Fatalf("no normal events in the rule's window: the check proves nothing")
	}
	switch r.Type {
	case "query":
		var ids []string
		for _, a := range run(anchor, nil, 10000) {
			ids = append(ids, hitIDs(a)...)
		}
		slices.Sort(ids)
		want := f.planted(anchor, lookback, exp.labels...)
		if len(want) == 0 || !slices.Equal(ids, want) {
			t.Fatalf("alerts on %v, want the planted %v", f.labels(ids), f.labels(want))
		}
		// What the alerts carry: risk from event.risk_score_norm, severity from the band.
		for _, id := range ids {
			d := f.byID[id]
			risk, ok := d.risk()
			if !ok || risk < 0 || risk > 100 {
				t.Errorf("%s: event.risk_score_norm %v cannot map to an alert risk", id, risk)
			}
			if _, mapped := alertSeverity(r, d); !mapped {
				t.Errorf("%s: no severity_mapping entry matches the document's band %q, the alert keeps the default %s",
					id, d.doc.SiemScore.IP.Severity, r.Severity)
			}
		}
	case "threshold":
		th := r.Threshold
		var got [][]string
		check := func(anchor time.Time) [][]string {
			var groups [][]string
			for _, a := range run(anchor, thresholdAggs(th.Field, th.Value, th.Cardinality), 0) {
				groups = append(groups, thresholdGroups(a, th.Field, th.Cardinality)...)
			}
			return groups
		}
		got = check(anchor)
		if want := exp.groups(f); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("alerts on groups %v, want %v", got, want)
		}
		// A run whose window holds only normal traffic alerts on nothing.
		quiet := f.krbQuiet
		if r.Index[0] == "logs-siemscore.cloudtrail-*" {
			quiet = f.apiAnchor.Add(-24 * time.Hour) // the pair's ordinary day before the burst
		}
		if f.normalsIn(quiet, lookback, r.Index[0]) == 0 {
			t.Fatalf("no normal events before the anomaly at %v", quiet)
		}
		if groups := check(quiet); len(groups) > 0 {
			t.Errorf("a window of normal traffic alerts on %v", groups)
		}
	}
}

// alertSeverity applies the rule's severity_mapping to a document as Kibana does: the most
// severe matching entry, else (mapped false) the rule's default.
func alertSeverity(r detectionRule, d fixtureDoc) (sev string, mapped bool) {
	rank := map[string]int{"low": 0, "medium": 1, "high": 2, "critical": 3}
	sev = r.Severity
	raw, _ := d.doc.MarshalJSON()
	var src map[string]any
	json.Unmarshal(raw, &src)
	for _, m := range r.SeverityMapping {
		if v := lookupPath(src, m.Field); v == m.Value && (!mapped || rank[m.Severity] > rank[sev]) {
			sev, mapped = m.Severity, true
		}
	}
	return sev, mapped
}

// thresholdAggs is the aggregation Kibana's threshold executor runs: nested terms over the
// group-by fields keeping groups with at least value events, with the cardinality conditions'
// unique counts in the innermost group.
func thresholdAggs(fields []string, value int, cardinality []struct {
	Field string `json:"field"`
	Value int    `json:"value"`
}) map[string]any {
	inner := map[string]any{}
	for i, c := range cardinality {
		inner[fmt.Sprintf("cardinality_%d", i)] = map[string]any{"cardinality": map[string]any{"field": c.Field}}
	}
	aggs := inner
	for i := len(fields) - 1; i >= 0; i-- {
		terms := map[string]any{"terms": map[string]any{"field": fields[i], "size": 10000, "min_doc_count": value}}
		if len(aggs) > 0 {
			terms["aggs"] = aggs
		}
		aggs = map[string]any{fmt.Sprintf("group_%d", i): terms}
	}
	return aggs
}

func thresholdGroups(answer map[string]any, fields []string, cardinality []struct {
	Field string `json:"field"`
	Value int    `json:"value"`
}) [][]string {
	var out [][]string
	var walk func(level int, node map[string]any, keys []string)
	walk = func(level int, node map[string]any, keys []string) {
		if level == len(fields) {
			for i, c := range cardinality {
				v := node[fmt.Sprintf("cardinality_%d", i)].(map[string]any)["value"].(float64)
				if v < float64(c.Value) {
					return
				}
			}
			out = append(out, slices.Clone(keys))
			return
		}
		agg := node[fmt.Sprintf("group_%d", level)].(map[string]any)
		for _, b := range agg["buckets"].([]any) {
			bm := b.(map[string]any)
			walk(level+1, bm, append(keys, fmt.Sprint(bm["key"])))
		}
	}
	walk(0, answer["aggregations"].(map[string]any), nil)
	return out
}

func (f *fixture) testWatch(t *testing.T) {
	w := watch(t)
	req := w.Input.Search.Request
	lookback := rangeLookback(t, req.Body)
	for name, anchor := range f.anchors() {
		body := anchorDates(req.Body, anchor)
		var answer map[string]any
		answer = f.search(t, f.narrow(t, strings.Join(req.Indices, ",")), body, req.RestTotalHitsAsInt)
		ctx := map[string]any{"ctx": map[string]any{"payload": answer, "metadata": w.Metadata}}
		met := true
		for path, cmp := range w.Condition.Compare {
			v, ok := lookupPath(ctx, path).(float64)
			if !ok {
				t.Fatalf("%s run: condition path %s is %v, not a number", name, path, lookupPath(ctx, path))
			}
			for op, th := range cmp {
				met = met && compare(v, op, th.(float64))
			}
		}
		want := f.planted(anchor, lookback)
		if met != (len(want) > 0) || totalHits(answer) != float64(len(want)) {
			t.Errorf("%s run: condition %v with %v hits, want the %d planted events %v", name, met, totalHits(answer), len(want), f.labels(want))
		}
		// The per-kind counts and top events the actions report.
		perKind := map[string]int{}
		top := map[string]float64{}
		for _, id := range want {
			d := f.byID[id]
			perKind[d.doc.DataStream.Dataset]++
			r, _ := d.risk()
			top[d.doc.DataStream.Dataset] = max(top[d.doc.DataStream.Dataset], float64(float32(r)))
		}
		buckets := lookupPath(answer, "aggregations.by_kind.buckets").([]any)
		if len(buckets) != len(perKind) {
			t.Errorf("%s run: %d kinds reported, want %v", name, len(buckets), perKind)
		}
		for _, b := range buckets {
			bm := b.(map[string]any)
			kind := bm["key"].(string)
			hits := lookupPath(bm, "top_events.hits.hits").([]any)
			best := lookupPath(hits[0].(map[string]any), "_source.event.risk_score_norm")
			if int(bm["doc_count"].(float64)) != perKind[kind] || !approx(best, top[kind]) {
				t.Errorf("%s run: kind %s: %v events, top score %v; want %d, %v", name, kind, bm["doc_count"], best, perKind[kind], top[kind])
			}
		}
	}
}

// elastAlertBufferTime is ElastAlert 2's default buffer_time: how far back each run queries.
const elastAlertBufferTime = 15 * time.Minute

func (f *fixture) testElastAlert(t *testing.T) {
	r := elastAlert(t)
	filters := []any{}
	for _, fl := range r.Filter {
		filters = append(filters, toJSONMap(t, fl))
	}
	for name, anchor := range f.anchors() {
		answer := f.search(t, f.narrow(t, r.Index), map[string]any{
			"size": 10000, "track_total_hits": true,
			"query": map[string]any{"bool": map[string]any{"filter": append(slices.Clone(filters), timeWindow(anchor, elastAlertBufferTime))}},
			"sort":  []any{map[string]any{r.TimestampField: map[string]any{"order": "asc"}}},
		}, false)
		ids := hitIDs(answer)
		if want := f.planted(anchor, elastAlertBufferTime); !slices.Equal(ids, want) {
			t.Errorf("%s run: matches %v, want the planted %v", name, f.labels(ids), f.labels(want))
		}
	}
}

func approx(got any, want float64) bool {
	g, ok := got.(float64)
	if !ok {
		return false
	}
	return math.Abs(g-want) <= 1e-4*math.Max(1, math.Abs(want))
}

func f32(v float64) float64 { return float64(float32(v)) }

// The panels: each Lens layer's aggregation over all the fixture's data, checked against what
// the documents say.

// panelInterval stands for Lens's "auto" interval.
const panelInterval = time.Hour

func (f *fixture) testLens(t *testing.T, so savedObject) {
	var attrs lensAttributes
	if err := json.Unmarshal(so.Attributes, &attrs); err != nil {
		t.Fatal(err)
	}
	check, ok := panelChecks[so.ID]
	if !ok {
		t.Fatalf("no check for panel %s: say what it must show", so.ID)
	}
	rows := map[string][]map[string]any{}
	for id, layer := range attrs.State.DatasourceStates.FormBased.Layers {
		static := true
		for _, c := range layer.Columns {
			static = static && c.IsStaticValue
		}
		if static {
			continue // reference lines: no query
		}
		body, err := lensSearch(attrs.State, id, nil, fmt.Sprintf("%dm", int(panelInterval.Minutes())))
		if err != nil {
			t.Fatal(err)
		}
		answer := f.search(t, f.narrow(t, "logs-siemscore.*-*"), body, false)
		if rows[id], err = lensRows(attrs.State, id, answer); err != nil {
			t.Fatal(err)
		}
		if len(rows[id]) == 0 {
			t.Fatalf("layer %s: no rows", id)
		}
	}
	check(t, f, rows)
}

// docSource returns a document as Elasticsearch returns its _source.
func docSource(t *testing.T, d fixtureDoc) map[string]any {
	t.Helper()
	raw, err := d.doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var src map[string]any
	json.Unmarshal(raw, &src)
	return src
}

// group collects, per key, the documents' values of field: its maximum, count, and the value
// of the latest document that has it (Lens's last value).
type group struct {
	max        float64
	hasMax     bool
	count      int
	latest     any
	latestTime time.Time
	lastSeen   time.Time
	sum        float64
	n          int
}

func (f *fixture) groups(t *testing.T, keyOf func(map[string]any) (string, bool), value, last string) map[string]*group {
	out := map[string]*group{}
	for _, d := range f.docs {
		src := docSource(t, d)
		key, ok := keyOf(src)
		if !ok {
			continue
		}
		g := out[key]
		if g == nil {
			g = &group{}
			out[key] = g
		}
		g.count++
		if d.doc.Timestamp.After(g.lastSeen) {
			g.lastSeen = d.doc.Timestamp
		}
		if v, ok := lookupPath(src, value).(float64); ok {
			v = f32(v)
			if !g.hasMax || v > g.max {
				g.max, g.hasMax = v, true
			}
			g.sum += v
			g.n++
		}
		if last != "" {
			if v := lookupPath(src, last); v != nil && !d.doc.Timestamp.Before(g.latestTime) {
				g.latest, g.latestTime = v, d.doc.Timestamp
			}
		}
	}
	return out
}

func str(src map[string]any, field string) (string, bool) {
	v := lookupPath(src, field)
	if v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

func keyFields(fields ...string) func(map[string]any) (string, bool) {
	return func(src map[string]any) (string, bool) {
		var parts []string
		for _, f := range fields {
			v, ok := str(src, f)
			if !ok {
				return "", false
			}
			parts = append(parts, v)
		}
		return strings.Join(parts, "|"), true
	}
}

func where(cond func(map[string]any) bool, key func(map[string]any) (string, bool)) func(map[string]any) (string, bool) {
	return func(src map[string]any) (string, bool) {
		if !cond(src) {
			return "", false
		}
		return key(src)
	}
}

func fieldIs(field string, value any) func(map[string]any) bool {
	return func(src map[string]any) bool { return lookupPath(src, field) == value }
}

func hourKey(field string) func(map[string]any) (string, bool) {
	return func(src map[string]any) (string, bool) {
		ts, err := time.Parse(time.RFC3339Nano, src["@timestamp"].(string))
		if err != nil {
			return "", false
		}
		v, ok := str(src, field)
		return fmt.Sprintf("%d|%s", ts.Truncate(panelInterval).UnixMilli(), v), ok
	}
}

func rowKey(row map[string]any, cols ...string) string {
	var parts []string
	for _, c := range cols {
		v := row[c]
		if f, ok := v.(float64); ok && f == math.Trunc(f) {
			v = int64(f)
		}
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, "|")
}

func sameValue(got, want any) bool {
	if w, ok := want.(float64); ok {
		return approx(got, w)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	return string(gb) == string(wb)
}

// checkRows compares every row's metric columns with the expected groups.
func checkRows(t *testing.T, rows []map[string]any, keyCols []string, groups map[string]*group, cols map[string]func(*group) any) {
	t.Helper()
	for _, row := range rows {
		key := rowKey(row, keyCols...)
		g, ok := groups[key]
		if !ok {
			t.Errorf("row %s matches no documents", key)
			continue
		}
		for col, want := range cols {
			if w := want(g); !sameValue(row[col], w) {
				t.Errorf("row %s column %s = %v, want %v", key, col, row[col], w)
			}
		}
	}
}

func gMax(g *group) any    { return g.max }
func gLatest(g *group) any { return g.latest }
func gCount(g *group) any  { return float64(g.count) }

// orderedDesc checks that rows come in decreasing order of col, the first terms column's order.
func orderedDesc(t *testing.T, rows []map[string]any, keyCol, col string, groups map[string]*group) {
	t.Helper()
	prev := math.Inf(1)
	seen := map[string]bool{}
	for _, row := range rows {
		k := fmt.Sprint(row[keyCol])
		if seen[k] {
			continue
		}
		seen[k] = true
		v := groups[k].max
		if v > prev+1e-6 {
			t.Errorf("%s %s (max %v) comes after a lower one (%v)", keyCol, k, v, prev)
		}
		prev = v
	}
}

var panelChecks = map[string]func(t *testing.T, f *fixture, rows map[string][]map[string]any){
	"siemscore-lens-high-risk-count": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		want := 0
		for _, d := range f.docs {
			if r, ok := d.risk(); ok && r >= 50 {
				want++
			}
		}
		if got := rows["count"][0]["high-risk"]; !approx(got, float64(want)) || want == 0 {
			t.Errorf("high-risk events %v, want %d", got, want)
		}
	},
	"siemscore-lens-risk-over-time": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		groups := f.groups(t, hourKey("data_stream.dataset"), "event.risk_score_norm", "")
		got := rows["scores"]
		if len(got) != len(groups) {
			t.Errorf("%d (hour, kind) rows, want %d", len(got), len(groups))
		}
		checkRows(t, got, []string{"time", "kind"}, groups, map[string]func(*group) any{
			"max-risk": gMax, "avg-risk": func(g *group) any { return g.sum / float64(g.n) },
		})
		// Each kind's anomaly stands above the alerting line in its hour.
		above := map[string]bool{}
		for _, r := range got {
			if v, _ := r["max-risk"].(float64); v >= 50 {
				above[r["kind"].(string)] = true
			}
		}
		if len(above) != 3 {
			t.Errorf("kinds with an hour above 50: %v, want all three", above)
		}
	},
	"siemscore-lens-ip-pairs": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		scored := fieldIs("siemscore.ip.status", "scored")
		key := where(scored, keyFields("siemscore.ip.entity", "source.ip"))
		pairs := f.groups(t, key, "siemscore.ip.score_norm", "siemscore.ip.reasons")
		users := f.groups(t, key, "siemscore.ip.score_norm", "user.name")
		asn := f.groups(t, key, "siemscore.ip.score_norm", "source.as.organization.name")
		got := rows["pairs"]
		checkRows(t, got, []string{"entity", "source"}, pairs, map[string]func(*group) any{
			"ip-score": gMax, "reasons": gLatest, "events": gCount,
			"last-seen": func(g *group) any { return float64(g.lastSeen.UnixMilli()) },
		})
		checkRows(t, got, []string{"entity", "source"}, users, map[string]func(*group) any{"user": gLatest})
		checkRows(t, got, []string{"entity", "source"}, asn, map[string]func(*group) any{"asn": gLatest})
		for _, r := range got {
			if owner, _ := r["asn"].(string); owner == "" {
				t.Errorf("pair %s: the network owner column is empty", rowKey(r, "entity", "source"))
			}
		}
		entities := f.groups(t, where(scored, keyFields("siemscore.ip.entity")), "siemscore.ip.score_norm", "")
		orderedDesc(t, got, "entity", "ip-score", entities)
		// The rows at 50 or more are exactly the planted pairs.
		var high, planted []string
		for _, r := range got {
			if v, _ := r["ip-score"].(float64); v >= 50 {
				high = append(high, rowKey(r, "entity", "source"))
			}
		}
		for _, d := range f.docs {
			if d.label == ctAttack || d.label == ctStaleAttack || d.label == gdPlanted {
				k, _ := key(docSource(t, d))
				if !slices.Contains(planted, k) {
					planted = append(planted, k)
				}
			}
		}
		slices.Sort(high)
		slices.Sort(planted)
		if !slices.Equal(high, planted) {
			t.Errorf("pairs scoring 50+: %v, want the planted %v", high, planted)
		}
	},
	"siemscore-lens-kerberos-hosts": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		scored := fieldIs("siemscore.kerberos.status", "scored")
		host := where(scored, keyFields("source.ip"))
		got := rows["hosts"]
		cols := map[string]string{"host-score": "siemscore.kerberos.score_norm", "distance": "siemscore.kerberos.distance",
			"requests": "siemscore.kerberos.features.requests", "failure-ratio": "siemscore.kerberos.features.failure_ratio",
			"clients": "siemscore.kerberos.features.distinct_clients", "services": "siemscore.kerberos.features.distinct_services",
			"preauth": "siemscore.kerberos.features.preauth_failures", "unknown": "siemscore.kerberos.features.principal_unknown"}
		for col, field := range cols {
			checkRows(t, got, []string{"host"}, f.groups(t, host, field, ""), map[string]func(*group) any{col: gMax})
		}
		checkRows(t, got, []string{"host"}, f.groups(t, host, "siemscore.kerberos.score_norm", "siemscore.kerberos.cluster"),
			map[string]func(*group) any{"cluster": gLatest})
		checkRows(t, got, []string{"host"}, f.groups(t, host, "siemscore.kerberos.score_norm", "siemscore.kerberos.reasons"),
			map[string]func(*group) any{"reasons": gLatest})
		orderedDesc(t, got, "host", "host-score", f.groups(t, host, "siemscore.kerberos.score_norm", ""))
		if top := got[0]; top["host"] != f.sprayHost.String() || !approx(top["host-score"], 96) || !approx(top["unknown"], 11) ||
			!sameValue(top["reasons"], []any{"distinct_clients", "principal_unknown", "preauth_failures"}) {
			t.Errorf("first host %v, want the sprayer %v with its score, features and reasons", top, f.sprayHost)
		}
		if len(got) != 20 {
			t.Errorf("%d hosts listed, want the top 20", len(got))
		}
	},
	"siemscore-lens-kerberos-clusters": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		scored := fieldIs("siemscore.kerberos.status", "scored")
		clusters := f.groups(t, where(scored, keyFields("siemscore.kerberos.cluster")), "siemscore.kerberos.score_norm", "")
		hosts := map[string]map[netip.Addr]bool{}
		for _, d := range f.docs {
			if k := d.doc.SiemScore.Kerberos; k.Status == "scored" {
				c := fmt.Sprint(k.Cluster.V)
				if hosts[c] == nil {
					hosts[c] = map[netip.Addr]bool{}
				}
				hosts[c][d.doc.Source.IP] = true
			}
		}
		got := rows["clusters"]
		if len(got) != len(clusters) {
			t.Errorf("%d clusters, want %d", len(got), len(clusters))
		}
		checkRows(t, got, []string{"cluster"}, clusters, map[string]func(*group) any{"cluster-score": gMax})
		var keys []float64
		for _, r := range got {
			k := rowKey(r, "cluster")
			if !approx(r["hosts"], float64(len(hosts[k]))) {
				t.Errorf("cluster %s: %v hosts, want %d", k, r["hosts"], len(hosts[k]))
			}
			keys = append(keys, r["cluster"].(float64))
		}
		if !sort.Float64sAreSorted(keys) {
			t.Errorf("clusters not in ascending order: %v", keys)
		}
	},
	"siemscore-lens-api-pairs": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		pair := where(fieldIs("siemscore.api.status", "scored"), keyFields("user.name", "event.action"))
		got := rows["pairs"]
		for col, field := range map[string]string{"periodicity": "siemscore.api.periodicity", "day-count": "siemscore.api.day_count",
			"expected": "siemscore.api.expected", "volume-z": "siemscore.api.volume_z", "api-score": "siemscore.api.score_norm"} {
			checkRows(t, got, []string{"principal", "action"}, f.groups(t, pair, field, ""), map[string]func(*group) any{col: gMax})
		}
		for col, field := range map[string]string{"automated": "siemscore.api.automated", "lag": "siemscore.api.best_lag", "reasons": "siemscore.api.reasons"} {
			checkRows(t, got, []string{"principal", "action"}, f.groups(t, pair, "siemscore.api.volume_z", field), map[string]func(*group) any{col: gLatest})
		}
		burstCalls := 0.0
		for _, d := range f.docs {
			if d.label == apiBurst {
				burstCalls++
			}
		}
		if top := got[0]; top["principal"] != f.burstUser || top["action"] != f.burstAction || top["automated"] != true ||
			!approx(top["volume-z"], 9.5) || !approx(top["day-count"], burstCalls) ||
			!sameValue(top["reasons"], []any{"api_periodic", "api_volume_high"}) {
			t.Errorf("first pair %v, want the burst %s %s with %v calls", top, f.burstUser, f.burstAction, burstCalls)
		}
	},
	"siemscore-lens-api-bursts": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		scored := fieldIs("siemscore.api.status", "scored")
		groups := f.groups(t, where(scored, hourKey("user.name")), "siemscore.api.volume_z", "")
		got := rows["bursts"]
		checkRows(t, got, []string{"time", "principal"}, groups, map[string]func(*group) any{"volume-z": gMax})
		burstHours := 0
		for _, r := range got {
			if r["principal"] == f.burstUser && approx(r["volume-z"], 9.5) {
				burstHours++
			}
		}
		hours := map[int64]bool{}
		for _, d := range f.docs {
			if d.label == apiBurst {
				hours[d.doc.Timestamp.Truncate(panelInterval).UnixMilli()] = true
			}
		}
		if burstHours != len(hours) {
			t.Errorf("the burst shows in %d hours, want every hour it ran (%d)", burstHours, len(hours))
		}
	},
	"siemscore-lens-guardduty": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		key := where(fieldIs("siemscore.guardduty.status", "scored"), keyFields("aws.guardduty.type"))
		got := rows["findings"]
		checkRows(t, got, []string{"type"}, f.groups(t, key, "siemscore.guardduty.severity_norm", ""), map[string]func(*group) any{"severity": gMax})
		checkRows(t, got, []string{"type"}, f.groups(t, key, "siemscore.guardduty.score_norm", ""), map[string]func(*group) any{"fused": gMax})
		if v, _ := got[0]["fused"].(float64); v <= got[0]["severity"].(float64) {
			t.Errorf("the planted finding's fused score %v must stand above GuardDuty's severity %v", v, got[0]["severity"])
		}
	},
	"siemscore-lens-model-versions": func(t *testing.T, f *fixture, rows map[string][]map[string]any) {
		groups := f.groups(t, keyFields("siemscore.model.version", "siemscore.model.status"), "", "")
		got := rows["models"]
		if len(got) != 1 || len(groups) != 1 {
			t.Fatalf("rows %v, want the one bundle", got)
		}
		r := got[0]
		g := groups[rowKey(r, "version", "status")]
		if g == nil || r["version"] != f.model.VersionString() || r["status"] != "scored" || !approx(r["events"], float64(len(f.docs))) ||
			!approx(r["trained-at"], float64(f.model.TrainedAt().UnixMilli())) || !approx(r["last-used"], float64(g.lastSeen.UnixMilli())) {
			t.Errorf("model row %v, want version %s trained %v over %d events", r, f.model.VersionString(), f.model.TrainedAt(), len(f.docs))
		}
	},
}
