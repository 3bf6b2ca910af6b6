package zeek

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformedRow marks a line that is not a row of the current header; the next line can
// still be read.
var ErrMalformedRow = errors.New("zeek: malformed row")

// TSV parses Zeek's ASCII log format one line at a time, into the maps Zeek's JSON writer
// would have produced: typed values (time and double as float64, count, int and port as int64,
// bool as bool, sets and vectors as arrays), unset fields left out.
//
// It honours every header directive: #separator (written with its value escaped, e.g. \x09),
// #set_separator, #empty_field, #unset_field, #fields, #types and #path; a file may hold several
// header blocks (log rotation appends), each replacing the last, and #close ends a block.
// Files without a #fields header (Zeek's test baselines strip it) take their first non-comment
// line as the column names, with every value a string.
type TSV struct {
	sep, setSep, empty, unset string
	path                      string
	names, types              []string
}

// NewTSV returns a parser with Zeek's default separators.
func NewTSV() *TSV {
	t := &TSV{}
	t.reset()
	return t
}

func (t *TSV) reset() {
	t.sep, t.setSep, t.empty, t.unset = "\t", ",", "(empty)", "-"
	t.path, t.names, t.types = "", nil, nil
}

// Path returns the #path of the current header block ("kerberos"), or "".
func (t *TSV) Path() string { return t.path }

// Stream names the log the current rows belong to: the #path of the header block or, for a file
// written without one (Zeek's test baselines, some exports), "kerberos" when its column names
// include a field only kerberos.log has. Every row of the block belongs to that log, including
// rows whose other fields are all unset.
func (t *TSV) Stream() string {
	if t.path != "" {
		return t.path
	}
	for _, n := range t.names {
		if slices.Contains(KerberosOnlyFields, n) {
			return "kerberos"
		}
	}
	return ""
}

// Row parses one line (without its newline). Header, comment and blank lines return nil, nil.
// A row whose column count does not match the header returns an error wrapping
// ErrMalformedRow.
func (t *TSV) Row(line []byte) (map[string]any, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] == '#' {
		t.directive(string(line))
		return nil, nil
	}
	cols := strings.Split(string(line), t.sep)
	if t.names == nil {
		t.names = cols
		return nil, nil
	}
	if len(cols) != len(t.names) {
		return nil, fmt.Errorf("%w: %d columns, the header has %d", ErrMalformedRow, len(cols), len(t.names))
	}
	row := make(map[string]any, len(cols))
	for i, raw := range cols {
		if raw == t.unset {
			continue
		}
		typ := ""
		if i < len(t.types) {
			typ = t.types[i]
		}
		row[t.names[i]] = t.value(raw, typ)
	}
	return row, nil
}

func (t *TSV) directive(line string) {
	if v, ok := strings.CutPrefix(line, "#separator "); ok {
		// A new header block starts with #separator; the previous block's columns no longer apply.
		t.reset()
		t.sep = unescape(v)
		if t.sep == "" {
			t.sep = "\t"
		}
		return
	}
	name, value, _ := strings.Cut(line, t.sep)
	switch name {
	case "#set_separator":
		t.setSep = unescape(value)
	case "#empty_field":
		t.empty = unescape(value)
	case "#unset_field":
		t.unset = unescape(value)
	case "#path":
		t.path = value
	case "#fields":
		t.names = strings.Split(value, t.sep)
	case "#types":
		t.types = strings.Split(value, t.sep)
	}
	// #open, #close and comments ("### BTest ...") carry nothing a row needs. After #close
	// the last header stays in force, so rows appended without a new header still parse.
}

// value converts one field according to its Zeek type.
func (t *TSV) value(raw, typ string) any {
	if elem, ok := containerElem(typ); ok {
		if raw == t.empty || raw == "" {
			return []any{}
		}
		parts := strings.Split(raw, t.setSep)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = scalar(unescape(p), elem)
		}
		return out
	}
	if raw == t.empty {
		return ""
	}
	return scalar(unescape(raw), typ)
}

func containerElem(typ string) (string, bool) {
	for _, prefix := range [...]string{"set[", "vector["} {
		if elem, ok := strings.CutPrefix(typ, prefix); ok {
			return strings.TrimSuffix(elem, "]"), true
		}
	}
	return "", false
}

// scalar converts a value of a scalar Zeek type; a value that does not parse as its type (the
// masked XXXXXXXXXX.XXXXXX times of test baselines) stays a string for the parser to judge.
func scalar(s, typ string) any {
	switch typ {
	case "time", "interval", "double":
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	case "count", "int", "port":
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
	case "bool":
		switch s {
		case "T":
			return true
		case "F":
			return false
		}
	}
	return s
}

// unescape decodes the \xHH escapes Zeek writes for separators and unprintable bytes.
func unescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
