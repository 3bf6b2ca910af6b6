package deliver

import (
	"errors"
	"fmt"
	"io"

	json "github.com/goccy/go-json"
	"github.com/goccy/go-json/jsontext"
)

// responseReader reads bulk responses token by token into results it reuses: the reflection
// decoder made a string of every item's _id and a struct per item, hundreds of allocations per
// request, to hold what is checked once and dropped.
type responseReader struct {
	dec     *jsontext.Decoder
	results []itemResult
}

// read reads the response body r to a request whose items have the _ids want (an empty _id is
// not checked), into rr.results. An _id that differs from the one sent is kept in the result's
// ID for the error message; a matching one is not copied.
func (rr *responseReader) read(r io.Reader, want []string) error {
	if rr.dec == nil {
		rr.dec = jsontext.NewDecoder(r)
	} else {
		rr.dec.Reset(r)
	}
	rr.results = rr.results[:0]
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
