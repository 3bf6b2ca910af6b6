package modelstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// newBundle makes a bundle of version t0+sec.seq; fill varies its fingerprint (and so its bytes).
func newBundle(t testing.TB, sec int, seq uint16, fill byte) *bundle.Bundle {
	t.Helper()
	h := bundle.Header{
		Version:   bundle.Version{Time: t0.Add(time.Duration(sec) * time.Second), Seq: seq},
		TrainedAt: t0, WindowStart: t0.AddDate(0, 0, -30), WindowEnd: t0,
	}
	for i := range h.Fingerprint {
		h.Fingerprint[i] = fill + byte(i)
	}
	b, err := bundle.New(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(t testing.TB, b *bundle.Bundle) []byte {
	t.Helper()
	data, err := b.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decode(data []byte) (*bundle.Bundle, error) { return bundle.Decode(data, bundle.DecodeOptions{}) }

// newIndex returns a models index unique to the test, with parts of partSize bytes, deleted when
// the test ends.
func newIndex(t *testing.T, partSize int) (*modelstore.Index, *esclient.Client) {
	t.Helper()
	url := estest.URL(t)
	es := readertest.Client(t, url)
	name := estest.UniqueName(t, "siemscore-models")
	x, err := modelstore.NewIndex(es, name, partSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := x.Ensure(context.Background()); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	t.Cleanup(func() {
		res, err := es.Indices.Delete([]string{name})
		if err == nil {
			res.Body.Close()
		}
	})
	return x, es
}

func TestIndexRoundTripInParts(t *testing.T) {
	x, _ := newIndex(t, 50)
	ctx := context.Background()
	if v, err := x.Latest(ctx); err != nil || !v.IsZero() {
		t.Fatalf("empty index: latest %v, %v", v, err)
	}
	var want [][]byte
	for i := range 3 {
		b := newBundle(t, i, 0, byte(i))
		data := encode(t, b)
		m, err := x.Put(ctx, b.Header(), data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Parts != (len(data)+49)/50 || m.Parts < 2 {
			t.Fatalf("%d bytes in %d parts of 50", len(data), m.Parts)
		}
		want = append(want, data)
	}
	ms, err := x.List(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Version != newBundle(t, 2, 0, 0).VersionString() {
		t.Fatalf("listed %+v, want 3 manifests newest first", ms)
	}
	for i, m := range ms {
		got, err := x.Fetch(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[2-i]) {
			t.Errorf("version %s: fetched bytes differ from those stored", m.Version)
		}
	}
	if v, err := x.Latest(ctx); err != nil || v.String() != ms[0].Version {
		t.Errorf("latest %v, %v; want %s", v, err, ms[0].Version)
	}

	// A version is written once.
	b := newBundle(t, 1, 0, 9)
	if _, err := x.Put(ctx, b.Header(), encode(t, b)); !errors.Is(err, modelstore.ErrExists) {
		t.Errorf("second publication of a version: %v, want ErrExists", err)
	}
	if got, _ := x.Fetch(ctx, ms[1]); !bytes.Equal(got, want[1]) {
		t.Error("a refused publication changed the stored version")
	}

	if n, err := x.Prune(ctx, 2); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	if ms, _ := x.List(ctx, 10); len(ms) != 2 || ms[1].Version != newBundle(t, 1, 0, 0).VersionString() {
		t.Errorf("after pruning to 2: %+v", ms)
	}
}

// overwrite replaces a document of the index with body.
func overwrite(t *testing.T, es *esclient.Client, index, id, body string) {
	t.Helper()
	res, err := esapi.IndexRequest{Index: index, DocumentID: id, Body: strings.NewReader(body), Refresh: "true"}.Do(context.Background(), es)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("overwrite %s: %s", id, res.Status())
	}
}

func TestFetchRejectsCorruption(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, es *esclient.Client, x *modelstore.Index, m modelstore.Manifest)
		want    string
	}{
		{"part bytes", func(t *testing.T, es *esclient.Client, x *modelstore.Index, m modelstore.Manifest) {
			// Same length, same recorded checksum, one byte changed.
			data, _ := x.Fetch(ctx, m)
			data[3] ^= 1
			overwrite(t, es, x.Name(), fmt.Sprintf("%s-%s-p0", m.Version, m.Upload),
				fmt.Sprintf(`{"kind":"part","version":%q,"part":0,"sha256":%q,"data":%q}`, m.Version, partSum(t, es, x, m), b64(data[:m.PartSize])))
		}, "part 0 checksum mismatch"},
		{"part missing", func(t *testing.T, es *esclient.Client, x *modelstore.Index, m modelstore.Manifest) {
			res, err := es.Delete(x.Name(), fmt.Sprintf("%s-%s-p1", m.Version, m.Upload))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}, "part 1 of"},
		{"whole checksum", func(t *testing.T, es *esclient.Client, x *modelstore.Index, m modelstore.Manifest) {
			m.SHA256 = strings.Repeat("0", 64)
			body := fmt.Sprintf(`{"kind":"manifest","version":%q,"trained_at":"2026-11-23T10:00:00Z","window_start":"2026-10-24T10:00:00Z","window_end":"2026-11-23T10:00:00Z","published":"2026-11-23T10:00:00Z","size":%d,"sha256":%q,"parts":%d,"part_size":%d,"upload":%q}`,
				m.Version, m.Size, m.SHA256, m.Parts, m.PartSize, m.Upload)
			overwrite(t, es, x.Name(), m.Version, body)
		}, "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, es := newIndex(t, 64)
			b := newBundle(t, 0, 0, 1)
			if _, err := x.Put(ctx, b.Header(), encode(t, b)); err != nil {
				t.Fatal(err)
			}
			ms, _ := x.List(ctx, 1)
			tc.corrupt(t, es, x, ms[0])
			ms, _ = x.List(ctx, 1)
			_, err := x.Fetch(ctx, ms[0])
			if !errors.Is(err, modelstore.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("fetch after corrupting the %s: %v, want ErrCorrupt mentioning %q", tc.name, err, tc.want)
			}
		})
	}
}

// partSum returns the recorded checksum of part 0.
func partSum(t *testing.T, es *esclient.Client, x *modelstore.Index, m modelstore.Manifest) string {
	t.Helper()
	res, err := es.Get(x.Name(), fmt.Sprintf("%s-%s-p0", m.Version, m.Upload))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Source struct {
			SHA256 string `json:"sha256"`
		} `json:"_source"`
	}
	if err := jsonDecode(res, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Source.SHA256
}

func TestCache(t *testing.T) {
	c, err := modelstore.NewCache(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	if vs, err := c.Versions(); err != nil || len(vs) != 0 {
		t.Fatalf("empty cache: %v, %v", vs, err)
	}
	for _, sec := range []int{5, 1, 3} {
		if err := c.Put(newBundle(t, sec, 0, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Not bundles: ignored.
	os.WriteFile(filepath.Join(c.Dir(), "notes.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(c.Dir(), "garbage.bundle"), []byte("x"), 0o600)
	vs, err := c.Versions()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{newBundle(t, 5, 0, 0).VersionString(), newBundle(t, 3, 0, 0).VersionString(), newBundle(t, 1, 0, 0).VersionString()}
	if fmt.Sprint(vs) != fmt.Sprint(want) {
		t.Fatalf("versions %v, want %v", vs, want)
	}
	data, err := c.Read(vs[0])
	if err != nil {
		t.Fatal(err)
	}
	if b, err := decode(data); err != nil || b.VersionString() != vs[0] {
		t.Fatalf("cached bundle: %v, %v", b, err)
	}
	if err := c.Prune(2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := c.Versions(); fmt.Sprint(vs) != fmt.Sprint(want[:2]) {
		t.Errorf("after pruning to 2: %v", vs)
	}
}

func TestFinderPrefersTheNewestValidVersion(t *testing.T) {
	ctx := context.Background()
	x, _ := newIndex(t, 0)
	c, err := modelstore.NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The cache has version 1, the index versions 2 and 3; version 3 is unacceptable.
	if err := c.Put(newBundle(t, 1, 0, 0), nil); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []int{2, 3} {
		b := newBundle(t, sec, 0, 0)
		if _, err := x.Put(ctx, b.Header(), encode(t, b)); err != nil {
			t.Fatal(err)
		}
	}
	v3 := newBundle(t, 3, 0, 0).VersionString()
	var rejected []string
	f := modelstore.Finder{
		Cache: c, Index: x,
		Accept: func(data []byte) (*bundle.Bundle, error) {
			b, err := decode(data)
			if err == nil && b.VersionString() == v3 {
				return nil, errors.New("weights are NaN")
			}
			return b, err
		},
		OnReject: func(v string, err error) { rejected = append(rejected, v+": "+err.Error()) },
	}
	b, data, err := f.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := newBundle(t, 2, 0, 0).VersionString()
	if b == nil || b.VersionString() != v2 || !bytes.Equal(data, encode(t, b)) {
		t.Fatalf("found %v, want %s", b, v2)
	}
	if len(rejected) != 1 || !strings.HasPrefix(rejected[0], v3+": weights are NaN") {
		t.Errorf("rejections %q, want one for %s", rejected, v3)
	}
	if vs, _ := c.Versions(); len(vs) != 2 || vs[0] != v2 {
		t.Errorf("the version found in the index was not cached: %v", vs)
	}

	// Elasticsearch unreachable: the cache alone answers, and the failure is reported.
	dead, err := esclient.New(esclient.Config{
		Hosts: []string{"http://127.0.0.1:1"}, RequestTimeout: time.Second,
		RetryBackoff: esclient.Backoff{Min: time.Millisecond, Max: time.Millisecond},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	unreachable, _ := modelstore.NewIndex(dead, x.Name(), 0)
	var indexErr error
	f = modelstore.Finder{Cache: c, Index: unreachable, Accept: decode, OnIndexError: func(err error) { indexErr = err }}
	if b, _, err := f.Newest(ctx); err != nil || b == nil || b.VersionString() != v2 || indexErr == nil {
		t.Errorf("with Elasticsearch down: %v, %v (index error %v); want %s from the cache", b, err, indexErr, v2)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func jsonDecode(res *esapi.Response, out any) error { return json.NewDecoder(res.Body).Decode(out) }
