package template

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/ecs"
)

// leaf is one field a Go document type writes: its dotted JSON path and Go type.
type leaf struct {
	path string
	typ  reflect.Type
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	addrType     = reflect.TypeFor[netip.Addr]()
	geoPointType = reflect.TypeFor[ecs.GeoPoint]()
)

// esTypesFor lists the Elasticsearch field types that can hold what a Go type encodes to, or
// nil if the type is not a leaf.
func esTypesFor(t reflect.Type) []string {
	switch t {
	case timeType, reflect.TypeFor[ecs.OptTime]():
		return []string{"date", "date_nanos"}
	case addrType:
		return []string{"ip"}
	case reflect.TypeFor[ecs.OptFloat]():
		return []string{"float", "double", "half_float", "scaled_float"}
	case reflect.TypeFor[ecs.OptInt]():
		return []string{"long", "integer"}
	case reflect.TypeFor[ecs.OptBool]():
		return []string{"boolean"}
	case geoPointType:
		return []string{"geo_point"}
	case reflect.TypeFor[ecs.RawJSON]():
		return []string{"flattened"}
	}
	switch t.Kind() {
	case reflect.String:
		return []string{"keyword", "text", "match_only_text", "wildcard", "constant_keyword"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return []string{"long", "integer"}
	case reflect.Float64, reflect.Float32:
		return []string{"float", "double", "half_float", "scaled_float"}
	case reflect.Bool:
		return []string{"boolean"}
	}
	return nil
}

// leaves walks a document type's JSON field tags, as encoding it would, down to the leaves.
func leaves(t reflect.Type, prefix string) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		path := prefix + name
		if esTypesFor(ft) == nil && ft.Kind() == reflect.Struct {
			out = append(out, leaves(ft, path+".")...)
			continue
		}
		out = append(out, leaf{path: path, typ: ft})
	}
	return out
}

// mappedField finds a dotted path in a mappings object.
func mappedField(mappings map[string]any, path string) (map[string]any, bool) {
	node := mappings
	for _, seg := range strings.Split(path, ".") {
		props, _ := node["properties"].(map[string]any)
		next, ok := props[seg].(map[string]any)
		if !ok {
			return nil, false
		}
		node = next
	}
	return node, true
}

// mappedLeaves lists the dotted paths of every field with a type in a mappings object.
func mappedLeaves(node map[string]any, prefix string) []string {
	var out []string
	props, _ := node["properties"].(map[string]any)
	for name, v := range props {
		child := v.(map[string]any)
		if _, typed := child["type"]; typed {
			out = append(out, prefix+name)
			continue
		}
		out = append(out, mappedLeaves(child, prefix+name+".")...)
	}
	sort.Strings(out)
	return out
}

func loadMappings(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("embedded mappings: %v", err)
	}
	return m
}

// checkMappingCoversType is the drift guard: every leaf the Go type writes must be mapped with
// a type that can hold it, every mapped field must be one the Go type writes, and no keyword
// may be able to reject a long value.
func checkMappingCoversType(t *testing.T, mappings map[string]any, docType reflect.Type) {
	t.Helper()
	written := map[string]bool{}
	for _, l := range leaves(docType, "") {
		written[l.path] = true
		f, ok := mappedField(mappings, l.path)
		if !ok {
			t.Errorf("%s (%s) is written but has no mapping", l.path, l.typ)
			continue
		}
		if f["enabled"] == false {
			continue // kept in _source, never parsed: holds any value
		}
		esType, _ := f["type"].(string)
		if !slices.Contains(esTypesFor(l.typ), esType) {
			t.Errorf("%s: Go type %s is mapped as %q; want one of %v", l.path, l.typ, esType, esTypesFor(l.typ))
		}
		if esType == "keyword" && f["ignore_above"] == nil && f["index"] != false {
			t.Errorf("%s: keyword without ignore_above: a value over 32766 bytes would reject the document", l.path)
		}
	}
	for _, p := range mappedLeaves(mappings, "") {
		if !written[p] {
			t.Errorf("%s is mapped but the document type never writes it (stale mapping?)", p)
		}
	}
}

func TestLogsMappingMatchesDocument(t *testing.T) {
	m := loadMappings(t, logsMappings)
	checkMappingCoversType(t, m, reflect.TypeFor[ecs.Document]())
	if f, _ := mappedField(m, "siemscore"); f["dynamic"] != false {
		t.Errorf("siemscore must not map dynamically (mapping explosion guard), dynamic=%v", f["dynamic"])
	}
	if m["dynamic"] != true {
		t.Errorf("passthrough fields must map dynamically at the root, dynamic=%v", m["dynamic"])
	}
}

func TestDeadLetterMappingMatchesDocument(t *testing.T) {
	m := loadMappings(t, deadLetterMappings)
	checkMappingCoversType(t, m, reflect.TypeFor[ecs.DeadLetterDocument]())
	if m["dynamic"] != false {
		t.Errorf("the dead-letter mapping must not map anything dynamically, dynamic=%v", m["dynamic"])
	}
	// Stored in _source, never parsed nor indexed: no content can make the dead letter fail,
	// and a record of many megabytes costs no indexing.
	orig, _ := mappedField(m, "siemscore.deadletter.original")
	if orig["enabled"] != false {
		t.Errorf("the original must be a disabled field (stored, not indexed); got %v", orig)
	}
}

// TestWalkerSeesEveryKindOfField keeps the drift guard honest: the walker must reach leaves
// through pointers, slices of structs and nested structs, and classify the special types.
func TestWalkerSeesEveryKindOfField(t *testing.T) {
	got := map[string]reflect.Type{}
	for _, l := range leaves(reflect.TypeFor[ecs.Document](), "") {
		got[l.path] = l.typ
	}
	for path, want := range map[string]reflect.Type{
		"@timestamp":                   timeType,
		"source.ip":                    addrType,
		"related.ip":                   addrType,
		"source.geo.location":          geoPointType,
		"aws.cloudtrail.resources.arn": reflect.TypeFor[string](),
		"aws.cloudtrail.flattened.response_elements": reflect.TypeFor[ecs.RawJSON](),
		"siemscore.kerberos.features.requests":       reflect.TypeFor[float64](),
		"zeek.kerberos.valid.days":                   reflect.TypeFor[ecs.OptInt](),
	} {
		if got[path] != want {
			t.Errorf("walker: %s = %v, want %v", path, got[path], want)
		}
	}
	if _, ok := got["Passthrough"]; ok {
		t.Error("walker must skip json:\"-\" fields")
	}
}
