package assets

import (
	"encoding/json"
	"fmt"
	"slices"
)

// The Lens state this package's panels use, as Kibana 8.11 stores it.

type lensQuery struct {
	Query    string `json:"query"`
	Language string `json:"language"`
}

type lensColumn struct {
	Label         string     `json:"label"`
	DataType      string     `json:"dataType"`
	OperationType string     `json:"operationType"`
	SourceField   string     `json:"sourceField"`
	IsBucketed    bool       `json:"isBucketed"`
	IsStaticValue bool       `json:"isStaticValue"`
	Filter        *lensQuery `json:"filter"`
	Params        struct {
		Size    int `json:"size"`
		OrderBy struct {
			Type     string `json:"type"`
			ColumnID string `json:"columnId"`
		} `json:"orderBy"`
		OrderDirection  string `json:"orderDirection"`
		Interval        string `json:"interval"`
		SortField       string `json:"sortField"`
		ShowArrayValues bool   `json:"showArrayValues"`
		Value           string `json:"value"`
	} `json:"params"`
}

type lensLayer struct {
	ColumnOrder []string              `json:"columnOrder"`
	Columns     map[string]lensColumn `json:"columns"`
}

// split returns the layer's bucket and metric column IDs, in column order (static values are
// neither).
func (l lensLayer) split() (buckets, metrics []string) {
	for _, id := range l.ColumnOrder {
		c := l.Columns[id]
		switch {
		case c.IsStaticValue:
		case c.IsBucketed:
			buckets = append(buckets, id)
		default:
			metrics = append(metrics, id)
		}
	}
	return buckets, metrics
}

type lensState struct {
	Visualization    json.RawMessage   `json:"visualization"`
	Query            lensQuery         `json:"query"`
	Filters          []json.RawMessage `json:"filters"`
	DatasourceStates struct {
		FormBased struct {
			Layers map[string]lensLayer `json:"layers"`
		} `json:"formBased"`
	} `json:"datasourceStates"`
}

type lensAttributes struct {
	Title             string    `json:"title"`
	Description       string    `json:"description"`
	VisualizationType string    `json:"visualizationType"`
	State             lensState `json:"state"`
}

// lensVisualization is the union of the visualization states used here (XY, datatable,
// metric): the column IDs each refers to.
type lensVisualization struct {
	// lnsXY
	Layers []struct {
		LayerID       string   `json:"layerId"`
		LayerType     string   `json:"layerType"`
		Accessors     []string `json:"accessors"`
		XAccessor     string   `json:"xAccessor"`
		SplitAccessor string   `json:"splitAccessor"`
		YConfig       []struct {
			ForAccessor string `json:"forAccessor"`
		} `json:"yConfig"`
	} `json:"layers"`
	// lnsDatatable and lnsMetric
	LayerID string `json:"layerId"`
	Columns []struct {
		ColumnID string `json:"columnId"`
	} `json:"columns"`
	Sorting struct {
		ColumnID string `json:"columnId"`
	} `json:"sorting"`
	MetricAccessor string `json:"metricAccessor"`
}

// accessors returns, per datasource layer, the column IDs the visualization shows.
func (v lensVisualization) accessors(visType string) (map[string][]string, error) {
	out := map[string][]string{}
	switch visType {
	case "lnsXY":
		for _, l := range v.Layers {
			ids := slices.Clone(l.Accessors)
			for _, id := range []string{l.XAccessor, l.SplitAccessor} {
				if id != "" {
					ids = append(ids, id)
				}
			}
			for _, y := range l.YConfig {
				if !slices.Contains(ids, y.ForAccessor) {
					return nil, fmt.Errorf("layer %s: yConfig for %q, which is not an accessor", l.LayerID, y.ForAccessor)
				}
			}
			out[l.LayerID] = ids
		}
	case "lnsDatatable":
		for _, c := range v.Columns {
			out[v.LayerID] = append(out[v.LayerID], c.ColumnID)
		}
		if v.Sorting.ColumnID != "" && !slices.Contains(out[v.LayerID], v.Sorting.ColumnID) {
			return nil, fmt.Errorf("sorting by %q, which is not a column", v.Sorting.ColumnID)
		}
	case "lnsMetric":
		out[v.LayerID] = []string{v.MetricAccessor}
	default:
		return nil, fmt.Errorf("visualization type %q is not one this package uses", visType)
	}
	return out, nil
}

