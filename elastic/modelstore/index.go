package modelstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esreq"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/bundle"
)

// DefaultIndex is the models index unless configured otherwise.
const DefaultIndex = "siemscore-models"

// DefaultPartSize is the largest part of a bundle stored in one document: 8 MiB, about 11 MB of
// base64 in the document, well under Elasticsearch's default http.max_content_length (100 MB)
// and small enough that one part never weighs on the heap of a small node.
const DefaultPartSize = 8 << 20

// Manifest describes one stored bundle version: the document that makes a version exist.
type Manifest struct {
	Version     string    `json:"version"`
	TrainedAt   time.Time `json:"trained_at"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Published   time.Time `json:"published"`
	Publisher   string    `json:"publisher,omitempty"` // host name of the trainer
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"` // of the whole bundle, hex
	Parts       int       `json:"parts"`
	PartSize    int       `json:"part_size"`
	// Upload names this publication's parts, so that two trainers publishing the same version
	// at once never write each other's parts: one manifest wins, the other's parts are removed.
	Upload string `json:"upload"`
}

// part is one slice of a bundle's bytes.
type part struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
	Part    int    `json:"part"`
	SHA256  string `json:"sha256"` // of this part's bytes, hex
	Data    []byte `json:"data"`   // base64 in JSON, a binary field in the mapping
}

// manifestDoc is a Manifest as stored.
type manifestDoc struct {
	Kind string `json:"kind"`
	Manifest
}

const (
	kindManifest = "manifest"
	kindPart     = "part"
)

// Index stores bundles in an Elasticsearch index. Every version is a manifest document, whose
// _id is the version string, and its parts, whose _ids are "<version>-<upload>-p<n>". Parts are
// written first and the manifest last, all with op_type create: a version exists once its
// manifest does, by then all its parts do, and a version once written is never overwritten (of
// two trainers publishing the same version, the second gets ErrExists).
type Index struct {
	es       esapi.Transport
	name     string
	partSize int
}

// ErrExists is returned by Put for a version that is already stored.
var ErrExists = errors.New("modelstore: version already published")

// NewIndex returns the store in index name (DefaultIndex if empty). partSize 0 means
// DefaultPartSize.
func NewIndex(es esapi.Transport, name string, partSize int) (*Index, error) {
	if name == "" {
		name = DefaultIndex
	}
	if err := target.ValidateIndex(name); err != nil {
		return nil, fmt.Errorf("modelstore: index name: %w", err)
	}
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < 1 {
		return nil, fmt.Errorf("modelstore: part size %d", partSize)
	}
	return &Index{es: es, name: name, partSize: partSize}, nil
}

// Name is the index's name.
func (x *Index) Name() string { return x.name }

// mapping is strict so that nothing but bundles lands in the index; the bytes are a binary field,
// kept in _source and never indexed. auto_expand_replicas keeps a single node green and gives a
// cluster one copy more.
const mapping = `{
  "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": true},
  "mappings": {
    "dynamic": "strict",
    "properties": {
      "kind":         {"type": "keyword"},
      "version":      {"type": "keyword"},
      "trained_at":   {"type": "date"},
      "window_start": {"type": "date"},
      "window_end":   {"type": "date"},
      "published":    {"type": "date"},
      "publisher":    {"type": "keyword"},
      "size":         {"type": "long"},
      "sha256":       {"type": "keyword"},
      "parts":        {"type": "integer"},
      "part_size":    {"type": "integer"},
      "upload":       {"type": "keyword"},
      "part":         {"type": "integer"},
      "data":         {"type": "binary"}
    }
  }
}`

// Ensure creates the index if it does not exist.
func (x *Index) Ensure(ctx context.Context) error {
	err := esreq.Do(ctx, x.es, esapi.IndicesCreateRequest{Index: x.name, Body: strings.NewReader(mapping)}, "modelstore: create index "+x.name, nil)
	var e *esreq.Error
	if errors.As(err, &e) && e.Type == "resource_already_exists_exception" {
		return nil
	}
	return err
}

