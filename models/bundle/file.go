package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxFileSize bounds what ReadFile loads, so a wrong path cannot exhaust memory.
const maxFileSize = 4 << 30

// ReadFile reads and decodes the bundle at path.
func ReadFile(path string, opt DecodeOptions) (*Bundle, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("bundle: %s is %d bytes, larger than any bundle (%d)", path, fi.Size(), int64(maxFileSize))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := Decode(data, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Publish writes b to path, replacing the bundle there atomically (readers see the old file or
// the new one, never a mix), signed with opt.Key when set. It refuses when the bundle at path
// is not older than b: published versions never go backwards. An existing file that cannot be
// read is not overwritten either; remove it explicitly to publish over it.
func Publish(path string, b *Bundle, opt DecodeOptions) error {
	switch cur, err := ReadFile(path, DecodeOptions{Key: opt.Key}); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("bundle: publish: the current bundle cannot be read, refusing to replace it: %w", err)
	case b.Version().Compare(cur.Version()) <= 0:
		return fmt.Errorf("bundle: publish: version %s is not newer than the published %s", b.VersionString(), cur.VersionString())
	}
	data, err := b.Encode(opt.Key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("bundle: publish: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op error
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("bundle: publish: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("bundle: publish: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("bundle: publish: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("bundle: publish: %w", err)
	}
	// Make the rename itself durable.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
