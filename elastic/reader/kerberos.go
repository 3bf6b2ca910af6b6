package reader

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/processors/zeek"
)

// KerberosOptions configure ReadKerberosFeatures.
type KerberosOptions struct {
	Index string // Zeek Kerberos documents: index names or patterns, comma-separated
	// Window is cut down to whole feature windows (multiples of WindowLength since the epoch, as
	// kerberos.WindowFeatures aligns them).
	Window Window
	// WindowLength is the feature window (kerberos.DefaultWindow if zero).
	WindowLength time.Duration
	// MaxSamples bounds the host windows kept (at least 1); above it a uniform sample is kept.
	MaxSamples int
	Seed       uint64
	PageSize   int // buckets per request
	// Progress, if set, counts the documents the buckets stand for.
	Progress *Progress
}

// KerberosFeatures is what ReadKerberosFeatures found.
type KerberosFeatures struct {
	// Samples are the host windows kept, in the sample's deterministic order.
	Samples []kerberos.HostWindow
	// Seen is the number of host windows found; Window the whole windows read.
	Seen   int64
	Window Window
}

// distinctPrecision is the cardinality aggregations' precision threshold: below it counts are
// (all but) exact. Hosts past it are the spraying and roasting ones, whose counts the streaming
// state also only estimates (see models/kerberos).
const distinctPrecision = 3000

// ReadKerberosFeatures computes every source host's features over tumbling windows with
// composite aggregations, by the definitions of the models/kerberos package documentation, as
// the streaming state computes them when scoring:
//
//	requests, failures, preauth_failures, principal_unknown   document counts (filters)
//	distinct_servers, distinct_clients, distinct_services     cardinality of destination.ip,
//	                                                          zeek.kerberos.client, .service
//	weak_cipher_services   cardinality of the services of tickets whose cipher starts rc4/des
//	top_server_share       the top responder's count (terms, size 1, ties to the first used) / requests
//	failure_ratio          failures / (requests + 1)
//	tgs_share              TGS requests / requests
//	top_server_load        requests from all hosts to the host's top responder in the window
//
// Nothing needs a script, which the cluster may not have; what an aggregation cannot do is done
// in Go from the aggregated counts: the three ratios, and top_server_load, a join of this
// aggregation with a second one counting requests per (window, responder). The success and
// request-type tests use zeek.kerberos.success and .request_type, falling back to event.outcome
// and event.action like score.KerberosRequestOf.
//
// Where the state estimates, the aggregations count (nearly) exactly: distinct values beyond 8
// per host, which the state keeps in a sketch, and the top responder of a host that used more
// than 4. When two responders tie for the top, the state keeps the one first tracked since the
// host was last idle for a whole window and the aggregation the one used first in the window;
// the share is the same, the load may differ.
func ReadKerberosFeatures(ctx context.Context, es esapi.Transport, o KerberosOptions) (KerberosFeatures, error) {
	if o.WindowLength == 0 {
		o.WindowLength = kerberos.DefaultWindow
	}
	if o.WindowLength < time.Minute || o.WindowLength%time.Second != 0 {
		return KerberosFeatures{}, fmt.Errorf("reader: Kerberos: window length %v is not a whole number of seconds of at least a minute", o.WindowLength)
	}
	if o.MaxSamples < 1 {
		return KerberosFeatures{}, errors.New("reader: Kerberos: MaxSamples must be at least 1")
	}
	w := Window{Start: ceilTo(o.Window.Start, o.WindowLength), End: o.Window.End.Truncate(o.WindowLength)}
	if err := w.validate(); err != nil {
		return KerberosFeatures{}, fmt.Errorf("reader: Kerberos: no whole %v window in %s .. %s", o.WindowLength,
			o.Window.Start.Format(time.RFC3339), o.Window.End.Format(time.RFC3339))
	}
	interval := strconv.FormatInt(int64(o.WindowLength/time.Second), 10) + "s"
	window := map[string]any{"window": map[string]any{"date_histogram": map[string]any{"field": "@timestamp", "fixed_interval": interval}}}
	base := []any{w.rangeQuery(), datasetQuery(zeek.Dataset)}

	loads, err := serverLoads(ctx, es, o, window, base)
	if err != nil {
		return KerberosFeatures{}, err
	}
	sample := NewSample[kerberos.HostWindow](o.MaxSamples, o.Seed)
	comp := Composite{
		Index: o.Index, PageSize: o.PageSize,
		Query: map[string]any{"bool": map[string]any{"filter": append(base[:len(base):len(base)], exists("source.ip"))}},
		Sources: []map[string]any{
			window,
			{"host": map[string]any{"terms": map[string]any{"field": "source.ip"}}},
		},
		Aggs: hostAggs,
	}
	err = comp.Run(ctx, es, func(buckets []Bucket) error {
		var docs int64
		for i := range buckets {
			b := &buckets[i]
			host, ok1 := b.String("host")
			ms, ok2 := b.Int("window")
			addr, err := netip.ParseAddr(host)
			if !ok1 || !ok2 || err != nil {
				return fmt.Errorf("reader: Kerberos: unexpected bucket key %v", b.Key)
			}
			f, err := hostFeatures(b)
			if err != nil {
				return fmt.Errorf("reader: Kerberos: host %s window %d: %w", host, ms, err)
			}
			if f.top != "" {
				f.f[kerberos.TopServerLoad] = float64(loads[windowServer{ms, f.top}])
			}
			hw := kerberos.HostWindow{Host: addr, End: time.UnixMilli(ms).UTC().Add(o.WindowLength), Features: f.f}
			sample.Offer(sample.Priority(strconv.FormatInt(ms, 10)+"/"+host), hw)
			docs += b.DocCount
		}
		o.Progress.Add(int(docs))
		return nil
	})
	if err != nil {
		return KerberosFeatures{}, err
	}
	return KerberosFeatures{Samples: sample.Items(), Seen: sample.Seen(), Window: w}, nil
}