// Put stores a bundle's bytes under the version in its header. It returns ErrExists when that
// version is already stored.
func (x *Index) Put(ctx context.Context, h bundle.Header, data []byte) (Manifest, error) {
	sum := sha256.Sum256(data)
	var upload [4]byte
	if _, err := rand.Read(upload[:]); err != nil {
		return Manifest{}, fmt.Errorf("modelstore: %w", err)
	}
	m := Manifest{
		Version: h.Version.String(), TrainedAt: h.TrainedAt.UTC(), WindowStart: h.WindowStart.UTC(), WindowEnd: h.WindowEnd.UTC(),
		Published: time.Now().UTC(), Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		Parts: (len(data) + x.partSize - 1) / x.partSize, PartSize: x.partSize, Upload: hex.EncodeToString(upload[:]),
	}
	m.Publisher, _ = os.Hostname()
	for i := range m.Parts {
		chunk := data[i*x.partSize : min((i+1)*x.partSize, len(data))]
		ps := sha256.Sum256(chunk)
		doc := part{Kind: kindPart, Version: m.Version, Part: i, SHA256: hex.EncodeToString(ps[:]), Data: chunk}
		if err := x.create(ctx, m.partID(i), doc, false); err != nil {
			x.deleteParts(m, i)
			return Manifest{}, err
		}
	}
	// The manifest is refreshed at once: other trainers pick their next version from it.
	if err := x.create(ctx, m.Version, manifestDoc{Kind: kindManifest, Manifest: m}, true); err != nil {
		x.deleteParts(m, m.Parts)
		return Manifest{}, err
	}
	return m, nil
}

// deleteParts removes the first n parts of a publication that failed. It is best effort: parts
// without a manifest are never read.
func (x *Index) deleteParts(m Manifest, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = m.partID(i)
	}
	_ = x.delete(ctx, ids)
}

// delete removes documents by _id; missing ones are no error.
func (x *Index) delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, `{"delete":{"_id":%q}}`+"\n", id)
	}
	var res struct {
		Items []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if err := esreq.Do(ctx, x.es, esapi.BulkRequest{Index: x.name, Body: strings.NewReader(b.String()), Refresh: "true"}, "modelstore: delete from "+x.name, &res); err != nil {
		return err
	}
	for _, it := range res.Items {
		for _, r := range it {
			if r.Status >= 300 && r.Status != 404 {
				return fmt.Errorf("modelstore: delete from %s: HTTP %d for an item", x.name, r.Status)
			}
		}
	}
	return nil
}

func (x *Index) create(ctx context.Context, id string, doc any, refresh bool) error {
	body, err := esreq.Body(doc)
	if err != nil {
		return fmt.Errorf("modelstore: %s: %w", id, err)
	}
	req := esapi.IndexRequest{Index: x.name, DocumentID: id, Body: body, OpType: "create"}
	if refresh {
		req.Refresh = "true"
	}
	err = esreq.Do(ctx, x.es, req, "modelstore: write "+id, nil)
	if esreq.Conflict(err) {
		return fmt.Errorf("%w: %s", ErrExists, id)
	}
	return err
}

func (m *Manifest) partID(i int) string { return fmt.Sprintf("%s-%s-p%d", m.Version, m.Upload, i) }

