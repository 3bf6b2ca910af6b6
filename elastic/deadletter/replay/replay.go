// Package replay writes dead letters again, once whatever stopped them is fixed (a mapping
// corrected, a size limit raised): `siemscore deadletter replay`. Each record goes back to the
// index or data stream it was meant for, under its own _id, with op create, exactly as it was
// first sent, so replaying is idempotent: a record already in its target, whichever backing index
// of a data stream holds it, is found first and not written again, and one written in between
// answers 409.
//
// The dead letters stay where they are (the data stream, the files): replaying twice writes
// nothing the second time and says so. A record refused again is counted, with the reason, and
// left in the dead letter.
package replay

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esreq"
)

// Counts are what a replay did with the dead letters it read.
type Counts struct {
	Read         int // dead letters read
	Written      int // records written again
	AlreadyThere int // records found in their target (replayed before, or written in between)
	Refused      int // refused again, left in the dead letter
	NotRecords   int // dead letters that are no record: undecodable input, unencodable documents
	Unreadable   int // lines of a dead-letter file that are not a dead letter
	// Problems holds the first few refusals and unreadable entries, for the report.
	Problems []string
}

// maxProblems bounds Counts.Problems.
const maxProblems = 10

func (c *Counts) problem(s string) {
	if len(c.Problems) < maxProblems {
		c.Problems = append(c.Problems, s)
	}
}

// Replayer re-delivers dead letters in batches.
type Replayer struct {
	// ES reads the targets (to find records already there); Deliver writes.
	ES      esapi.Transport
	Deliver *deliver.Deliverer
	// Batch is the number of records per batch (default 500).
	Batch int
}

// Run reads dead letters with read (deadletter.ReadPath or ReadIndex, bound to their source)
// and writes each record again. It stops at the first batch Elasticsearch does not acknowledge
// (unreachable, refusing writes): run it again once that is fixed.
func (r Replayer) Run(ctx context.Context, read func(func(deadletter.Entry) error) error) (Counts, error) {
	if r.Batch <= 0 {
		r.Batch = 500
	}
	var c Counts
	var batch []deadletter.Entry
	err := read(func(e deadletter.Entry) error {
		c.Read++
		if e.Err != nil {
			c.Unreadable++
			c.problem(e.Err.Error())
			return nil
		}
		if err := e.Replayable(); err != nil {
			c.NotRecords++
			return nil
		}
		batch = append(batch, e)
		if len(batch) < r.Batch {
			return nil
		}
		err := r.flush(ctx, batch, &c)
		batch = batch[:0]
		return err
	})
	if err == nil && len(batch) > 0 {
		err = r.flush(ctx, batch, &c)
	}
	return c, err
}

func (r Replayer) flush(ctx context.Context, batch []deadletter.Entry, c *Counts) error {
	present, err := r.present(ctx, batch)
	if err != nil {
		return err
	}
	var resends []deliver.Resend
	var from []deadletter.Entry
	for _, e := range batch {
		x := e.Doc.SiemScore.DeadLetter
		if present[x.Index][x.ID] {
			c.AlreadyThere++
			continue
		}
		resends = append(resends, deliver.Resend{Index: x.Index, Pipeline: x.Pipeline, ID: x.ID, Doc: []byte(x.Original)})
		from = append(from, e)
	}
	if len(resends) == 0 {
		return nil
	}
	out := r.Deliver.Redeliver(ctx, resends)
	c.Written += out.Created
	c.AlreadyThere += out.Duplicates
	c.Refused += out.Refused
	if out.Refused > 0 {
		c.problem(fmt.Sprintf("%d of the %d records of the batch from %s were refused again (last: %s)", out.Refused, len(resends), from[0].Where, out.Refusal))
	}
	if out.Unacknowledged() > 0 {
		return fmt.Errorf("replay: %d records not written: %w", out.Unacknowledged(), out.Err)
	}
	return nil
}

// present finds which records of the batch are already in their target: an ids query over the
// target name covers every backing index of a data stream, where _id is unique only per index.
func (r Replayer) present(ctx context.Context, batch []deadletter.Entry) (map[string]map[string]bool, error) {
	byIndex := map[string][]string{}
	for _, e := range batch {
		x := e.Doc.SiemScore.DeadLetter
		byIndex[x.Index] = append(byIndex[x.Index], x.ID)
	}
	out := map[string]map[string]bool{}
	for _, index := range slices.Sorted(maps.Keys(byIndex)) {
		ids := byIndex[index]
		body, err := esreq.Body(map[string]any{"size": len(ids), "_source": false, "query": map[string]any{"ids": map[string]any{"values": ids}}})
		if err != nil {
			return nil, err
		}
		var res struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err = esreq.Do(ctx, r.ES, esapi.SearchRequest{Index: []string{index}, Body: body, IgnoreUnavailable: ptr(true), AllowNoIndices: ptr(true)},
			"replay: look for the records in "+index, &res)
		if esreq.Status(err) == http.StatusNotFound {
			err = nil // the target does not exist (yet): nothing is there
		}
		if err != nil {
			return nil, err
		}
		out[index] = map[string]bool{}
		for _, h := range res.Hits.Hits {
			out[index][h.ID] = true
		}
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
