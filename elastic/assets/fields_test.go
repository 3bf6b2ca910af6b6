package assets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// mappingFile is the index template mapping siemscore installs for its data streams (package
// elastic/template). The artifacts may only use fields it maps, with a type fit for the use.
var mappingFile = filepath.Join("..", "template", "mappings", "logs.json")

var (
	typesOnce sync.Once
	types     map[string]string
	typesErr  error
)

// fieldTypes maps every leaf field of the template mapping ("a.b.c") to its Elasticsearch type.
func fieldTypes(t testing.TB) map[string]string {
	t.Helper()
	typesOnce.Do(func() {
		var raw []byte
		if raw, typesErr = os.ReadFile(mappingFile); typesErr != nil {
			return
		}
		var m struct {
			Properties map[string]any `json:"properties"`
		}
		if typesErr = json.Unmarshal(raw, &m); typesErr != nil {
			return
		}
		types = map[string]string{}
		var walk func(prefix string, props map[string]any)
		walk = func(prefix string, props map[string]any) {
			for name, v := range props {
				def, _ := v.(map[string]any)
				if sub, ok := def["properties"].(map[string]any); ok {
					walk(prefix+name+".", sub)
					continue
				}
				if typ, ok := def["type"].(string); ok {
					types[prefix+name] = typ
				}
			}
		}
		walk("", m.Properties)
	})
	if typesErr != nil {
		t.Fatalf("index template mapping %s: %v", mappingFile, typesErr)
	}
	return types
}

// Uses of a field, each with the mapping types that serve it.
const (
	useAny       = "any"            // queried or returned: any mapped type
	useTerms     = "terms"          // terms aggregation, top values, threshold group-by
	useNumeric   = "numeric"        // max/avg/min/sum, range on a number
	useRange     = "range"          // range query: numbers or dates
	useDate      = "date"           // date_histogram, time field
	useMaxDate   = "max-date"       // max of a date (Lens "last seen")
	useUnique    = "unique"         // cardinality
	useLastValue = "last-value"     // top hit value: anything with doc values
	useSort      = "sort"           // sort key
	useSeverity  = "severity-field" // severity_mapping source: the band keyword
)

var numericTypes = []string{"float", "double", "half_float", "scaled_float", "long", "integer", "short", "byte"}

func typeServes(use, typ string) bool {
	numeric := slices.Contains(numericTypes, typ)
	switch use {
	case useAny:
		return true
	case useTerms, useUnique:
		return typ == "keyword" || typ == "ip" || typ == "boolean" || numeric
	case useNumeric:
		return numeric
	case useRange:
		return numeric || typ == "date"
	case useDate, useMaxDate:
		return typ == "date"
	case useLastValue, useSort:
		return typ == "keyword" || typ == "ip" || typ == "boolean" || typ == "date" || numeric
	case useSeverity:
		return typ == "keyword"
	}
	return false
}

// fieldUse is one reference to a field by an artifact.
type fieldUse struct {
	field, use, where string
}

// checkFields fails for every use of a field the mapping lacks or types unfit for the use.
func checkFields(t *testing.T, uses []fieldUse) {
	t.Helper()
	types := fieldTypes(t)
	for _, u := range uses {
		typ, ok := types[u.field]
		switch {
		case !ok:
			t.Errorf("%s: field %q is not in the index template mapping", u.where, u.field)
		case !typeServes(u.use, typ):
			t.Errorf("%s: field %q is mapped as %s, which does not serve %s", u.where, u.field, typ, u.use)
		}
	}
}

var (
	luceneExists = regexp.MustCompile(`_exists_:([\w.@]+)`)
	luceneField  = regexp.MustCompile(`(?:^|[\s(])([A-Za-z@][\w.@]*):(\S*)`)
)

// luceneFields returns the fields a Lucene query names: `field:value`, `_exists_:field`, and
// ranges (`field:[a TO b]`, `field:<n`), which need numbers or dates.
func luceneFields(q, where string) []fieldUse {
	var out []fieldUse
	for _, m := range luceneExists.FindAllStringSubmatch(q, -1) {
		out = append(out, fieldUse{m[1], useAny, where})
	}
	for _, m := range luceneField.FindAllStringSubmatch(q, -1) {
		use := useAny
		if strings.ContainsAny(m[2][:min(1, len(m[2]))], "[{<>") {
			use = useRange
		}
		out = append(out, fieldUse{m[1], use, where})
	}
	return out
}

