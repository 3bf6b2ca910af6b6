package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
	"github.com/siemscore/siemscore/processors/input"
)

// source is one input of train or score: a file or stdin ("-"), decompressed if gzip, holding
// either records (what processors/input reads: JSON lines, JSON documents, Zeek TSV) or the
// SageMaker IP Insights workshop's headerless "principal,ip" CSV tuples.
type source struct {
	name    string
	r       *bufio.Reader
	csv     bool
	closers []io.Closer
}

// openSource opens name ("-" is stdin) and recognises its content. read, when not nil, counts
// the bytes read from the file (before decompression), for progress reports.
func openSource(name string, stdin io.Reader, read *atomic.Int64) (*source, error) {
	s := &source{name: name}
	var r io.Reader = stdin
	if name == "-" {
		s.name = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, f)
		r = f
	}
	if read != nil {
		r = countingReader{r, read}
	}
	s.r = bufio.NewReaderSize(r, 64<<10)
	if magic, _ := s.r.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(s.r)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: gzip: %w", s.name, err)
		}
		s.closers = append(s.closers, gz)
		s.r = bufio.NewReaderSize(gz, 64<<10)
	}
	if bom, _ := s.r.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		s.r.Discard(3) // a byte-order mark some Windows tools write: not part of the content
	}
	s.csv = isTuples(s.r)
	return s, nil
}

// isTuples recognises "principal,ip" CSV from its first line: not JSON, not a Zeek header, no
// tab (Zeek TSV without its header), and a comma.
func isTuples(r *bufio.Reader) bool {
	head, _ := r.Peek(4096)
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || bytes.IndexByte([]byte("{[#"), head[0]) >= 0 {
		return false
	}
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	return bytes.IndexByte(line, '\t') < 0 && bytes.IndexByte(line, ',') >= 0
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (s *source) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i].Close())
	}
	return errors.Join(errs...)
}

// items returns a reader of the records' bodies.
func (s *source) items() (*input.Reader, error) { return input.NewReader(s.r, s.name) }

// tuple is one row of a principal,ip CSV file.
type tuple struct {
	Principal string
	// Entity is what the IP model learns and scores: the principal under the identity rule
	// (processors/identity: an assumed-role ARN or a role's principalId is the role, other
	// ARNs and names as they are, the account from an ARN), the rule models/score.IPPairOf
	// applies to CloudTrail, so a model trained on tuples and one trained on CloudTrail agree.
	Entity identity.Principal
	IP     netip.Addr
}

// tupleReader reads principal,ip rows. A first row whose second field is not an address is a
// header (pandas writes one) and is skipped.
type tupleReader struct {
	name string
	r    *csv.Reader
	line int // rows read
	// Header is set once a header row was skipped.
	Header bool
}

func (s *source) tuples() *tupleReader {
	r := csv.NewReader(s.r)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	return &tupleReader{name: s.name, r: r}
}

// next returns the next tuple, or the error that replaced a bad row (reading goes on after
// it); ok is false at the end of the input.
func (t *tupleReader) next() (tp tuple, err error, ok bool) {
	for {
		rec, err := t.r.Read()
		if errors.Is(err, io.EOF) {
			return tuple{}, nil, false
		}
		t.line++
		if err != nil { // a csv.ParseError names its line
			return tuple{}, fmt.Errorf("%s: %w", t.name, err), true
		}
		line, _ := t.r.FieldPos(0) // a record read without error has at least one field
		if len(rec) != 2 {
			return tuple{}, fmt.Errorf("%s:%d: %d fields, want principal,ip", t.name, line, len(rec)), true
		}
		principal, addr := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		ip, perr := netip.ParseAddr(addr)
		switch {
		case perr != nil && t.line == 1:
			t.Header = true
			continue
		case perr != nil:
			return tuple{}, fmt.Errorf("%s:%d: %q is not an IP address", t.name, line, addr), true
		case principal == "":
			return tuple{}, fmt.Errorf("%s:%d: empty principal", t.name, line), true
		}
		return tuple{Principal: principal, Entity: identity.Parse(principal), IP: ip.WithZone("")}, nil, true
	}
}

// readable yields the tuples next reads; the rows it cannot read go to bad.
func (t *tupleReader) readable(bad *badLines) iter.Seq[tuple] {
	return func(yield func(tuple) bool) {
		for {
			tp, err, ok := t.next()
			switch {
			case !ok:
				return
			case err != nil:
				bad.add("", err)
			case !yield(tp):
				return
			}
		}
	}
}

// badLines reports unreadable input: every bad line is counted once, however many problems it
// has (an array of several bad elements), and the first few problems are shown.
type badLines struct {
	w     io.Writer
	n     int
	shown int
	last  string // where the last bad line was
}

const maxShownBadLines = 5

// add counts the line at where (file:line) as bad, unless it already is.
func (b *badLines) add(where string, err error) {
	if where != b.last || where == "" {
		b.n++
		b.last = where
	}
	if b.w != nil && b.shown < maxShownBadLines {
		b.shown++
		fmt.Fprintf(b.w, "bad input: %v\n", err)
	}
}

// failedRecord returns the processing error of a record that could not be parsed (the
// processors ship such input as a pipeline_error document instead of dropping it).
func failedRecord(rec *ecs.Record) error {
	d := rec.Doc
	if d.Event.Kind != "pipeline_error" || d.Error == nil {
		return nil
	}
	return fmt.Errorf("%s: %s", d.Error.Type, d.Error.Message)
}
