package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/esreq"
)

// Composite pages through every bucket of a composite aggregation: the aggregation that
// enumerates all combinations of its sources (terms, date_histogram) in key order, a page at a
// time, with after_key to resume. Sub-aggregations are computed per bucket.
type Composite struct {
	Index string         // index names or patterns, comma-separated
	Query map[string]any // the query clause that selects the documents
	// Sources are the composite sources in order, each {"name": {"terms": {...}}} or
	// {"name": {"date_histogram": {...}}}.
	Sources []map[string]any
	// Aggs are the sub-aggregations of every bucket (may be nil).
	Aggs map[string]any
	// PageSize is the number of buckets per request (default 1000).
	PageSize int
}

// Bucket is one composite bucket: its key (source name to value: strings for terms on keyword
// and ip fields, epoch milliseconds for date histograms), its document count and the raw JSON of
// its sub-aggregations.
type Bucket struct {
	Key      map[string]json.RawMessage
	DocCount int64
	Aggs     map[string]json.RawMessage
}

// String returns the key's value for source as a string, and whether it was a non-null string.
func (b *Bucket) String(source string) (string, bool) {
	var s *string
	if json.Unmarshal(b.Key[source], &s) != nil || s == nil {
		return "", false
	}
	return *s, true
}

// Int returns the key's value for source as an integer (date histograms), and whether it was one.
func (b *Bucket) Int(source string) (int64, bool) {
	var v *int64
	if json.Unmarshal(b.Key[source], &v) != nil || v == nil {
		return 0, false
	}
	return *v, true
}

// Agg decodes the sub-aggregation name into out.
func (b *Bucket) Agg(name string, out any) error {
	raw, ok := b.Aggs[name]
	if !ok {
		return fmt.Errorf("reader: bucket has no %q aggregation", name)
	}
	return json.Unmarshal(raw, out)
}

func (b *Bucket) UnmarshalJSON(data []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	if err := json.Unmarshal(all["key"], &b.Key); err != nil {
		return fmt.Errorf("bucket key: %w", err)
	}
	if err := json.Unmarshal(all["doc_count"], &b.DocCount); err != nil {
		return fmt.Errorf("bucket doc_count: %w", err)
	}
	delete(all, "key")
	delete(all, "doc_count")
	b.Aggs = all
	return nil
}

// aggName is the name of the composite aggregation in requests.
const aggName = "pages"

const defaultCompositePage = 1000

// Run requests page after page and calls onPage with each page's buckets until the aggregation
// is exhausted or onPage fails.
func (c Composite) Run(ctx context.Context, es esapi.Transport, onPage func([]Bucket) error) error {
	if c.PageSize == 0 {
		c.PageSize = defaultCompositePage
	}
	switch {
	case c.Index == "":
		return errors.New("reader: composite: no index")
	case len(c.Sources) == 0:
		return errors.New("reader: composite: no sources")
	case c.PageSize < 1 || c.PageSize > 10000:
		return fmt.Errorf("reader: composite: page size %d, want 1..10000", c.PageSize)
	}
	var after json.RawMessage
	for {
		comp := map[string]any{"size": c.PageSize, "sources": c.Sources}
		if after != nil {
			comp["after"] = after
		}
		agg := map[string]any{"composite": comp}
		if len(c.Aggs) > 0 {
			agg["aggs"] = c.Aggs
		}
		body, err := esreq.Body(map[string]any{
			"size": 0, "track_total_hits": false, "query": c.Query,
			"aggs": map[string]any{aggName: agg},
		})
		if err != nil {
			return fmt.Errorf("reader: composite on %s: %w", c.Index, err)
		}
		var res struct {
			Aggregations map[string]struct {
				AfterKey json.RawMessage `json:"after_key"`
				Buckets  []Bucket        `json:"buckets"`
			} `json:"aggregations"`
		}
		req := esapi.SearchRequest{
			Index: strings.Split(c.Index, ","), Body: body,
			AllowNoIndices: ptr(true), IgnoreUnavailable: ptr(true),
		}
		if err := esreq.Do(ctx, es, req, "reader: composite aggregation on "+c.Index, &res); err != nil {
			return err
		}
		p := res.Aggregations[aggName]
		if len(p.Buckets) > 0 {
			if err := onPage(p.Buckets); err != nil {
				return err
			}
		}
		if len(p.AfterKey) == 0 || string(p.AfterKey) == "null" || len(p.Buckets) == 0 {
			return nil
		}
		after = p.AfterKey
	}
}

func ptr[T any](v T) *T { return &v }
