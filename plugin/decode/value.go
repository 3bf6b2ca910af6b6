package decode

import (
	"encoding/binary"
	"fmt"

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
