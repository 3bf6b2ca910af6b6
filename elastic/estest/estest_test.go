package estest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/siemscore/siemscore/elastic/estest"
)

func TestUniqueNameIsValidAndFresh(t *testing.T) {
	tag := regexp.MustCompile(`^[a-z0-9_]{1,49}$`)
	t.Run("Odd Name/With-Caps:and#Symbols", func(t *testing.T) {
		a := estest.UniqueName(t, "logs-siemscore.test")
		b := estest.UniqueName(t, "logs-siemscore.test")
		if a == b {
			t.Fatalf("two calls gave the same name %q", a)
		}
		for _, name := range []string{a, b} {
			rest, ok := strings.CutPrefix(name, "logs-siemscore.test-")
			if !ok || !tag.MatchString(rest) {
				t.Errorf("name %q: want prefix + '-' + [a-z0-9_]{1,49}", name)
			}
			if !strings.Contains(rest, "odd_name_with_caps_and_symbols") {
				t.Errorf("name %q does not name the test", name)
			}
		}
	})
}

func TestServerIsElasticsearch8(t *testing.T) {
	u := estest.URL(t)
	res, err := http.Get(u + "/_nodes/_local?filter_path=nodes.*.version")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := res.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Errorf("X-Elastic-Product = %q, want Elasticsearch (go-elasticsearch refuses other servers)", got)
	}
	var nodes struct {
		Nodes map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&nodes); err != nil {
		t.Fatalf("nodes info: %v", err)
	}
	for id, n := range nodes.Nodes {
		if !strings.HasPrefix(n.Version, "8.") {
			t.Errorf("node %s runs Elasticsearch %q, want 8.x", id, n.Version)
		}
	}
	if len(nodes.Nodes) == 0 {
		t.Error("nodes info lists no node")
	}
}

func TestIndexedDocumentSurvivesRestart(t *testing.T) {
	c := estest.Client(t)
	index := estest.CreateIndex(t, "estest", `{"settings":{"number_of_replicas":0},"mappings":{"properties":{"source":{"properties":{"ip":{"type":"ip"}}}}}}`)
	indexDoc(t, c, index, `{"source":{"ip":"192.0.2.7"}}`)
	if n := countIP(t, c, index, "192.0.2.0/24"); n != 1 {
		t.Fatalf("before restart: %d hits, want 1", n)
	}

	estest.Restart(t)

	if n := countIP(t, c, index, "192.0.2.0/24"); n != 1 {
		t.Fatalf("after restart: %d hits, want 1", n)
	}
}

func TestStoppedServerRefusesUntilStarted(t *testing.T) {
	c := estest.Client(t)
	index := estest.CreateIndex(t, "estest", "")
	indexDoc(t, c, index, `{"source":{"ip":"198.51.100.1"}}`)

	estest.Stop(t)
	if res, err := c.Cluster.Health(); err == nil {
		res.Body.Close()
		t.Fatalf("cluster health answered HTTP %d while the server was stopped", res.StatusCode)
	}
	estest.Start(t)

	if n := countIP(t, c, index, "198.51.100.1"); n != 1 {
		t.Fatalf("after stop and start: %d hits, want 1", n)
	}
}

func TestBulkCreateMakesDataStream(t *testing.T) {
	c := estest.Client(t)
	name := estest.CreateDataStream(t, "logs-estest", `{"settings":{"number_of_replicas":0},"mappings":{"properties":{"@timestamp":{"type":"date"},"source":{"properties":{"ip":{"type":"ip"}}}}}}`)

	var bulk strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q}}\n{\"@timestamp\":\"2024-05-01T00:00:0%dZ\",\"source\":{\"ip\":\"203.0.113.%d\"}}\n", name, i, i)
	}
	res, err := c.Bulk(strings.NewReader(bulk.String()), c.Bulk.WithRefresh("true"))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res.Body)
	var items struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Index  string `json:"_index"`
			Status int    `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &items); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("bulk: HTTP %d %s %v", res.StatusCode, body, err)
	}
	if items.Errors || len(items.Items) != 3 {
		t.Fatalf("bulk: want 3 created items, got %s", body)
	}
	for _, item := range items.Items {
		if r := item["create"]; r.Status != http.StatusCreated || !strings.HasPrefix(r.Index, ".ds-"+name+"-") {
			t.Errorf("bulk item went to %q with HTTP %d, want a .ds-%s-* backing index and 201", r.Index, r.Status, name)
		}
	}
	if n := countIP(t, c, name, "203.0.113.0/24"); n != 3 {
		t.Fatalf("data stream holds %d documents, want 3", n)
	}

	estest.DeleteDataStream(t, name)
	if open := openBackingIndices(t, c, name); len(open) != 0 {
		t.Errorf("after DeleteDataStream, backing indices %v are still open", open)
	}
}

func indexDoc(t *testing.T, c *elasticsearch.Client, index, doc string) {
	t.Helper()
	res, err := c.Index(index, strings.NewReader(doc), c.Index.WithRefresh("true"))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res.Body); res.StatusCode != http.StatusCreated {
		t.Fatalf("index into %s: HTTP %d %s", index, res.StatusCode, body)
	}
}

// countIP counts documents whose source.ip is in cidr, through a search so
// the query path (ip mapping, CIDR term) is exercised, not just _count.
func countIP(t *testing.T, c *elasticsearch.Client, index, cidr string) int {
	t.Helper()
	query := fmt.Sprintf(`{"query":{"term":{"source.ip":%q}},"track_total_hits":true}`, cidr)
	res, err := c.Search(c.Search.WithContext(context.Background()), c.Search.WithIndex(index), c.Search.WithBody(strings.NewReader(query)))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res.Body)
	var out struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(body, &out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("search %s: HTTP %d %s %v", index, res.StatusCode, body, err)
	}
	return out.Hits.Total.Value
}

func openBackingIndices(t *testing.T, c *elasticsearch.Client, name string) []string {
	t.Helper()
	res, err := c.Cat.Indices(c.Cat.Indices.WithIndex(name), c.Cat.Indices.WithExpandWildcards("all"),
		c.Cat.Indices.WithH("index", "status"), c.Cat.Indices.WithFormat("json"))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res.Body)
	if res.StatusCode == http.StatusNotFound {
		return nil
	}
	var rows []struct {
		Index  string `json:"index"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &rows); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("cat indices %s: HTTP %d %s %v", name, res.StatusCode, body, err)
	}
	var open []string
	for _, r := range rows {
		if r.Status == "open" {
			open = append(open, r.Index)
		}
	}
	return open
}

func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