func ceilTo(t time.Time, d time.Duration) time.Time {
	c := t.Truncate(d)
	if c.Before(t) {
		c = c.Add(d)
	}
	return c
}

// windowServer keys the requests all hosts sent to one responder in one window.
type windowServer struct {
	window int64 // epoch milliseconds of the window's start
	server string
}

// serverLoads counts the requests per (window, responder).
func serverLoads(ctx context.Context, es esapi.Transport, o KerberosOptions, window map[string]any, base []any) (map[windowServer]int64, error) {
	loads := map[windowServer]int64{}
	comp := Composite{
		Index: o.Index, PageSize: o.PageSize,
		Query: map[string]any{"bool": map[string]any{"filter": append(base[:len(base):len(base)], exists("source.ip"), exists("destination.ip"))}},
		Sources: []map[string]any{
			window,
			{"server": map[string]any{"terms": map[string]any{"field": "destination.ip"}}},
		},
	}
	err := comp.Run(ctx, es, func(buckets []Bucket) error {
		for i := range buckets {
			ms, _ := buckets[i].Int("window")
			server, _ := buckets[i].String("server")
			loads[windowServer{ms, server}] = buckets[i].DocCount
		}
		return nil
	})
	return loads, err
}

func term(field string, v any) map[string]any {
	return map[string]any{"term": map[string]any{field: v}}
}

func boolQuery(clauses map[string]any) map[string]any { return map[string]any{"bool": clauses} }

// success is score.KerberosRequestOf's success test: zeek.kerberos.success when the document
// has it, else event.outcome "success".
var success = boolQuery(map[string]any{"minimum_should_match": 1, "should": []any{
	term("zeek.kerberos.success", true),
	boolQuery(map[string]any{"must_not": []any{exists("zeek.kerberos.success")}, "filter": []any{term("event.outcome", "success")}}),
}})

