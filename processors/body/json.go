package body

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/siemscore/siemscore/processors/jsonw"
)

// AppendText appends v as compact JSON text, the form of event.original and of CloudTrail's
// *_parameters strings: keys in order, binary strings as the text they hold, times in RFC
// 3339, nothing escaped for HTML (encoding/json with SetEscapeHTML(false)). The text is the
// same whether the body came from msgpack or JSON. faithful is false when v held what JSON
// cannot: a non-finite float (written as null) or an ext value (written as its Go text).
func (v Value) AppendText(dst []byte) (out []byte, faithful bool) {
	faithful = true
	return v.appendJSON(dst, false, &faithful), faithful
}

// AppendJSON appends v as a JSON value inside an Elasticsearch document (the passthrough
// fields, CloudTrail's flattened objects): as encoding/json.Marshal writes the Go value Any
// returns once what JSON cannot hold is replaced, that is keys in order, <, > and & escaped,
// binary strings base64-encoded, non-finite floats as null and ext values as their Go text.
func (v Value) AppendJSON(dst []byte) []byte {
	var faithful bool
	return v.appendJSON(dst, true, &faithful)
}

// appendJSON writes v in the form of AppendJSON (doc) or of AppendText, clearing *faithful
// where v holds what JSON cannot.
func (v Value) appendJSON(dst []byte, doc bool, faithful *bool) []byte {
	str := jsonw.StringNoHTML[string]
	if doc {
		str = jsonw.String[string]
	}
	switch v.Kind() {
	case String:
		return str(dst, v.Str())
	case Binary:
		if !doc {
			return str(dst, v.Str())
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, []byte(v.Str()))
		return append(dst, '"')
	case Float:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			*faithful = false
			return append(dst, "null"...)
		}
		return jsonw.Float(dst, f)
	case Ext:
		*faithful = false
		return str(dst, extText(v))
	case Time:
		if t := v.Time(); !encodable(t) {
			*faithful = false
			return str(dst, t.String())
		}
	case Map:
		dst = append(dst, '{')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = str(dst, v.Key(i))
			dst = append(dst, ':')
			dst = v.Elem(i).appendJSON(dst, doc, faithful)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.Elem(i).appendJSON(dst, doc, faithful)
		}
		return append(dst, ']')
	}
	return v.appendScalar(dst)
}

// appendScalar writes the kinds both forms write alike.
func (v Value) appendScalar(dst []byte) []byte {
	switch v.Kind() {
	case Bool:
		return strconv.AppendBool(dst, v.Bool())
	case Int:
		return strconv.AppendInt(dst, v.Int(), 10)
	case Uint:
		return strconv.AppendUint(dst, v.Uint(), 10)
	case Time:
		return jsonw.Time(dst, v.Time())
	}
	return append(dst, "null"...)
}

// encodable reports whether time.Time.MarshalJSON accepts t (years 0..9999).
func encodable(t time.Time) bool { y := t.Year(); return y >= 0 && y <= 9999 }

// extText is the Go text of an ext value, as fmt prints the decoded value.
func extText(v Value) string {
	typ, data := v.Ext()
	return fmt.Sprint(ExtValue{Type: typ, Data: data})
}
