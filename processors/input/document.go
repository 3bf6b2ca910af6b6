package input

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// documentReader streams JSON documents: a top-level array yields its elements, an object with
// a Records array (a CloudTrail S3 log file) yields the records one at a time, any other object
// yields itself; a file may hold several such documents one after another. The standard
// library decoder is used for its token API, which lets a large Records array be read element
// by element instead of whole.
func documentReader(r *bufio.Reader, name string) func() (Item, bool) {
	lc := &lineCounter{r: r, line: 1}
	dec := json.NewDecoder(lc)
	d := &document{dec: dec, lc: lc, name: name}
	return d.next
}

type document struct {
	dec  *json.Decoder
	lc   *lineCounter
	name string
	// inArray is set while the elements of an array (top level or Records) are being read;
	// inObject while the rest of a Records document's object must be skipped after it.
	inArray, inObject bool
	done              bool
}

func (d *document) next() (Item, bool) {
	for !d.done {
		if d.inArray {
			if d.dec.More() {
				line := d.line()
				var v any
				if err := d.dec.Decode(&v); err != nil {
					return d.fail(line, err)
				}
				return object(v, d.name, line)
			}
			d.inArray = false
			if _, err := d.dec.Token(); err != nil { // the closing ]
				return d.fail(d.line(), err)
			}
			continue
		}
		if d.inObject {
			if err := d.skipRest(); err != nil {
				return d.fail(d.line(), err)
			}
			d.inObject = false
			continue
		}
		line := d.line()
		tok, err := d.dec.Token()
		if errors.Is(err, io.EOF) {
			return Item{}, false
		}
		if err != nil {
			return d.fail(line, err)
		}
		switch tok {
		case json.Delim('['):
			d.inArray = true
		case json.Delim('{'):
			body, records, err := d.object()
			if err != nil {
				return d.fail(d.line(), err)
			}
			if !records {
				return Item{Body: body, File: d.name, Line: line}, true
			}
			d.inArray, d.inObject = true, true
		default:
			return d.fail(line, fmt.Errorf("a JSON %v is not an event object", tok))
		}
	}
	return Item{}, false
}

// object reads the members of an object whose { has been read. It stops at a Records array,
// positioned on its first element (records is then true), or returns the whole object.
func (d *document) object() (map[string]any, bool, error) {
	body := map[string]any{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, false, err
		}
		key, _ := tok.(string)
		if key == "Records" {
			line := d.line()
			tok, err := d.dec.Token()
			if err != nil {
				return nil, false, err
			}
			if tok == json.Delim('[') {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("line %d: Records is %v, not an array", line, tok)
		}
		var v any
		if err := d.dec.Decode(&v); err != nil {
			return nil, false, err
		}
		body[key] = v
	}
	_, err := d.dec.Token() // the closing }
	return body, false, err
}

// skipRest skips what follows a Records array in its object: CloudTrail writes nothing there,
// and other members do not belong to any one record.
func (d *document) skipRest() error {
	for d.dec.More() {
		if _, err := d.dec.Token(); err != nil { // key
			return err
		}
		var skip json.RawMessage
		if err := d.dec.Decode(&skip); err != nil {
			return err
		}
	}
	_, err := d.dec.Token()
	return err
}

// fail reports a syntax error; the rest of the document cannot be read reliably.
func (d *document) fail(line int, err error) (Item, bool) {
	d.done = true
	return Item{File: d.name, Line: line, Err: fmt.Errorf("%s:%d: %w", d.name, line, err)}, true
}

// line returns the line on which the decoder's next value starts: the line of its read
// position, plus the newlines in the whitespace and separators it has buffered but not yet
// consumed.
func (d *document) line() int {
	line := d.lc.lineAt(d.dec.InputOffset())
	buffered, ok := d.dec.Buffered().(io.ByteReader)
	if !ok {
		return line
	}
	for {
		c, err := buffered.ReadByte()
		switch {
		case err != nil:
			return line
		case c == '\n':
			line++
		case c == ' ', c == '\t', c == '\r', c == ',', c == ':':
		default:
			return line
		}
	}
}

// lineCounter remembers where the newlines it has passed on are, so that a decoder offset can be
// turned into a line number; offsets are asked for in increasing order, so each newline is
// forgotten once it is behind the decoder.
type lineCounter struct {
	r        io.Reader
	off      int64
	newlines []int64
	line     int
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.newlines = append(c.newlines, c.off+int64(i))
		}
	}
	c.off += int64(n)
	return n, err
}

func (c *lineCounter) lineAt(off int64) int {
	for len(c.newlines) > 0 && c.newlines[0] < off {
		c.line++
		c.newlines = c.newlines[1:]
	}
	return c.line
}