// List returns up to limit manifests, newest version first. Documents that are not valid
// manifests are skipped.
func (x *Index) List(ctx context.Context, limit int) ([]Manifest, error) {
	body, err := esreq.Body(map[string]any{
		"size":    limit,
		"query":   map[string]any{"term": map[string]any{"kind": kindManifest}},
		"sort":    []any{map[string]string{"version": "desc"}},
		"_source": map[string]any{"excludes": []string{"data"}},
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string      `json:"_id"`
				Source manifestDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	err = esreq.Do(ctx, x.es, esapi.SearchRequest{Index: []string{x.name}, Body: body}, "modelstore: list "+x.name, &res)
	if esreq.NotFound(err) {
		return nil, nil // no index yet: nothing published
	}
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, h := range res.Hits.Hits {
		if m := h.Source.Manifest; h.ID == m.Version && m.validate() == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func (m *Manifest) validate() error {
	if _, err := bundle.ParseVersion(m.Version); err != nil {
		return err
	}
	if m.Size < 0 || m.Size > maxBundleSize || m.PartSize < 1 || m.Parts != int((m.Size+int64(m.PartSize)-1)/int64(m.PartSize)) {
		return fmt.Errorf("modelstore: manifest %s: %d parts of %d bytes cannot hold %d bytes", m.Version, m.Parts, m.PartSize, m.Size)
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("modelstore: manifest %s: bad checksum %q", m.Version, m.SHA256)
	}
	if m.Upload == "" || strings.ContainsAny(m.Upload, "-/") {
		return fmt.Errorf("modelstore: manifest %s: bad upload name %q", m.Version, m.Upload)
	}
	return nil
}

// Latest returns the newest version stored (the zero Version when there is none): what a
// publisher must go past.
func (x *Index) Latest(ctx context.Context) (bundle.Version, error) {
	ms, err := x.List(ctx, 1)
	if err != nil || len(ms) == 0 {
		return bundle.Version{}, err
	}
	return bundle.ParseVersion(ms[0].Version)
}

// maxBundleSize bounds what a manifest may announce, so a forged one cannot exhaust memory (the
// bound bundle.ReadFile applies to files).
const maxBundleSize = 4 << 30

// ErrCorrupt wraps every failed integrity check of stored bytes.
var ErrCorrupt = errors.New("modelstore: stored bundle is corrupt")

// Fetch reads a version's parts one at a time, checks each against its checksum and the whole
// against the manifest's, and returns the bundle's bytes.
func (x *Index) Fetch(ctx context.Context, m Manifest) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	out := make([]byte, 0, m.Size)
	for i := range m.Parts {
		var doc struct {
			Source part `json:"_source"`
		}
		err := esreq.Do(ctx, x.es, esapi.GetRequest{Index: x.name, DocumentID: m.partID(i)}, "modelstore: read "+m.partID(i), &doc)
		if esreq.NotFound(err) {
			return nil, fmt.Errorf("%w: %s: part %d of %d is missing", ErrCorrupt, m.Version, i, m.Parts)
		}
		if err != nil {
			return nil, err
		}
		p := doc.Source
		sum := sha256.Sum256(p.Data)
		want := min(m.PartSize, int(m.Size)-i*m.PartSize)
		switch {
		case p.Version != m.Version || p.Part != i:
			return nil, fmt.Errorf("%w: %s: part %d holds version %s part %d", ErrCorrupt, m.Version, i, p.Version, p.Part)
		case len(p.Data) != want:
			return nil, fmt.Errorf("%w: %s: part %d is %d bytes, want %d", ErrCorrupt, m.Version, i, len(p.Data), want)
		case hex.EncodeToString(sum[:]) != p.SHA256:
			return nil, fmt.Errorf("%w: %s: part %d checksum mismatch", ErrCorrupt, m.Version, i)
		}
		out = append(out, p.Data...)
	}
	if sum := sha256.Sum256(out); hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, fmt.Errorf("%w: %s: checksum mismatch", ErrCorrupt, m.Version)
	}
	return out, nil
}

// Prune deletes every version but the newest keep (at least one is always kept).
func (x *Index) Prune(ctx context.Context, keep int) (deleted int, err error) {
	keep = max(keep, 1)
	ms, err := x.List(ctx, 10000)
	if err != nil || len(ms) <= keep {
		return 0, err
	}
	var ids []string
	for _, m := range ms[keep:] {
		ids = append(ids, m.Version)
		for i := range m.Parts {
			ids = append(ids, m.partID(i))
		}
	}
	if err := x.delete(ctx, ids); err != nil {
		return 0, err
	}
	return len(ms) - keep, nil
}
