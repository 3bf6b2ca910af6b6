package reader

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/processors/cloudtrail"
	"github.com/siemscore/siemscore/processors/identity"
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
	// SessionKeys keeps assumed roles' sessions apart (periodicity.Config.SessionKeys); by
	// default they count as their role, as score.APICallOf counts them.
	SessionKeys bool
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
// The principal is the user identity's ARN, or the principal ID when a record has no ARN, under
// the identity rule (score.APICallOf). A terms source cannot fall back from one field to another
// without a script, so the two cases are two aggregations: documents with an ARN by ARN, the
// others by user.id. Nor can it apply the identity rule: the buckets come by session and are
// merged here into their role. That needs no memory beyond one role: the sessions of a role sort
// together (they share the prefix up to the session name, arn:…:assumed-role/ROLE/ or AROA…:),
// and the composite aggregation returns its buckets in key order.
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
		// A principal's buckets arrive together (principal is the leading source), so each of
		// its pairs is offered to the sample once, whole.
		var cur string
		days := map[string]map[periodicity.Day]int64{} // the current principal's, by API
		offer := func() {
			apis := make([]string, 0, len(days))
			for api := range days {
				apis = append(apis, api)
			}
			slices.Sort(apis)
			for _, api := range apis {
				var pair []periodicity.DailyCount
				for d, n := range days[api] {
					pair = append(pair, periodicity.DailyCount{Day: d, Principal: cur, API: api, Count: n})
				}
				slices.SortFunc(pair, func(a, b periodicity.DailyCount) int { return cmp.Compare(a.Day, b.Day) })
				sample.Offer(sample.Priority(cur+"\x00"+api), pair)
			}
			clear(days)
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
				if !o.SessionKeys {
					dc.Principal = identity.Parse(dc.Principal).ID
				}
				if dc.Principal != cur {
					offer()
					cur = dc.Principal
				}
				if days[dc.API] == nil {
					days[dc.API] = map[periodicity.Day]int64{}
				}
				days[dc.API][dc.Day] += dc.Count
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
