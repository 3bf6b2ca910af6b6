package reader

import (
	"context"
	"errors"
	"fmt"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/processors/cloudtrail"
)

// APIOptions configure ReadAPICounts.
type APIOptions struct {
	Index string // CloudTrail documents: index names or patterns, comma-separated
	// Window should start and end at UTC midnight: a partial first or last day reads as a day of
	// low volume.
	Window Window
	// MaxPairs bounds the (principal, API) pairs kept in memory (at least 1); above it a uniform
	// sample of pairs is kept, each with all its days.
	MaxPairs int
	Seed     uint64
	PageSize int // buckets per request
	// Progress, if set, counts the documents the buckets stand for.
	Progress *Progress
}

// APICounts is what ReadAPICounts found.
type APICounts struct {
	Counts []periodicity.DailyCount
	// Pairs is the number of pairs kept, Seen the number found.
	Pairs int
	Seen  int64
}

// ReadAPICounts reads the daily call count of every (principal, API) pair in the window with
// composite aggregations (UTC day × principal × API), which is how the periodicity model wants
// its training data (periodicity.DailyCount), at the cost of one bucket per pair and active day.
//
// The principal is the user identity's ARN, or the principal ID when a record has no ARN
// (score.APICallOf). A terms source cannot fall back from one field to another without a script,
// so the two cases are two aggregations: documents with an ARN by ARN, the others by user.id.
func ReadAPICounts(ctx context.Context, es esapi.Transport, o APIOptions) (APICounts, error) {
	if err := o.Window.validate(); err != nil {
		return APICounts{}, err
	}
	if o.MaxPairs < 1 {
		return APICounts{}, errors.New("reader: API counts: MaxPairs must be at least 1")
	}
	sample := NewSample[[]periodicity.DailyCount](o.MaxPairs, o.Seed)
	base := []any{o.Window.rangeQuery(), datasetQuery(cloudtrail.Dataset), exists("event.action")}
	for _, pass := range []struct {
		field string
		query map[string]any
	}{
		{"aws.cloudtrail.user_identity.arn", map[string]any{"bool": map[string]any{
			"filter": append(base[:len(base):len(base)], exists("aws.cloudtrail.user_identity.arn"))}}},
		{"user.id", map[string]any{"bool": map[string]any{
			"filter":   append(base[:len(base):len(base)], exists("user.id")),
			"must_not": []any{exists("aws.cloudtrail.user_identity.arn")}}}},
	} {
		// A pair's days arrive together (principal and API are the leading sources), so each
		// pair is offered to the sample once, whole.
		var cur []periodicity.DailyCount
		offer := func() {
			if len(cur) > 0 {
				sample.Offer(sample.Priority(cur[0].Principal+"\x00"+cur[0].API), cur)
				cur = nil
			}
		}
		comp := Composite{
			Index: o.Index, Query: pass.query, PageSize: o.PageSize,
			Sources: []map[string]any{
				{"principal": map[string]any{"terms": map[string]any{"field": pass.field}}},
				{"api": map[string]any{"terms": map[string]any{"field": "event.action"}}},
				{"day": map[string]any{"date_histogram": map[string]any{"field": "@timestamp", "calendar_interval": "1d", "time_zone": "UTC"}}},
			},
		}
		err := comp.Run(ctx, es, func(buckets []Bucket) error {
			var docs int64
			for i := range buckets {
				b := &buckets[i]
				dc, err := dailyCountOf(b)
				if err != nil {
					return err
				}
				if len(cur) > 0 && (cur[0].Principal != dc.Principal || cur[0].API != dc.API) {
					offer()
				}
				cur = append(cur, dc)
				docs += b.DocCount
			}
			o.Progress.Add(int(docs))
			return nil
		})
		if err != nil {
			return APICounts{}, err
		}
		offer()
	}
	out := APICounts{Seen: sample.Seen()}
	for _, days := range sample.Items() {
		out.Counts = append(out.Counts, days...)
		out.Pairs++
	}
	return out, nil
}

const msPerDay = 86_400_000

func dailyCountOf(b *Bucket) (periodicity.DailyCount, error) {
	principal, ok1 := b.String("principal")
	api, ok2 := b.String("api")
	ms, ok3 := b.Int("day")
	if !ok1 || !ok2 || !ok3 || ms < 0 {
		return periodicity.DailyCount{}, fmt.Errorf("reader: API counts: unexpected bucket key %v", b.Key)
	}
	return periodicity.DailyCount{Day: periodicity.Day(ms / msPerDay), Principal: principal, API: api, Count: b.DocCount}, nil
}
