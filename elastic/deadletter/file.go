// Package deadletter keeps the dead letters that the dead-letter data stream cannot hold in local
// files, and reads dead letters back, from those files or from the data stream, for
// `siemscore deadletter replay`.
//
// A dead letter is an ecs.DeadLetterDocument: the same JSON whether it sits in Elasticsearch or
// on a line of a file, so both are replayed the same way. A file holds one document per line
// (NDJSON). Files are named siemscore-deadletter-<UTC time>-<pid>-<n>.ndjson, so several
// writers (plugin instances, Fluent Bit processes) can share a directory, and are never
// rewritten: a writer appends to its current file, syncs it before it reports the write done,
// and starts a new file once the current one reaches its rotation size. The files of a
// directory together never exceed the cap: a write that would pass it fails with ErrFull, and
// the plugin then keeps the chunk in Fluent Bit (RETRY) rather than drop or shorten anything.
// The operator frees space by replaying and removing files.
package deadletter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrFull is the error of a write that would take the directory's files past their cap.
var ErrFull = errors.New("deadletter: the dead-letter directory is full")

// Name pattern of the files: prefix, then the creation time, the writer's pid and a sequence
// number, then the extension.
const (
	filePrefix = "siemscore-deadletter-"
	fileExt    = ".ndjson"
)

// maxRotate bounds one file, so that a replayed file can be removed while the writer goes on;
// a file holds at least one document, however large.
const maxRotate = 64 << 20

// MinCap is the smallest cap Open accepts: room for a few large records.
const MinCap = 1 << 20

// File appends dead-letter documents to files in a directory. It is safe for concurrent use.
type File struct {
	dir    string
	limit  int64
	rotate int64

	mu    sync.Mutex
	f     *os.File
	size  int64 // of f
	total int64 // of every dead-letter file in dir, as of the last scan plus what was written since
	seq   int
}

// Open prepares dir (created if missing) for dead letters, with limit the most all dead-letter
// files in it may hold together.
func Open(dir string, limit int64) (*File, error) {
	if limit < MinCap {
		return nil, fmt.Errorf("deadletter: cap %d bytes is below the minimum of %d", limit, MinCap)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	f := &File{dir: dir, limit: limit, rotate: min(maxRotate, limit/4)}
	total, err := f.scan()
	if err != nil {
		return nil, err
	}
	f.total = total
	return f, nil
}

// Dir is the directory the files are written to.
func (f *File) Dir() string { return f.dir }

// scan adds up the sizes of the dead-letter files in the directory, every writer's.
func (f *File) scan() (int64, error) {
	var total int64
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return 0, fmt.Errorf("deadletter: %w", err)
	}
	for _, e := range entries {
		if !isDeadLetterFile(e.Name()) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by the operator in the meantime
		}
		if err != nil {
			return 0, fmt.Errorf("deadletter: %w", err)
		}
		total += info.Size()
	}
	return total, nil
}

func isDeadLetterFile(name string) bool {
	return strings.HasPrefix(name, filePrefix) && strings.HasSuffix(name, fileExt)
}

// Append writes docs (each one JSON document without a newline) as lines and syncs them to disk.
// Either every document is written or Append returns an error; after an error some of them may
// be on disk, which a replay tolerates (it recognises a record already delivered).
func (f *File) Append(docs [][]byte) error {
	var n int64
	for _, d := range docs {
		n += int64(len(d)) + 1
	}
	if n == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.total+n > f.limit {
		// Others may have removed files (a replay done): look again before refusing.
		total, err := f.scan()
		if err != nil {
			return err
		}
		f.total = total
		if f.total+n > f.limit {
			return fmt.Errorf("%w: %s holds %d bytes of dead letters, %d more would pass its cap of %d (replay and remove files, or raise dead_letter_max_size)",
				ErrFull, f.dir, f.total, n, f.limit)
		}
	}
	if f.f == nil || f.size > 0 && f.size+n > f.rotate {
		if err := f.next(); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, n)
	for _, d := range docs {
		buf = append(buf, d...)
		buf = append(buf, '\n')
	}
	w, err := f.f.Write(buf)
	f.size += int64(w)
	f.total += int64(w)
	if err != nil {
		return fmt.Errorf("deadletter: write %s: %w", f.f.Name(), err)
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("deadletter: sync %s: %w", f.f.Name(), err)
	}
	return nil
}

// next closes the current file and starts a new one.
func (f *File) next() error {
	if f.f != nil {
		if err := f.f.Close(); err != nil {
			return fmt.Errorf("deadletter: close %s: %w", f.f.Name(), err)
		}
		f.f = nil
	}
	f.seq++
	name := fmt.Sprintf("%s%s-%d-%d%s", filePrefix, time.Now().UTC().Format("20060102T150405.000000000Z"), os.Getpid(), f.seq, fileExt)
	file, err := os.OpenFile(filepath.Join(f.dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	// The new directory entry must survive a crash too.
	if d, err := os.Open(f.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	f.f, f.size = file, 0
	return nil
}

// Close closes the current file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	return nil
}
