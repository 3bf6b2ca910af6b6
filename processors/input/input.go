// Package input reads record bodies from files for the CLI: JSON lines, JSON documents (a
// CloudTrail S3 log file {"Records": [...]}, an array of events, or pretty-printed objects) and
// Zeek TSV logs, each optionally gzip-compressed. The format is recognised from the content.
//
// A bad line is reported as an error for that line and reading goes on; only a JSON document
// that stops being valid JSON ends its file early, as nothing after the error can be trusted to
// start a value.
package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/processors/zeek"
)

// Format is a file format.
type Format uint8

// Formats.
const (
	JSONLines Format = iota + 1
	JSONDocument
	ZeekTSV
)

func (f Format) String() string {
	switch f {
	case JSONLines:
		return "JSON lines"
	case JSONDocument:
		return "JSON document"
	case ZeekTSV:
		return "Zeek TSV"
	}
	return fmt.Sprintf("format(%d)", f)
}

// Item is one body read from a file, or the error that took its place.
type Item struct {
	Body map[string]any
	// Stream names the log the body came from when the file says so for all its rows (a Zeek
	// TSV header: see zeek.TSV.Stream); processors.AppendStream uses it.
	Stream string
	File   string
	Line   int // 1-based line on which the body starts
	Err    error
	// Raw is the text of input that was read but is not an event object (a number, a string,
	// an empty array, a line that is not JSON): Err says why. Empty when nothing was read (a
	// read error, a JSON document broken off).
	Raw string
}

// Reader reads the bodies of one file.
type Reader struct {
	name   string
	format Format
	closer []io.Closer
	next   func() (Item, bool)
}

// peekSize is how much of a file format detection looks at: enough for the first line of any
// realistic JSON-lines file (CloudTrail events are a few KiB).
const peekSize = 1 << 20

// Open opens path, decompressing it when it is gzip (by magic bytes, whatever its name).
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = append(r.closer, f)
	return r, nil
}

// NewReader reads bodies from r; name labels errors and items.
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name}
	br := bufio.NewReaderSize(r, peekSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("input: %s: gzip: %w", name, err)
		}
		rd.closer = append(rd.closer, gz)
		br = bufio.NewReaderSize(gz, peekSize)
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // a byte-order mark some Windows tools write: not part of the content
	}
	head, err := br.Peek(peekSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) && len(head) == 0 {
		return nil, fmt.Errorf("input: %s: %w", name, err)
	}
	// A read error after some content (a truncated .gz) is met again, and reported as an item,
	// once the reader reaches it: what comes before it is read as usual, whatever the file's size.
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		rd.format = JSONLines // an empty file: nothing to read in any format
	case head[0] == '#' || bytes.IndexByte(firstLine(head), '\t') >= 0:
		if !zeekTSV(head) {
			return nil, fmt.Errorf("input: %s: not Zeek TSV: no #separator or #fields header, and the first row does not name Zeek's ts and uid columns (it starts %q)", name, prefix(head))
		}
		rd.format = ZeekTSV
	case head[0] == '[':
		rd.format = JSONDocument
	case head[0] == '{':
		rd.format = JSONDocument
		if line, _, ok := bytes.Cut(head, []byte{'\n'}); ok && json.Valid(line) {
			rd.format = JSONLines
		}
	default:
		return nil, fmt.Errorf("input: %s: not JSON lines, JSON or Zeek TSV (it starts %q)", name, prefix(head))
	}
	switch rd.format {
	case JSONDocument:
		rd.next = documentReader(br, name)
	case ZeekTSV:
		rd.next = tsvReader(br, name)
	default:
		rd.next = jsonLinesReader(br, name)
	}
	return rd, nil
}

// Format returns the format the content was recognised as.
func (r *Reader) Format() Format { return r.format }

// Next returns the next item; ok is false at the end of the file.
func (r *Reader) Next() (Item, bool) { return r.next() }

// All iterates over the remaining items.
func (r *Reader) All() iter.Seq[Item] {
	return func(yield func(Item) bool) {
		for {
			it, ok := r.next()
			if !ok || !yield(it) {
				return
			}
		}
	}
}

