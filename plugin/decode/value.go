package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
)

// typeOf is msgp.NextType with msgp's extension pseudo-types (time,
// complex) folded back into ExtensionType: Fluent Bit gives ext type numbers
// its own meanings.
func typeOf(b []byte) msgp.Type {
	switch t := msgp.NextType(b); t {
	case msgp.TimeType, msgp.Complex64Type, msgp.Complex128Type:
		return msgp.ExtensionType
	default:
		return t
	}
}

// The decoders below read from an event's Raw copy, which objectLen has
// already walked, so declared lengths fit the buffer and make() sizes are
// bounded by the bytes present. That leaves nesting depth as the only error
// they can meet in practice, so errors carry no path into the value.

// decodeMap decodes the map at the start of b, which sits at nesting level
// depth.
func decodeMap(b []byte, depth int) (map[string]any, []byte, error) {
	if depth > MaxDepth {
		return nil, b, fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, b, err
	}
	m := make(map[string]any, n)
	for range n {
		var k string
		if k, rest, err = decodeKey(rest, depth); err != nil {
			return nil, b, err
		}
		var v any
		if v, rest, err = decodeValue(rest, depth); err != nil {
			return nil, b, err
		}
		m[k] = v
	}
	return m, rest, nil
}

func decodeArray(b []byte, depth int) ([]any, []byte, error) {
	if depth > MaxDepth {
		return nil, b, fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, b, err
	}
	a := make([]any, n)
	for i := range a {
		if a[i], rest, err = decodeValue(rest, depth); err != nil {
			return nil, b, err
		}
	}
	return a, rest, nil
}

// decodeKey decodes a map key of a map at level depth.
func decodeKey(b []byte, depth int) (string, []byte, error) {
	if t := typeOf(b); t == msgp.StrType || t == msgp.BinType {
		k, rest, err := msgp.ReadMapKeyZC(b)
		return shared(k), rest, err
	}
	v, rest, err := decodeValue(b, depth)
	if err != nil {
		return "", b, err
	}
	return fmt.Sprint(v), rest, nil
}

// decodeValue decodes the value at the start of b, held by a container at
// level depth.
func decodeValue(b []byte, depth int) (any, []byte, error) {
	switch t := typeOf(b); t {
	case msgp.StrType:
		s, rest, err := msgp.ReadStringZC(b)
		return shared(s), rest, err
	case msgp.MapType:
		return decodeMap(b, depth+1)
	case msgp.ArrayType:
		return decodeArray(b, depth+1)
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		u, rest, err := msgp.ReadUint64Bytes(b)
		if u > math.MaxInt64 {
			return u, rest, err
		}
		return int64(u), rest, err
	case msgp.Float32Type, msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.NilType:
		rest, err := msgp.ReadNilBytes(b)
		return nil, rest, err
	case msgp.BinType:
		// A copy, not a view of Raw: a caller writing to it would otherwise
		// change strings sharing Raw.
		v, rest, err := msgp.ReadBytesZC(b)
		return bytes.Clone(v), rest, err
	case msgp.ExtensionType:
		typ, data, rest, err := readExt(b)
		if err != nil {
			return nil, b, err
		}
		if typ == eventTimeExt && len(data) == 8 {
			if t, err := eventTime(data); err == nil {
				return t, rest, nil
			}
		}
		return Ext{Type: typ, Data: bytes.Clone(data)}, rest, nil
	default:
		return nil, b, fmt.Errorf("%w: unexpected msgpack type %s", ErrShape, t)
	}
}

// shared returns b as a string without copying. b must be part of an event's
// Raw, which nothing writes to once decoding starts.
func shared(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// readExt splits the ext object at the start of b into its type and payload.
// msgp only reads extensions into a type registered in advance.
func readExt(b []byte) (typ int8, data, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, b, msgp.ErrShortBytes
	}
	var hdr int
	var size uint64
	switch b[0] {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		hdr, size = 2, 1<<(b[0]-0xd4)
	case 0xc7: // ext 8
		hdr = 3
		if len(b) >= hdr {
			size = uint64(b[1])
		}
	case 0xc8: // ext 16
		hdr = 4
		if len(b) >= hdr {
			size = uint64(binary.BigEndian.Uint16(b[1:]))
		}
	case 0xc9: // ext 32
		hdr = 6
		if len(b) >= hdr {
			size = uint64(binary.BigEndian.Uint32(b[1:]))
		}
	default:
		return 0, nil, b, fmt.Errorf("%w: %s is not an ext", ErrShape, msgp.NextType(b))
	}
	if len(b) < hdr || uint64(len(b)-hdr) < size {
		return 0, nil, b, msgp.ErrShortBytes
	}
	end := hdr + int(size)
	return int8(b[hdr-1]), b[hdr:end], b[end:], nil
}
