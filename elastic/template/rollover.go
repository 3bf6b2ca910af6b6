package template

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
)

// rollOver rolls over every existing data stream matching patterns that holds documents, and
// returns those it rolled over.
//
// A template only applies when a backing index is created, so without this a data stream
// keeps its old mappings until its next rollover, up to 30 days: new siemscore fields would go
// unindexed (the siemscore object is not dynamic), and a data stream that Elastic's own logs-*-*
// template created before siemscore's was installed would never get siemscore's mappings.
//
// The rollover is conditional on the write index holding a document (after a refresh, which
// max_docs needs): when several plugin instances do this at once, the first one rolls over and
// the others find the new, empty write index and leave it. Lazy rollover would express this
// better but needs the data-streams module, which minimal clusters lack (the flag is accepted
// and then never acted on).
//
// Failures are logged, not returned: delivery works without the rollover, only the new
// mappings wait for the next regular one.
func rollOver(ctx context.Context, es *esclient.Client, patterns []string, log hclog.Logger) []string {
	names, err := dataStreams(ctx, es, patterns)
	if err != nil {
		log.Warn("cannot list data streams to roll over; new mappings apply at their next rollover",
			"error", es.Redactor().Error(err))
		return nil
	}
	var rolled []string
	for _, ds := range names {
		ok, err := rollOverOne(ctx, es, ds)
		if err != nil {
			log.Warn("cannot roll over data stream; new mappings apply at its next rollover",
				"data_stream", ds, "error", es.Redactor().Error(err))
			continue
		}
		if ok {
			rolled = append(rolled, ds)
		}
	}
	return rolled
}

func rollOverOne(ctx context.Context, es *esclient.Client, ds string) (bool, error) {
	res, err := esapi.IndicesRefreshRequest{Index: []string{ds}}.Do(ctx, es)
	if err != nil {
		return false, err
	}
	res.Body.Close()
	res, err = esapi.IndicesRolloverRequest{Alias: ds, Body: strings.NewReader(`{"conditions":{"max_docs":1}}`)}.Do(ctx, es)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return false, errors.New(esclient.Describe(res))
	}
	var out struct {
		RolledOver bool `json:"rolled_over"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return false, err
	}
	return out.RolledOver, nil
}

// dataStreams resolves patterns to the names of existing data streams.
func dataStreams(ctx context.Context, es *esclient.Client, patterns []string) ([]string, error) {
	res, err := esapi.IndicesResolveIndexRequest{Name: patterns}.Do(ctx, es)
	if err != nil {
		return nil, fmt.Errorf("template: resolve %v: %w", patterns, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if res.IsError() {
		return nil, fmt.Errorf("template: resolve %v: %s", patterns, esclient.Describe(res))
	}
	var resolved struct {
		DataStreams []struct {
			Name string `json:"name"`
		} `json:"data_streams"`
	}
	if err := json.NewDecoder(res.Body).Decode(&resolved); err != nil {
		return nil, fmt.Errorf("template: resolve %v: %w", patterns, err)
	}
	var names []string
	for _, ds := range resolved.DataStreams {
		names = append(names, ds.Name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