// Close releases the file.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closer) - 1; i >= 0; i-- {
		errs = append(errs, r.closer[i].Close())
	}
	return errors.Join(errs...)
}

// lines reads a file line by line, without a limit on line length.
type lines struct {
	r    *bufio.Reader
	buf  []byte
	line int
	err  error
}

// next returns the next line without its newline; ok is false at the end or after a read error
// (kept in l.err).
func (l *lines) next() ([]byte, bool) {
	if l.err != nil {
		return nil, false
	}
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.buf = append(l.buf, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(l.buf) > 0:
			l.err = io.EOF
		case err != nil:
			l.err = err
			return nil, false
		}
		l.line++
		return bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte{'\n'}), []byte{'\r'}), true
	}
}

// readErr turns a read error other than the end of the file into a final item.
func (l *lines) readErr(name string) (Item, bool) {
	if l.err == nil || errors.Is(l.err, io.EOF) {
		return Item{}, false
	}
	err := l.err
	l.err = io.EOF
	return Item{File: name, Line: l.line + 1, Err: fmt.Errorf("%s:%d: %w", name, l.line+1, err)}, true
}

// jsonLinesReader yields one body per line; a line holding an array yields each element.
func jsonLinesReader(r *bufio.Reader, name string) func() (Item, bool) {
	l := &lines{r: r}
	var pending []any
	var pendingLine int
	return func() (Item, bool) {
		for {
			if len(pending) > 0 {
				v := pending[0]
				pending = pending[1:]
				return object(v, name, pendingLine)
			}
			line, ok := l.next()
			if !ok {
				return l.readErr(name)
			}
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			var v any
			if err := json.Unmarshal(line, &v); err != nil {
				return Item{File: name, Line: l.line, Err: fmt.Errorf("%s:%d: %w", name, l.line, err), Raw: string(line)}, true
			}
			if arr, ok := v.([]any); ok {
				if len(arr) == 0 {
					return Item{File: name, Line: l.line, Err: fmt.Errorf("%s:%d: an empty array holds no event", name, l.line), Raw: string(line)}, true
				}
				pending, pendingLine = arr, l.line
				continue
			}
			return object(v, name, l.line)
		}
	}
}

func object(v any, name string, line int) (Item, bool) {
	if m, ok := v.(map[string]any); ok {
		return Item{Body: m, File: name, Line: line}, true
	}
	raw, _ := json.Marshal(v) // a value json decoded re-encodes
	return Item{File: name, Line: line, Err: fmt.Errorf("%s:%d: the JSON value is %s, not an event object", name, line, kind(v)), Raw: string(raw)}, true
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

// tsvReader yields one body per Zeek TSV row.
func tsvReader(r *bufio.Reader, name string) func() (Item, bool) {
	l := &lines{r: r}
	t := zeek.NewTSV()
	return func() (Item, bool) {
		for {
			line, ok := l.next()
			if !ok {
				return l.readErr(name)
			}
			row, err := t.Row(line)
			switch {
			case err != nil:
				return Item{File: name, Line: l.line, Err: fmt.Errorf("%s:%d: %w", name, l.line, err)}, true
			case row != nil:
				return Item{Body: row, Stream: t.Stream(), File: name, Line: l.line}, true
			}
		}
	}
}

// zeekTSV reports whether head starts a Zeek TSV log: its header block declares the format
// (#separator, #fields), or, in a log written without that block (btest baselines, some
// exports), the first row names Zeek's ts and uid columns. Other tab-separated or #-commented
// text is refused rather than read as records with its own columns for fields.
func zeekTSV(head []byte) bool {
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case len(line) == 0:
		case line[0] != '#':
			cols := strings.Split(string(line), "\t")
			return slices.Contains(cols, "ts") && slices.Contains(cols, "uid")
		case bytes.HasPrefix(line, []byte("#separator ")), bytes.HasPrefix(line, []byte("#fields")):
			return true
		}
	}
	return false
}

func firstLine(b []byte) []byte {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	return line
}

func prefix(b []byte) string {
	b = firstLine(b)
	if len(b) > 24 {
		b = b[:24]
	}
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return strings.TrimSpace(string(b))
}
