package decode

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// errInvalidByte is the never-used msgpack byte 0xc1.
var errInvalidByte = errors.New("invalid msgpack byte 0xc1")

// objectLen returns the encoded length of the msgpack object at the start of b. It keeps a
// count of objects still to read instead of recursing, so nesting depth costs no stack, and it
// fails as soon as the declared element counts exceed the bytes left, so a header claiming
// 2^32 entries is rejected without reading further.
func objectLen(b []byte) (int, error) {
	off := 0
	for pending := uint64(1); pending > 0; pending-- {
		// Every pending object takes at least one byte.
		if pending > uint64(len(b)-off) {
			return 0, msgp.ErrShortBytes
		}
		c := b[off]
		var size uint64 // bytes of this object after its first byte, or the header for containers
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			// fixint, nil, bool
		case c >= 0xa0 && c <= 0xbf:
			size = uint64(c & 0x1f)
		case c >= 0x80 && c <= 0x8f:
			pending += 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			pending += uint64(c & 0x0f)
		default:
			var err error
			if size, pending, err = longObject(b[off:], pending); err != nil {
				return 0, err
			}
		}
		if size > uint64(len(b)-off-1) {
			return 0, msgp.ErrShortBytes
		}
		off += 1 + int(size)
	}
	return off, nil
}

// longObject reads the header of an object whose first byte carries no length: it returns
// the bytes after the first byte (the length field, plus the payload for strings, binary,
// ext and numbers) and pending grown by a container's elements.
func longObject(b []byte, pending uint64) (size, newPending uint64, err error) {
	field := func(n int) (uint64, error) {
		if len(b) < 1+n {
			return 0, msgp.ErrShortBytes
		}
		var v uint64
		for _, x := range b[1 : 1+n] {
			v = v<<8 | uint64(x)
		}
		return v, nil
	}
	switch c := b[0]; c {
	case 0xcc, 0xd0:
		return 1, pending, nil
	case 0xcd, 0xd1:
		return 2, pending, nil
	case 0xce, 0xd2, 0xca:
		return 4, pending, nil
	case 0xcf, 0xd3, 0xcb:
		return 8, pending, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext: type byte + 1..16 bytes
		return 1 + 1<<(c-0xd4), pending, nil
	case 0xd9, 0xc4: // str8, bin8
		n, err := field(1)
		return 1 + n, pending, err
	case 0xda, 0xc5: // str16, bin16
		n, err := field(2)
		return 2 + n, pending, err
	case 0xdb, 0xc6: // str32, bin32
		n, err := field(4)
		return 4 + n, pending, err
	case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32: length, type byte, payload
		lenBytes := 1 << (c - 0xc7)
		n, err := field(lenBytes)
		return uint64(lenBytes) + 1 + n, pending, err
	case 0xdc, 0xde, 0xdd, 0xdf: // array16, map16, array32, map32
		width := 2
		if c == 0xdd || c == 0xdf {
			width = 4
		}
		n, err := field(width)
		if c == 0xde || c == 0xdf {
			n *= 2
		}
		return uint64(width), pending + n, err
	}
	return 0, pending, fmt.Errorf("%w", errInvalidByte)
}
