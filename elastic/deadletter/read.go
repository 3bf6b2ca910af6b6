package deadletter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/reader"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Entry is one dead letter read back, or the error that took its place.
type Entry struct {
	Doc ecs.DeadLetterDocument
	// Where says where it was read: file:line, or index/_id.
	Where string
	Err   error
}

// Replayable reports whether the entry is a record that can be written again: one that was
// refused or too large, not input that never became a record (its bytes are not a log event) or
// a record that could not be encoded as JSON.
func (e Entry) Replayable() error {
	x := e.Doc.SiemScore.DeadLetter
	switch {
	case x.Index == "" || x.ID == "":
		return fmt.Errorf("%s: %s is not a record (input that could not be decoded)", e.Where, e.Doc.Error.Type)
	case !json.Valid([]byte(x.Original)):
		return fmt.Errorf("%s: %s: the original is not a JSON document (it could not be encoded when it was received)", e.Where, e.Doc.Error.Type)
	}
	return nil
}

// ReadPath reads the dead letters of a file, or of every dead-letter file of a directory in
// name (that is, time) order, calling fn with each. A line that is not a dead-letter document
// (a write cut short by a crash) is passed on with its error; reading goes on.
func ReadPath(path string, fn func(Entry) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("deadletter: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if isDeadLetterFile(e.Name()) && e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		slices.Sort(files)
	}
	for _, name := range files {
		if err := readFile(name, fn); err != nil {
			return err
		}
	}
	return nil
}

func readFile(name string, fn func(Entry) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		// ReadBytes, not a Scanner: a dead letter holds a whole record, which has no size limit.
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			e := Entry{Where: fmt.Sprintf("%s:%d", name, line)}
			switch {
			case b[len(b)-1] != '\n':
				e.Err = fmt.Errorf("%s: the last line is cut short (%d bytes without a newline)", e.Where, len(b))
			default:
				if uerr := json.Unmarshal(b, &e.Doc); uerr != nil {
					e.Err = fmt.Errorf("%s: not a dead-letter document: %w", e.Where, uerr)
				}
			}
			if ferr := fn(e); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("deadletter: read %s: %w", name, err)
		}
	}
}

// ReadIndex reads every dead letter of an index or data stream (a name or pattern), calling fn
// with each, through a point in time.
func ReadIndex(ctx context.Context, es esapi.Transport, index string, fn func(Entry) error) error {
	scan := reader.Scan{Index: index, Query: map[string]any{"match_all": map[string]any{}}, Source: true, PageSize: 500}
	return scan.Run(ctx, es, func(_ int, hits []reader.Hit) error {
		for _, h := range hits {
			e := Entry{Where: h.Index + "/" + h.ID}
			if err := json.Unmarshal(h.Source, &e.Doc); err != nil {
				e.Err = fmt.Errorf("%s: not a dead-letter document: %w", e.Where, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}
