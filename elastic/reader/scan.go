package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	"github.com/siemscore/siemscore/elastic/esreq"
)

// Hit is one document of a scan: its _id and the doc values of the requested fields, as strings
// (keyword and ip fields read as they are; request dates with a format, e.g. epoch_millis).
type Hit struct {
	ID     string              `json:"_id"`
	Index  string              `json:"_index"`
	Fields map[string][]string `json:"fields"`
	// Source is the document's _source, with Scan.Source.
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// First returns the first value of field, or "".
func (h *Hit) First(field string) string {
	if v := h.Fields[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Scan reads every document a query matches through a point in time, page by page with
// search_after, in Slices parallel slices of the point in time.
//
// A point in time rather than scroll: it is the documented way to page deeply, costs the cluster
// no scroll context per slice, and several readers can page through one consistent view of the
// data while it keeps being written (documents indexed after the scan began stay invisible, so
// nothing is read twice or skipped when the index grows underneath). Pages are sorted by
// _shard_doc only, the cheapest order, which is all a reader that samples needs.
type Scan struct {
	Index  string         // index names or patterns, comma-separated
	Query  map[string]any // the query clause
	Fields []Field        // doc values to return
	// Source also returns each document's _source (costly: use it for fields that have no doc
	// values, such as a stored-only original).
	Source bool
	// Slices is the number of parallel readers (default 1). Each reads its own slice of the
	// point in time; onPage is called from all of them concurrently.
	Slices int
	// PageSize is the number of documents per request (default 5000).
	PageSize int
	// KeepAlive is how long the point in time lives between two pages (default 2 minutes).
	KeepAlive time.Duration
}

// Field is one doc-value field to read, with the format to render it in ("" for the default).
type Field struct {
	Name   string `json:"field"`
	Format string `json:"format,omitempty"`
}

const (
	defaultPageSize  = 5000
	defaultKeepAlive = 2 * time.Minute
	maxSlices        = 64
)

// Run opens the point in time, reads every slice to its end calling onPage with each page (the
// slice index and its hits; the hits are not reused after onPage returns), and closes the point
// in time. The first error, from Elasticsearch or from onPage, stops every slice.
func (s Scan) Run(ctx context.Context, es esapi.Transport, onPage func(slice int, hits []Hit) error) error {
	if s.Slices == 0 {
		s.Slices = 1
	}
	if s.PageSize == 0 {
		s.PageSize = defaultPageSize
	}
	if s.KeepAlive == 0 {
		s.KeepAlive = defaultKeepAlive
	}
	switch {
	case s.Index == "":
		return errors.New("reader: scan: no index")
	case s.Slices < 1 || s.Slices > maxSlices:
		return fmt.Errorf("reader: scan: %d slices, want 1..%d", s.Slices, maxSlices)
	case s.PageSize < 1 || s.PageSize > 10000:
		return fmt.Errorf("reader: scan: page size %d, want 1..10000", s.PageSize)
	}
	keepAlive := fmt.Sprintf("%dms", s.KeepAlive.Milliseconds())
	var opened struct {
		ID string `json:"id"`
	}
	err := esreq.Do(ctx, es, esapi.OpenPointInTimeRequest{
		Index: strings.Split(s.Index, ","), KeepAlive: keepAlive, ExpandWildcards: "open", IgnoreUnavailable: ptr(true),
	}, "reader: open point in time on "+s.Index, &opened)
	if err != nil {
		return err
	}
	defer s.close(es, opened.ID)

	g, gctx := errgroup.WithContext(ctx)
	for i := range s.Slices {
		g.Go(func() error { return s.readSlice(gctx, es, opened.ID, keepAlive, i, onPage) })
	}
	return g.Wait()
}

// closeTimeout bounds releasing the point in time, also after the scan's context ended.
const closeTimeout = 10 * time.Second

func (s Scan) close(es esapi.Transport, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	body, err := esreq.Body(map[string]string{"id": id})
	if err == nil {
		// A point in time that cannot be closed expires after KeepAlive anyway.
		_ = esreq.Do(ctx, es, esapi.ClosePointInTimeRequest{Body: body}, "reader: close point in time", nil)
	}
}

// page is the part of a search answer a scan uses.
type page struct {
	PitID string `json:"pit_id"`
	Hits  struct {
		Hits []Hit `json:"hits"`
	} `json:"hits"`
}

func (s Scan) readSlice(ctx context.Context, es esapi.Transport, pitID, keepAlive string, slice int, onPage func(int, []Hit) error) error {
	var after []json.RawMessage
	for {
		req := map[string]any{
			"size":             s.PageSize,
			"query":            s.Query,
			"_source":          s.Source,
			"pit":              map[string]string{"id": pitID, "keep_alive": keepAlive},
			"sort":             []any{map[string]string{"_shard_doc": "asc"}},
			"track_total_hits": false,
		}
		if len(s.Fields) > 0 {
			req["docvalue_fields"] = s.Fields
		}
		if s.Slices > 1 {
			req["slice"] = map[string]int{"id": slice, "max": s.Slices}
		}
		if after != nil {
			req["search_after"] = after
		}
		body, err := esreq.Body(req)
		if err != nil {
			return fmt.Errorf("reader: scan %s: %w", s.Index, err)
		}
		var p page
		if err := esreq.Do(ctx, es, esapi.SearchRequest{Body: body}, fmt.Sprintf("reader: scan %s slice %d", s.Index, slice), &p); err != nil {
			return err
		}
		hits := p.Hits.Hits
		if len(hits) == 0 {
			return nil
		}
		if err := onPage(slice, hits); err != nil {
			return err
		}
		if p.PitID != "" {
			pitID = p.PitID // the id may change from page to page; the newest is the one to use
		}
		after = hits[len(hits)-1].Sort
		if len(hits) < s.PageSize {
			return nil
		}
	}
}

// Progress counts documents read across the slices of a scan and reports at most every interval.
type Progress struct {
	mu       sync.Mutex
	n        int64
	last     time.Time
	interval time.Duration
	report   func(docs int64)
}

// NewProgress returns a Progress that calls report (if not nil) at most every interval.
func NewProgress(interval time.Duration, report func(docs int64)) *Progress {
	return &Progress{interval: interval, report: report, last: time.Now()}
}

// Add counts n more documents.
func (p *Progress) Add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if p.report != nil && time.Since(p.last) >= p.interval {
		p.last = time.Now()
		p.report(p.n)
	}
}

// Total returns the documents counted so far.
func (p *Progress) Total() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