var aggUses = map[string]string{
	"terms": useTerms, "date_histogram": useDate, "max": useNumeric, "min": useNumeric, "avg": useNumeric,
	"sum": useNumeric, "cardinality": useUnique, "value_count": useAny,
}

// dslFields returns the fields an Elasticsearch query or search body names: in range, term(s),
// match, exists and query_string queries, aggregations, sorts and _source lists.
func dslFields(node any, where string) []fieldUse {
	var out []fieldUse
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if f, ok := x["field"].(string); ok {
				if use, isAgg := aggUses[key]; isAgg {
					out = append(out, fieldUse{f, use, where})
				} else if key == "exists" {
					out = append(out, fieldUse{f, useAny, where})
				}
			}
			switch key {
			case "range":
				for f := range x {
					out = append(out, fieldUse{f, useRange, where})
				}
			case "term", "terms", "match", "match_phrase", "prefix", "wildcard":
				if _, isAgg := x["field"]; !isAgg {
					for f := range x {
						out = append(out, fieldUse{f, useAny, where})
					}
				}
			case "query_string":
				if q, ok := x["query"].(string); ok {
					out = append(out, luceneFields(q, where)...)
				}
			}
			for k, sub := range x {
				walk(k, sub)
			}
		case []any:
			switch key {
			case "sort":
				for _, s := range x {
					switch s := s.(type) {
					case map[string]any:
						for f := range s {
							out = append(out, fieldUse{f, useSort, where})
						}
					case string:
						out = append(out, fieldUse{s, useSort, where})
					}
				}
				return
			case "_source", "includes":
				for _, s := range x {
					if f, ok := s.(string); ok {
						out = append(out, fieldUse{f, useAny, where})
					}
				}
				return
			}
			for _, sub := range x {
				walk(key, sub)
			}
		}
	}
	walk("", node)
	return out
}

func TestFieldExtraction(t *testing.T) {
	got := luceneFields(`siemscore.ip.status:scored AND siemscore.ip.score_norm:[50 TO *] AND (a.b:<7 OR _exists_:c.d)`, "q")
	want := []fieldUse{{"c.d", useAny, "q"}, {"siemscore.ip.status", useAny, "q"}, {"siemscore.ip.score_norm", useRange, "q"}, {"a.b", useRange, "q"}}
	if !slices.Equal(got, want) {
		t.Errorf("lucene: got %v, want %v", got, want)
	}
	var body any
	json.Unmarshal([]byte(`{"query":{"bool":{"filter":[{"range":{"x.n":{"gte":1}}},{"terms":{"x.k":["a"]}},{"exists":{"field":"x.e"}}]}},
		"aggs":{"a":{"terms":{"field":"x.t","size":3},"aggs":{"m":{"max":{"field":"x.m"}},"h":{"top_hits":{"sort":[{"x.s":"desc"}],"_source":["x.src"]}}}}}}`), &body)
	uses := map[string]string{}
	for _, u := range dslFields(body, "b") {
		uses[u.field] = u.use
	}
	wantUses := map[string]string{"x.n": useRange, "x.k": useAny, "x.e": useAny, "x.t": useTerms, "x.m": useNumeric, "x.s": useSort, "x.src": useAny}
	if len(uses) != len(wantUses) {
		t.Errorf("dsl: got %v, want %v", uses, wantUses)
	}
	for f, u := range wantUses {
		if uses[f] != u {
			t.Errorf("dsl: %s used as %q, want %q", f, uses[f], u)
		}
	}
	// The checker must reject what it exists to reject.
	types := fieldTypes(t)
	if types["event.risk_score_norm"] != "float" || types["source.ip"] != "ip" || types["@timestamp"] != "date" {
		t.Fatalf("mapping read wrongly: %v %v %v", types["event.risk_score_norm"], types["source.ip"], types["@timestamp"])
	}
	if typeServes(useNumeric, types["user.name"]) || typeServes(useTerms, types["message"]) || typeServes(useDate, types["event.risk_score_norm"]) {
		t.Error("type compatibility accepts a wrong type")
	}
}
