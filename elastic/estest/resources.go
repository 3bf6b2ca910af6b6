package estest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
)

// templatePriority outranks Elastic's built-in templates (100-500), so a test
// data stream named like logs-*-* still gets the test's own template.
const templatePriority = 10000

// UniqueName returns prefix + "-" + a tag made of the end of the test's name
// (its most specific part) and random bits. The tag is lowercase and has no
// hyphen, so the result is a valid index or data stream name and, for prefix
// "logs-<dataset>", the tag is a valid data stream namespace.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	tag := b.String()
	tag = strings.Trim(tag[max(0, len(tag)-40):], "_")
	random := make([]byte, 4)
	if _, err := rand.Read(random); err != nil {
		t.Fatalf("estest: random name: %v", err)
	}
	return prefix + "-" + tag + "_" + hex.EncodeToString(random)
}

// Namespace returns a siemscore data stream namespace of the test's own, and removes (or
// retires) its data streams, every kind's and the dead letter's, when the test ends.
func Namespace(t testing.TB) string {
	t.Helper()
	ns := strings.TrimPrefix(UniqueName(t, "x"), "x-")
	t.Cleanup(func() {
		for _, k := range ecs.Kinds() {
			DeleteDataStream(t, target.DataStream(k.String(), ns))
		}
		DeleteDataStream(t, target.DeadLetter(ns))
	})
	return ns
}

// CreateIndex creates an index with a unique name and the given create-index
// body (settings, mappings), deleted again when the test ends. An empty body
// means no mappings and no replicas.
func CreateIndex(t testing.TB, prefix, body string) string {
	t.Helper()
	c := Client(t)
	name := UniqueName(t, prefix)
	if body == "" {
		body = `{"settings":{"number_of_replicas":0}}`
	}
	status, resp, err := call(c.Indices.Create(name, c.Indices.Create.WithBody(strings.NewReader(body))))
	if err != nil || status != http.StatusOK {
		t.Fatalf("estest: create index %s: HTTP %d %s %v", name, status, resp, err)
	}
	t.Cleanup(func() {
		status, resp, err := call(c.Indices.Delete([]string{name}))
		if err != nil || status != http.StatusOK && status != http.StatusNotFound {
			t.Errorf("estest: delete index %s: HTTP %d %s %v", name, status, resp, err)
		}
	})
	return name
}

// CreateDataStream installs an index template owned by the test whose only
// pattern is a new unique name, and returns that name. template is the
// template's "template" object (settings, mappings); empty means none. The
// data stream itself appears on the first "create" into the name, as in
// production. When the test ends, the data stream and template are removed
// as far as the server allows (see DeleteDataStream).
func CreateDataStream(t testing.TB, prefix, template string) string {
	t.Helper()
	c := Client(t)
	name := UniqueName(t, prefix)
	if template == "" {
		template = "{}"
	}
	body := fmt.Sprintf(`{"index_patterns":[%q],"data_stream":{},"priority":%d,"template":%s}`, name, templatePriority, template)
	status, resp, err := call(c.Indices.PutIndexTemplate(name, strings.NewReader(body)))
	if err != nil || status != http.StatusOK {
		t.Fatalf("estest: put index template %s: HTTP %d %s %v", name, status, resp, err)
	}
	t.Cleanup(func() {
		if !DeleteDataStream(t, name) {
			return // the template stays in use by the retired data stream
		}
		status, resp, err := call(c.Indices.DeleteIndexTemplate(name))
		if err != nil || status != http.StatusOK && status != http.StatusNotFound {
			t.Errorf("estest: delete index template %s: HTTP %d %s %v", name, status, resp, err)
		}
	})
	return name
}

// DeleteDataStream deletes a data stream, if it exists, and reports whether
// it is gone. The harness server has no data-streams module, hence no
// DELETE _data_stream: there the data stream is retired instead (false).
// Failures are reported with t.Errorf, so it suits t.Cleanup.
func DeleteDataStream(t testing.TB, name string) bool {
	t.Helper()
	c := Client(t)
	status, resp, err := call(c.Indices.DeleteDataStream([]string{name}))
	switch {
	case err != nil:
		t.Errorf("estest: delete data stream %s: %v", name, err)
		return false
	case status == http.StatusOK || status == http.StatusNotFound:
		return true
	case status == http.StatusMethodNotAllowed || bytes.Contains(resp, []byte("no handler found")):
		if err := retire(c, name); err != nil {
			t.Errorf("estest: retire data stream %s: %v", name, err)
		}
		return false
	default:
		t.Errorf("estest: delete data stream %s: HTTP %d %s", name, status, resp)
		return false
	}
}

// retire frees what a data stream holds without deleting it: roll over to a
// fresh write index, delete all older backing indices, and close the new one
// so it no longer counts against cluster.max_shards_per_node. Repeating it is
// harmless.
func retire(c *elasticsearch.Client, name string) error {
	backing, err := backingIndices(c, name)
	if err != nil || len(backing) == 0 {
		return err
	}
	if status, resp, err := call(c.Indices.Rollover(name)); err != nil || status != http.StatusOK {
		return fmt.Errorf("rollover: HTTP %d %s %v", status, resp, err)
	}
	if backing, err = backingIndices(c, name); err != nil {
		return err
	}
	if len(backing) == 0 {
		return fmt.Errorf("no backing indices after rollover")
	}
	write := backing[len(backing)-1]
	if old := backing[:len(backing)-1]; len(old) > 0 {
		if status, resp, err := call(c.Indices.Delete(old)); err != nil || status != http.StatusOK {
			return fmt.Errorf("delete %v: HTTP %d %s %v", old, status, resp, err)
		}
	}
	if status, resp, err := call(c.Indices.Close([]string{write})); err != nil || status != http.StatusOK {
		return fmt.Errorf("close %s: HTTP %d %s %v", write, status, resp, err)
	}
	return nil
}

// backingIndices lists a data stream's backing indices, write index last,
// or none if it does not exist.
func backingIndices(c *elasticsearch.Client, name string) ([]string, error) {
	status, resp, err := call(c.Indices.ResolveIndex([]string{name}))
	switch {
	case err != nil:
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	case status == http.StatusNotFound:
		return nil, nil
	case status != http.StatusOK:
		return nil, fmt.Errorf("resolve %s: HTTP %d %s", name, status, resp)
	}
	var resolved struct {
		DataStreams []struct {
			Name           string   `json:"name"`
			BackingIndices []string `json:"backing_indices"`
		} `json:"data_streams"`
	}
	if err := json.Unmarshal(resp, &resolved); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	for _, ds := range resolved.DataStreams {
		if ds.Name == name {
			return ds.BackingIndices, nil
		}
	}
	return nil, nil
}

// call reads a whole API response. Only transport failures are errors;
// callers judge the status, since many tolerate a 404.
func call(res *esapi.Response, err error) (int, []byte, error) {
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("reading response: %w", err)
	}
	return res.StatusCode, body, nil
}
