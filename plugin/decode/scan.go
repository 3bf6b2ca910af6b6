package decode

import "github.com/tinylib/msgp/msgp"

// objectLen returns the encoded length of the msgpack object at the start of
// b. It keeps a count of objects still to read instead of recursing (msgp.Skip
// recurses up to 100000 levels), so nesting depth costs no stack, and it
// fails as soon as the declared element counts exceed the bytes left, so a
// header claiming 2^32 entries is rejected without reading further.
func objectLen(b []byte) (int, error) {
	rest := b
	for pending := uint64(1); pending > 0; pending-- {
		// Every pending object takes at least one byte.
		if pending > uint64(len(rest)) {
			return 0, msgp.ErrShortBytes
		}
		var n uint32
		var err error
		switch msgp.NextType(rest) {
		case msgp.MapType:
			n, rest, err = msgp.ReadMapHeaderBytes(rest)
			pending += 2 * uint64(n)
		case msgp.ArrayType:
			n, rest, err = msgp.ReadArrayHeaderBytes(rest)
			pending += uint64(n)
		default:
			rest, err = msgp.Skip(rest)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(b) - len(rest), nil
}
