package deliver

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	json "github.com/goccy/go-json"
	"github.com/goccy/go-json/jsontext"
)

// responseReader reads bulk responses into results it reuses: the reflection decoder made a
// string of every item's _id and a struct per item, hundreds of allocations per request, to
// hold what is checked once and dropped.
type responseReader struct {
	raw     []byte
	dec     *jsontext.Decoder
	results []itemResult
}

// read reads the response body r to a request whose items have the _ids want (an empty _id is
// not checked), into rr.results. An _id that differs from the one sent is kept in the result's
// ID for the error message; a matching one is not copied.
//
// The answer of a request whose every item succeeded, in the compact form Elasticsearch writes,
// is checked by a byte scan (readFast); any other answer is read token by token.
func (rr *responseReader) read(r io.Reader, want []string) error {
	var err error
	if rr.raw, err = readAll(rr.raw[:0], r); err != nil {
		return err
	}
	rr.results = rr.results[:0]
	if rr.readFast(want) {
		return nil
	}
	rr.results = rr.results[:0] // readFast may have read some before it gave up
	return rr.readTokens(want)
}

// readTokens reads rr.raw with the tokenizer.
func (rr *responseReader) readTokens(want []string) error {
	if rr.dec == nil {
		rr.dec = jsontext.NewDecoder(bytes.NewReader(rr.raw))
	} else {
		rr.dec.Reset(bytes.NewReader(rr.raw))
	}
	d := rr.dec
	if err := expect(d, jsontext.KindBeginObject); err != nil {
		return err
	}
	for d.PeekKind() != jsontext.KindEndObject {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		if name.String() != "items" {
			if err := d.SkipValue(); err != nil {
				return err
			}
			continue
		}
		if err := rr.items(want); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// items reads the items array: [{"create":{...}}, ...].
func (rr *responseReader) items(want []string) error {
	d := rr.dec
	if err := expect(d, jsontext.KindBeginArray); err != nil {
		return err
	}
	for k := 0; d.PeekKind() != jsontext.KindEndArray; k++ {
		if err := expect(d, jsontext.KindBeginObject); err != nil {
			return err
		}
		var res itemResult
		for d.PeekKind() != jsontext.KindEndObject {
			op, err := d.ReadToken()
			if err != nil {
				return err
			}
			if op.String() != "create" {
				if err := d.SkipValue(); err != nil {
					return err
				}
				continue
			}
			if err := rr.result(&res, k, want); err != nil {
				return err
			}
		}
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		rr.results = append(rr.results, res)
	}
	_, err := d.ReadToken()
	return err
}

// result reads one create result: {"_id":..., "status":..., "error":{...}}.
func (rr *responseReader) result(res *itemResult, k int, want []string) error {
	d := rr.dec
	if err := expect(d, jsontext.KindBeginObject); err != nil {
		return err
	}
	res.create = true
	for d.PeekKind() != jsontext.KindEndObject {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		switch name.String() {
		case "_id":
			id, err := d.ReadToken()
			if err != nil {
				return err
			}
			if k < len(want) && want[k] != "" && id.String() != want[k] {
				res.ID, res.idMismatch = id.String(), true
			}
		case "status":
			tok, err := d.ReadToken()
			if err != nil {
				return err
			}
			n, err := tok.Int()
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			res.Status = int(n)
		case "error":
			raw, err := d.ReadValue()
			if err != nil {
				return err
			}
			res.Error = new(rejection)
			if err := json.Unmarshal(raw, res.Error); err != nil {
				return fmt.Errorf("error: %w", err)
			}
		default:
			if err := d.SkipValue(); err != nil {
				return err
			}
		}
	}
	_, err := d.ReadToken()
	return err
}

// readAll appends all of r to b.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readFast checks an answer of the form {…,"errors":false,"items":[{"create":{…}},…]}, compact,
// where every member but "items" and the results holds a string without escapes, an integer,
// true, false or null: what Elasticsearch writes when every item succeeded. It fills rr.results
// and reports true only when the answer is exactly of that form and has an item per request
// action, with the _id sent and a 2xx status; anything else is left to the tokenizer.
func (rr *responseReader) readFast(want []string) bool {
	c := scan{b: rr.raw}
	if !c.lit(`{`) {
		return false
	}
	errorsFalse := false
	var names members
	for !c.lit(`"items":[`) {
		key, ok := c.str()
		if !ok || !c.lit(":") || !names.add(key) {
			return false
		}
		if string(key) == "errors" {
			if !c.lit("false") {
				return false
			}
			errorsFalse = true
		} else if !c.scalar() {
			return false
		}
		if !c.lit(",") {
			return false
		}
	}
	if !errorsFalse {
		return false
	}
	for k := 0; !c.lit("]"); k++ {
		if k == len(want) || k > 0 && !c.lit(",") || !c.lit(`{"create":{`) {
			return false
		}
		res := itemResult{create: true}
		names = members{}
		for first := true; !c.lit("}}"); first = false {
			if !first && !c.lit(",") {
				return false
			}
			key, ok := c.str()
			if !ok || !c.lit(":") || !names.add(key) {
				return false
			}
			switch string(key) {
			case "_id":
				id, ok := c.str()
				if !ok || want[k] != "" && string(id) != want[k] {
					return false
				}
			case "status":
				if res.Status, ok = c.int(); !ok {
					return false
				}
			default:
				if !c.scalar() {
					return false
				}
			}
		}
		if res.Status < 200 || res.Status > 299 {
			return false
		}
		rr.results = append(rr.results, res)
	}
	return len(rr.results) == len(want) && c.lit("}") && c.end()
}

// members are the names an object has shown so far: JSON readers refuse a name twice, and so
// does readFast, which knows few objects of more than a handful of members.
type members struct {
	n     int
	names [8][]byte
}

func (m *members) add(name []byte) bool {
	if m.n == len(m.names) {
		return false
	}
	for _, seen := range m.names[:m.n] {
		if bytes.Equal(seen, name) {
			return false
		}
	}
	m.names[m.n] = name
	m.n++
	return true
}

// scan is readFast's cursor.
type scan struct {
	b []byte
	p int
}

func (c *scan) end() bool { return c.p == len(c.b) }

// lit consumes s if the text continues with it.
func (c *scan) lit(s string) bool {
	if !bytes.HasPrefix(c.b[c.p:], []byte(s)) {
		return false
	}
	c.p += len(s)
	return true
}

// str consumes a string of printable ASCII without escapes and returns its content.
func (c *scan) str() ([]byte, bool) {
	if !c.lit(`"`) {
		return nil, false
	}
	for i := c.p; i < len(c.b); i++ {
		switch ch := c.b[i]; {
		case ch == '"':
			s := c.b[c.p:i]
			c.p = i + 1
			return s, true
		case ch < 0x20 || ch >= 0x7f || ch == '\\':
			return nil, false
		}
	}
	return nil, false
}

// int consumes a non-negative integer of up to 9 digits, without leading zeros.
func (c *scan) int() (int, bool) {
	v, n := 0, 0
	for c.p+n < len(c.b) && c.b[c.p+n] >= '0' && c.b[c.p+n] <= '9' {
		if n == 9 || n == 1 && v == 0 {
			return 0, false
		}
		v = v*10 + int(c.b[c.p+n]-'0')
		n++
	}
	c.p += n
	return v, n > 0
}

// scalar consumes a string without escapes, an integer, true, false or null.
func (c *scan) scalar() bool {
	if c.p < len(c.b) && c.b[c.p] == '"' {
		_, ok := c.str()
		return ok
	}
	if _, ok := c.int(); ok {
		return true
	}
	return c.lit("true") || c.lit("false") || c.lit("null")
}

var errUnexpected = errors.New("unexpected token")

func expect(d *jsontext.Decoder, k jsontext.Kind) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != k {
		return fmt.Errorf("%w %v, want %v", errUnexpected, tok.Kind(), k)
	}
	return nil
}