// hostAggs are the per-(window, host) sub-aggregations.
var hostAggs = map[string]any{
	"servers":  map[string]any{"cardinality": map[string]any{"field": "destination.ip", "precision_threshold": distinctPrecision}},
	"clients":  map[string]any{"cardinality": map[string]any{"field": "zeek.kerberos.client", "precision_threshold": distinctPrecision}},
	"services": map[string]any{"cardinality": map[string]any{"field": "zeek.kerberos.service", "precision_threshold": distinctPrecision}},
	// Ties go to the responder the host used first, as in the streaming state.
	"top": map[string]any{
		"terms": map[string]any{"field": "destination.ip", "size": 1, "order": []any{
			map[string]string{"_count": "desc"}, map[string]string{"first": "asc"}}},
		"aggs": map[string]any{"first": map[string]any{"min": map[string]any{"field": "@timestamp"}}},
	},
	// A failure is an unsuccessful request other than KDC_ERR_PREAUTH_REQUIRED.
	"failures": map[string]any{
		"filter": boolQuery(map[string]any{"must_not": []any{success, term("zeek.kerberos.error.msg", kerberos.ErrPreauthRequired)}}),
		"aggs": map[string]any{
			"preauth": map[string]any{"filter": term("zeek.kerberos.error.msg", kerberos.ErrPreauthFailed)},
			"unknown": map[string]any{"filter": term("zeek.kerberos.error.msg", kerberos.ErrPrincipalUnknown)},
		},
	},
	"tgs": map[string]any{"filter": boolQuery(map[string]any{"minimum_should_match": 1, "should": []any{
		term("zeek.kerberos.request_type", "TGS"),
		boolQuery(map[string]any{"must_not": []any{exists("zeek.kerberos.request_type")}, "filter": []any{term("event.action", "TGS")}}),
	}})},
	"weak": map[string]any{
		"filter": boolQuery(map[string]any{"minimum_should_match": 1, "should": []any{
			map[string]any{"prefix": map[string]any{"zeek.kerberos.cipher": "rc4"}},
			map[string]any{"prefix": map[string]any{"zeek.kerberos.cipher": "des"}},
		}}),
		"aggs": map[string]any{"services": map[string]any{"cardinality": map[string]any{"field": "zeek.kerberos.service", "precision_threshold": distinctPrecision}}},
	},
}

type hostWindow struct {
	f   kerberos.Features
	top string // the top responder, "" if the host's requests had none
}

type valueAgg struct {
	Value float64 `json:"value"`
}

type countAgg struct {
	DocCount int64 `json:"doc_count"`
}

// hostFeatures turns one bucket's sub-aggregations into features; top_server_load is the
// caller's join.
func hostFeatures(b *Bucket) (hostWindow, error) {
	var (
		servers, clients, services valueAgg
		top                        struct {
			Buckets []struct {
				Key      string `json:"key"`
				DocCount int64  `json:"doc_count"`
			} `json:"buckets"`
		}
		failures struct {
			DocCount int64    `json:"doc_count"`
			Preauth  countAgg `json:"preauth"`
			Unknown  countAgg `json:"unknown"`
		}
		tgs  countAgg
		weak struct {
			Services valueAgg `json:"services"`
		}
	)
	for name, out := range map[string]any{
		"servers": &servers, "clients": &clients, "services": &services, "top": &top,
		"failures": &failures, "tgs": &tgs, "weak": &weak,
	} {
		if err := b.Agg(name, out); err != nil {
			return hostWindow{}, err
		}
	}
	n := float64(b.DocCount)
	var h hostWindow
	f := &h.f
	f[kerberos.Requests] = n
	f[kerberos.DistinctServers] = servers.Value
	f[kerberos.Failures] = float64(failures.DocCount)
	f[kerberos.FailureRatio] = float64(failures.DocCount) / (n + 1)
	f[kerberos.DistinctClients] = clients.Value
	f[kerberos.DistinctServices] = services.Value
	f[kerberos.PreauthFailures] = float64(failures.Preauth.DocCount)
	f[kerberos.PrincipalUnknown] = float64(failures.Unknown.DocCount)
	f[kerberos.WeakCipherServices] = weak.Services.Value
	if n > 0 {
		f[kerberos.TGSShare] = float64(tgs.DocCount) / n
		if len(top.Buckets) > 0 {
			f[kerberos.TopServerShare] = float64(top.Buckets[0].DocCount) / n
			h.top = top.Buckets[0].Key
		}
	}
	return h, nil
}
