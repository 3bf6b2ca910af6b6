package modelstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/siemscore/siemscore/models/bundle"
)

// Cache keeps bundles in a local directory, one file per version named <version>.bundle, so a
// plugin or trainer that starts while Elasticsearch is unreachable still has the newest model it
// has seen. Files are written atomically (bundle.Publish: temporary file, fsync, rename); version
// strings sort like versions, so the newest file is the last name.
type Cache struct {
	dir string
}

const cacheExt = ".bundle"

// NewCache returns the cache in dir, creating the directory if needed.
func NewCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("modelstore: cache: no directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("modelstore: cache: %w", err)
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// Path is where the bundle of version v is kept.
func (c *Cache) Path(v string) string { return filepath.Join(c.dir, v+cacheExt) }

// Put keeps b, encoded with key (signed when key is set); a version already cached is left as it
// is.
func (c *Cache) Put(b *bundle.Bundle, key []byte) error {
	path := c.Path(b.VersionString())
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	// Publish refuses to replace a file with an older version; each version has its own file,
	// so it only ever creates one.
	if err := bundle.Publish(path, b, bundle.DecodeOptions{Key: key}); err != nil {
		return fmt.Errorf("modelstore: cache: %w", err)
	}
	return nil
}

// Versions lists the cached versions, newest first.
func (c *Cache) Versions() ([]string, error) {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("modelstore: cache: %w", err)
	}
	var out []string
	for _, e := range entries {
		v, ok := strings.CutSuffix(e.Name(), cacheExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := bundle.ParseVersion(v); err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// Read returns the bytes of a cached version.
func (c *Cache) Read(v string) ([]byte, error) {
	fi, err := os.Stat(c.Path(v))
	if err != nil {
		return nil, fmt.Errorf("modelstore: cache: %w", err)
	}
	if fi.Size() > maxBundleSize {
		return nil, fmt.Errorf("modelstore: cache: %s is %d bytes, larger than any bundle", c.Path(v), fi.Size())
	}
	data, err := os.ReadFile(c.Path(v))
	if err != nil {
		return nil, fmt.Errorf("modelstore: cache: %w", err)
	}
	return data, nil
}

// Prune removes all but the newest keep versions (at least one is kept).
func (c *Cache) Prune(keep int) error {
	vs, err := c.Versions()
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range vs[min(max(keep, 1), len(vs)):] {
		if err := os.Remove(c.Path(v)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("modelstore: cache: %w", err)
	}
	return nil
}