// Lens operations and the field use each needs.
var lensOperationUse = map[string]string{
	"terms": useTerms, "date_histogram": useDate, "max": useNumeric, "min": useNumeric, "average": useNumeric,
	"sum": useNumeric, "unique_count": useUnique, "last_value": useLastValue,
}

// fieldUses returns the fields a Lens column uses. Lens takes max of a date column as the
// latest date.
func (c lensColumn) fieldUses(where string) []fieldUse {
	var out []fieldUse
	switch {
	case c.OperationType == "count" || c.OperationType == "static_value":
	case c.OperationType == "max" && c.DataType == "date":
		out = append(out, fieldUse{c.SourceField, useMaxDate, where})
	default:
		out = append(out, fieldUse{c.SourceField, lensOperationUse[c.OperationType], where})
	}
	if c.OperationType == "last_value" {
		out = append(out, fieldUse{c.Params.SortField, useSort, where})
	}
	if c.Filter != nil {
		out = append(out, luceneFields(c.Filter.Query, where+" filter")...)
	}
	return out
}

// The translation of a Lens layer into the Elasticsearch search Kibana runs for it: bucket
// columns nest in column order (terms, date_histogram), metric columns sit in the innermost
// bucket (max, avg, min, sum, cardinality, top_hits for last value, doc_count for count),
// column filters become filter aggregations, and a terms column ordered by a metric carries its
// own copy of that metric to order by, as Kibana's esaggs does.

const filteredValue = "value" // the sub-aggregation inside a column's filter aggregation

func queryString(q lensQuery) (map[string]any, error) {
	if q.Language != "lucene" {
		return nil, fmt.Errorf("query language %q: this translation runs Lucene queries only", q.Language)
	}
	return map[string]any{"query_string": map[string]any{"query": q.Query, "analyze_wildcard": true}}, nil
}

// metricAgg is the aggregation of a metric column; nil for count without a filter (doc_count).
func metricAgg(c lensColumn) (map[string]any, error) {
	var agg map[string]any
	switch c.OperationType {
	case "max", "min", "sum":
		agg = map[string]any{c.OperationType: map[string]any{"field": c.SourceField}}
	case "average":
		agg = map[string]any{"avg": map[string]any{"field": c.SourceField}}
	case "unique_count":
		agg = map[string]any{"cardinality": map[string]any{"field": c.SourceField}}
	case "last_value":
		agg = map[string]any{"top_hits": map[string]any{
			"size": 1, "sort": []any{map[string]any{c.Params.SortField: map[string]any{"order": "desc"}}},
			"_source": map[string]any{"includes": []any{c.SourceField}},
		}}
	case "count":
	default:
		return nil, fmt.Errorf("operation %q is not translated", c.OperationType)
	}
	if c.Filter == nil {
		return agg, nil
	}
	q, err := queryString(*c.Filter)
	if err != nil {
		return nil, err
	}
	wrapped := map[string]any{"filter": q}
	if agg != nil {
		wrapped["aggs"] = map[string]any{filteredValue: agg}
	}
	return wrapped, nil
}

// lensSearch builds the search body for one layer; interval replaces Lens's "auto" interval,
// which Kibana computes from the time picker.
func lensSearch(st lensState, layerID string, extraFilters []any, interval string) (map[string]any, error) {
	layer, ok := st.DatasourceStates.FormBased.Layers[layerID]
	if !ok {
		return nil, fmt.Errorf("no layer %q", layerID)
	}
	filters := slices.Clone(extraFilters)
	if st.Query.Query != "" {
		q, err := queryString(st.Query)
		if err != nil {
			return nil, err
		}
		filters = append(filters, q)
	}
	if len(st.Filters) > 0 {
		return nil, fmt.Errorf("state filters are not translated")
	}
	buckets, metrics := layer.split()
	leaf := map[string]any{}
	for _, id := range metrics {
		agg, err := metricAgg(layer.Columns[id])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", id, err)
		}
		if agg != nil {
			leaf[id] = agg
		}
	}
	aggs := leaf
	for i := len(buckets) - 1; i >= 0; i-- {
		id := buckets[i]
		c := layer.Columns[id]
		var bucket map[string]any
		switch c.OperationType {
		case "terms":
			dir := c.Params.OrderDirection
			terms := map[string]any{"field": c.SourceField, "size": c.Params.Size}
			sub := aggs
			switch c.Params.OrderBy.Type {
			case "alphabetical":
				terms["order"] = map[string]any{"_key": dir}
			case "column":
				by := layer.Columns[c.Params.OrderBy.ColumnID]
				if by.OperationType == "count" && by.Filter == nil {
					terms["order"] = map[string]any{"_count": dir}
					break
				}
				agg, err := metricAgg(by)
				if err != nil {
					return nil, fmt.Errorf("column %s order: %w", id, err)
				}
				sub = maps(aggs, map[string]any{"order_agg": agg})
				path := "order_agg"
				if by.Filter != nil {
					path += ">" + filteredValue
				}
				terms["order"] = map[string]any{path: dir}
			default:
				return nil, fmt.Errorf("column %s: order %q is not translated", id, c.Params.OrderBy.Type)
			}
			bucket = map[string]any{"terms": terms}
			if len(sub) > 0 {
				bucket["aggs"] = sub
			}
		case "date_histogram":
			bucket = map[string]any{"date_histogram": map[string]any{"field": c.SourceField, "fixed_interval": interval, "min_doc_count": 1}}
			if len(aggs) > 0 {
				bucket["aggs"] = aggs
			}
		default:
			return nil, fmt.Errorf("column %s: bucket operation %q is not translated", id, c.OperationType)
		}
		aggs = map[string]any{id: bucket}
	}
	return map[string]any{
		"size": 0, "track_total_hits": true,
		"query": map[string]any{"bool": map[string]any{"filter": filters}},
		"aggs":  aggs,
	}, nil
}

