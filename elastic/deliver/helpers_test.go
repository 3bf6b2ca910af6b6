package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// newClient returns an esclient for url with quick retries, closed when the test ends.
func newClient(t testing.TB, url string, edit func(*esclient.Config)) *esclient.Client {
	t.Helper()
	c := esclient.DefaultConfig()
	c.Hosts = []string{url}
	c.RequestTimeout = 20 * time.Second
	c.RetryBackoff = esclient.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	if edit != nil {
		edit(&c)
	}
	cl, err := esclient.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(context.Background()) })
	return cl
}

// newDeliverer returns a Deliverer writing through url into namespace ns, closed when the test
// ends.
func newDeliverer(t testing.TB, url, ns string, edit func(*deliver.Config)) *deliver.Deliverer {
	t.Helper()
	return newDelivererVia(t, newClient(t, url, nil), ns, edit)
}

// newDelivererVia is newDeliverer with a given client.
func newDelivererVia(t testing.TB, cl *esclient.Client, ns string, edit func(*deliver.Config)) *deliver.Deliverer {
	t.Helper()
	cfg := deliver.DefaultConfig()
	cfg.Namespace = ns
	cfg.RetryBackoff = esclient.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.Templates.Enabled = false // installed once per server by readertest.Namespace
	if edit != nil {
		edit(&cfg)
	}
	d, err := deliver.New(cl, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

var allKinds = ecs.Kinds()

// makeRecords returns n records, round-robin over kinds, with IDs unique to tag.
func makeRecords(tag string, from, n int, kinds ...ecs.Kind) []ecs.Record {
	if len(kinds) == 0 {
		kinds = allKinds
	}
	recs := make([]ecs.Record, n)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range recs {
		j := from + i
		recs[i] = ecs.Record{
			Kind: kinds[j%len(kinds)],
			ID:   fmt.Sprintf("%s-%06d", tag, j),
			Doc: &ecs.Document{
				Timestamp: base.Add(time.Duration(j) * time.Second),
				ECS:       ecs.ECSInfo{Version: ecs.Version},
				Event:     ecs.Event{Kind: "event", Action: "ConsoleLogin", Outcome: "success", RiskScoreNorm: ecs.Float(float64(j % 100))},
				Source:    &ecs.Endpoint{Address: "198.51.100.7", IP: netip.MustParseAddr("198.51.100.7")},
				User:      &ecs.User{Name: fmt.Sprintf("user%d", j%17)},
				SiemScore: ecs.SiemScore{Model: ecs.ModelInfo{Status: ecs.ModelUntrained}},
			},
		}
	}
	return recs
}

// esCall runs a request against the real server and decodes its JSON answer into out.
func esCall(t testing.TB, url, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// count refreshes the indices and counts the documents they hold (0 if they do not exist).
func count(t testing.TB, url string, indices ...string) int {
	t.Helper()
	idx := strings.Join(indices, ",")
	esCall(t, url, http.MethodPost, "/"+idx+"/_refresh?ignore_unavailable=true", "", nil)
	var c struct {
		Count int `json:"count"`
	}
	esCall(t, url, http.MethodGet, "/"+idx+"/_count?ignore_unavailable=true", "", &c)
	return c.Count
}

// streams lists the data streams of every kind in namespace ns.
func streams(ns string) []string {
	var out []string
	for _, k := range allKinds {
		out = append(out, target.DataStream(k.String(), ns))
	}
	return out
}

// checkSums fails when an outcome's counts do not add up to its records.
func checkSums(t testing.TB, o deliver.Outcome) {
	t.Helper()
	if o.Created+o.Duplicates+o.DeadLettered+o.Refused+o.Unacknowledged() != o.Records || o.Unacknowledged() < 0 || o.ToFile > o.DeadLettered {
		t.Errorf("outcome counts do not add up: %+v", o)
	}
	if (o.Status == deliver.OK) != (o.Unacknowledged() == 0) {
		t.Errorf("status %s with %d unacknowledged: %+v", o.Status, o.Unacknowledged(), o)
	}
	if (o.Status == deliver.Retry) != (o.Err != nil) {
		t.Errorf("status %s must come with an error exactly when it is Retry: %+v", o.Status, o)
	}
}

// deliverUntilOK re-sends a chunk the way Fluent Bit does until it is acknowledged.
func deliverUntilOK(t testing.TB, d *deliver.Deliverer, recs []ecs.Record, limit int) []deliver.Outcome {
	t.Helper()
	var outs []deliver.Outcome
	for range limit {
		o := d.Deliver(context.Background(), recs)
		checkSums(t, o)
		outs = append(outs, o)
		if o.Status == deliver.OK {
			return outs
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("chunk not acknowledged after %d attempts: %+v", limit, outs[len(outs)-1])
	return nil
}
