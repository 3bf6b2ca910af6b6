package reader

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/processors/cloudtrail"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Window is the half-open time range [Start, End) of the training data.
type Window struct {
	Start, End time.Time
}

func (w Window) validate() error {
	if !w.End.After(w.Start) {
		return fmt.Errorf("reader: empty window %s .. %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	return nil
}

// rangeQuery selects @timestamp in w.
func (w Window) rangeQuery() map[string]any {
	return map[string]any{"range": map[string]any{"@timestamp": map[string]any{
		"gte": w.Start.UTC().Format(time.RFC3339Nano), "lt": w.End.UTC().Format(time.RFC3339Nano),
		"format": "strict_date_optional_time_nanos",
	}}}
}

// datasetQuery selects the documents one processor wrote, whatever index layout the plugin
// writes with (per-kind data streams or one es_index).
func datasetQuery(dataset string) map[string]any {
	return map[string]any{"term": map[string]any{"event.dataset": dataset}}
}

func exists(field string) map[string]any {
	return map[string]any{"exists": map[string]any{"field": field}}
}

// IPOptions configure ReadIPPairs.
type IPOptions struct {
	Index  string // CloudTrail documents: index names or patterns, comma-separated
	Window Window
	// MaxPairs bounds the sample kept in memory (at least 1).
	MaxPairs int
	Seed     uint64
	// Slices and PageSize tune the scan (see Scan).
	Slices, PageSize int
	// Progress, if set, counts the documents read.
	Progress *Progress
}

// IPPairs is what ReadIPPairs found.
type IPPairs struct {
	// Pairs is the sample, in the sample's deterministic order.
	Pairs []score.IPPair
	// Docs is the number of documents read; Skipped those without a usable pair (a call made by
	// an AWS service, a source that is not an address).
	Docs, Skipped int64
}

// ReadIPPairs reads the (principal, address) pair of every CloudTrail document in the window,
// with its time, with a scan, and keeps a uniform sample of at most MaxPairs of them.
//
// This is a scan and not an aggregation: the principal is the identity rule's reading of the
// principal ID, ARN and account (score.IPPairOf, so that training sees exactly what scoring
// asks about), which a terms aggregation cannot compute without a script, and the IP model
// trains on events in time order, not on distinct pairs. The sample is keyed by document _id, so it does not depend on the slices'
// interleaving.
func ReadIPPairs(ctx context.Context, es esapi.Transport, o IPOptions) (IPPairs, error) {
	if err := o.Window.validate(); err != nil {
		return IPPairs{}, err
	}
	if o.MaxPairs < 1 {
		return IPPairs{}, errors.New("reader: IP pairs: MaxPairs must be at least 1")
	}
	sample := NewSample[score.IPPair](o.MaxPairs, o.Seed)
	var (
		mu      sync.Mutex
		names   = map[string]string{} // interned entities: a few thousand principals, millions of events
		skipped int64
	)
	intern := func(s string) string {
		mu.Lock()
		defer mu.Unlock()
		if v, ok := names[s]; ok {
			return v
		}
		names[s] = s
		return s
	}
	scan := Scan{
		Index: o.Index,
		Query: map[string]any{"bool": map[string]any{"filter": []any{
			o.Window.rangeQuery(), datasetQuery(cloudtrail.Dataset), exists("user.id"), exists("source.ip"),
		}}},
		Fields: []Field{{Name: "user.id"}, {Name: "aws.cloudtrail.user_identity.arn"}, {Name: "cloud.account.id"},
			{Name: "source.ip"}, {Name: "source.address"}, {Name: "@timestamp", Format: "strict_date_optional_time_nanos"}},
		Slices: o.Slices, PageSize: o.PageSize,
	}
	err := scan.Run(ctx, es, func(_ int, hits []Hit) error {
		var bad int64
		for i := range hits {
			pair, ok := ipPairOf(&hits[i])
			if !ok {
				bad++
				continue
			}
			pair.Principal.ID, pair.Principal.Account = intern(pair.Principal.ID), intern(pair.Principal.Account)
			sample.Offer(sample.Priority(hits[i].ID), pair)
		}
		mu.Lock()
		skipped += bad
		mu.Unlock()
		o.Progress.Add(len(hits))
		return nil
	})
	if err != nil {
		return IPPairs{}, err
	}
	return IPPairs{Pairs: sample.Items(), Docs: sample.Seen() + skipped, Skipped: skipped}, nil
}

// ipPairOf applies the scorer's extraction rule to a hit's fields.
func ipPairOf(h *Hit) (score.IPPair, bool) {
	ip, err := netip.ParseAddr(h.First("source.ip"))
	if err != nil {
		return score.IPPair{}, false
	}
	doc := ecs.Document{
		User:   &ecs.User{ID: h.First("user.id")},
		AWS:    &ecs.AWS{CloudTrail: &ecs.CloudTrail{UserIdentity: ecs.UserIdentity{ARN: h.First("aws.cloudtrail.user_identity.arn")}}},
		Cloud:  &ecs.Cloud{Account: ecs.CloudAccount{ID: h.First("cloud.account.id")}},
		Source: &ecs.Endpoint{Address: h.First("source.address"), IP: ip},
	}
	// The event time orders the pairs for the IP model's time split; without one the pair
	// still counts.
	doc.Timestamp, _ = time.Parse(time.RFC3339Nano, h.First("@timestamp"))
	pair, reason := score.IPPairOf(ecs.KindCloudTrail, &doc)
	return pair, reason == ""
}