func maps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// lensRows flattens a lensSearch answer into table rows keyed by column ID, in bucket order:
// bucket columns hold the key, metric columns the value (last value: the field's value from the
// top hit, count: the doc count).
func lensRows(st lensState, layerID string, answer map[string]any) ([]map[string]any, error) {
	layer := st.DatasourceStates.FormBased.Layers[layerID]
	buckets, metrics := layer.split()
	var rows []map[string]any
	var walk func(level int, node map[string]any, row map[string]any) error
	walk = func(level int, node map[string]any, row map[string]any) error {
		if level == len(buckets) {
			out := maps(row, nil)
			for _, id := range metrics {
				v, err := metricValue(id, layer.Columns[id], node)
				if err != nil {
					return fmt.Errorf("column %s: %w", id, err)
				}
				out[id] = v
			}
			rows = append(rows, out)
			return nil
		}
		id := buckets[level]
		agg, _ := node[id].(map[string]any)
		list, ok := agg["buckets"].([]any)
		if !ok {
			return fmt.Errorf("column %s: no buckets in %v", id, node[id])
		}
		for _, b := range list {
			bm := b.(map[string]any)
			key := bm["key"]
			if s, ok := bm["key_as_string"].(string); ok && layer.Columns[id].OperationType == "terms" {
				key = s // ip and boolean terms
			}
			if err := walk(level+1, bm, maps(row, map[string]any{id: key})); err != nil {
				return err
			}
		}
		return nil
	}
	root, _ := answer["aggregations"].(map[string]any)
	if len(buckets) == 0 {
		root = maps(root, map[string]any{"doc_count": totalHits(answer)})
	}
	return rows, walk(0, root, map[string]any{})
}

func totalHits(answer map[string]any) float64 {
	hits, _ := answer["hits"].(map[string]any)
	switch total := hits["total"].(type) {
	case float64:
		return total
	case map[string]any:
		v, _ := total["value"].(float64)
		return v
	}
	return 0
}

func metricValue(id string, c lensColumn, node map[string]any) (any, error) {
	if c.Filter != nil {
		f, ok := node[id].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no filter aggregation")
		}
		if c.OperationType == "count" {
			return f["doc_count"], nil
		}
		return innerValue(c, f[filteredValue])
	}
	if c.OperationType == "count" {
		return node["doc_count"], nil
	}
	return innerValue(c, node[id])
}

func innerValue(c lensColumn, agg any) (any, error) {
	m, ok := agg.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no aggregation")
	}
	if c.OperationType != "last_value" {
		return m["value"], nil
	}
	hits, _ := m["hits"].(map[string]any)
	list, _ := hits["hits"].([]any)
	if len(list) == 0 {
		return nil, nil
	}
	src, _ := list[0].(map[string]any)["_source"].(map[string]any)
	return lookupPath(src, c.SourceField), nil
}

// lookupPath reads a dotted field from a _source object, whether stored nested or flat.
func lookupPath(src map[string]any, path string) any {
	if v, ok := src[path]; ok {
		return v
	}
	for i := range path {
		if path[i] != '.' {
			continue
		}
		if sub, ok := src[path[:i]].(map[string]any); ok {
			if v := lookupPath(sub, path[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}
