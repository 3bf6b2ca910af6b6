package bundle

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/siemscore/siemscore/models/wire"
)

// Container layout constants (see FORMAT.md).
const (
	magic        = "SSCBUNDL"
	formatV1     = 1
	flagSigned   = 1 << 0
	headerLenV1  = 8 + 2 + 8 + 8 + 8 + 32
	maxSections  = 64
	checksumSize = sha256.Size
	macSize      = sha256.Size
	// fixedSize is everything but the sections: magic, format, flags, header length, header,
	// section count and checksum.
	fixedSize = len(magic) + 2 + 2 + 4 + headerLenV1 + 4 + checksumSize
)

// Encode returns the bundle's bytes, signed with HMAC-SHA256 under key when key is not empty.
// A bundle decoded from signed bytes re-encodes to exactly those bytes when given the same key.
func (b *Bundle) Encode(key []byte) ([]byte, error) {
	var flags uint16
	if len(key) > 0 {
		flags |= flagSigned
	}
	out := append([]byte(nil), magic...)
	out = wire.AppendU16(out, formatV1)
	out = wire.AppendU16(out, flags)
	out = wire.AppendU32(out, headerLenV1)
	h := &b.header
	out = wire.AppendI64(out, h.Version.Time.Unix())
	out = wire.AppendU16(out, h.Version.Seq)
	out = wire.AppendI64(out, h.TrainedAt.UnixNano())
	out = wire.AppendI64(out, h.WindowStart.UnixNano())
	out = wire.AppendI64(out, h.WindowEnd.UnixNano())
	out = append(out, h.Fingerprint[:]...)
	out = wire.AppendU32(out, uint32(len(b.sections)))
	for _, s := range b.sections {
		out = append(out, s.tag...)
		lenAt := len(out)
		out = wire.AppendU64(out, 0)
		start := len(out)
		if s.value == nil {
			out = append(out, s.raw...)
		} else {
			var err error
			if out, err = s.value.AppendBinary(out); err != nil {
				return nil, fmt.Errorf("bundle: section %q: %w", s.tag, err)
			}
		}
		wire.AppendU64(out[lenAt:lenAt], uint64(len(out)-start))
	}
	sum := sha256.Sum256(out)
	out = append(out, sum[:]...)
	if len(key) > 0 {
		mac := hmac.New(sha256.New, key)
		mac.Write(out)
		out = mac.Sum(out)
	}
	return out, nil
}

// DecodeOptions configure signature checking.
type DecodeOptions struct {
	// Key makes the signature mandatory: a bundle that is unsigned, or signed with another
	// key, is rejected (ErrSignature), so a reader with a key only takes bundles from a
	// trainer holding the same key. Without a key a signed bundle is accepted on its checksum
	// alone (Verified reports false).
	Key []byte
	// RequireSignature makes a missing Key an error rather than a reason to accept unsigned
	// bundles, for callers whose configuration demands signed ones.
	RequireSignature bool
}

// Decode parses and validates a bundle. Errors name what is wrong: bad magic, an unknown
// format version or flag, a truncated file (with the offset and the part being read), a
// checksum or signature mismatch, or an invalid section (with its tag and the field).
func Decode(data []byte, opt DecodeOptions) (*Bundle, error) {
	if opt.RequireSignature && len(opt.Key) == 0 {
		return nil, errors.New("bundle: a signature is required but no key is configured")
	}
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return nil, errors.New("bundle: not a siemscore bundle (bad magic)")
	}
	r := wire.NewReader(data[len(magic):])
	format := r.U16("format version")
	flags := r.U16("flags")
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if format != formatV1 {
		return nil, fmt.Errorf("bundle: unknown format version %d (this build reads %d)", format, formatV1)
	}
	if flags&^flagSigned != 0 {
		return nil, fmt.Errorf("bundle: unknown flags %#x", flags)
	}
	signed := flags&flagSigned != 0
	if hl := r.U32("header length"); r.Err() == nil && hl != headerLenV1 {
		return nil, fmt.Errorf("bundle: header length %d, want %d", hl, headerLenV1)
	}
	var h Header
	h.Version.Time = time.Unix(r.I64("version time"), 0).UTC()
	h.Version.Seq = r.U16("version sequence")
	h.TrainedAt = time.Unix(0, r.I64("trained-at")).UTC()
	h.WindowStart = time.Unix(0, r.I64("window start")).UTC()
	h.WindowEnd = time.Unix(0, r.I64("window end")).UTC()
	copy(h.Fingerprint[:], r.Raw("fingerprint", 32))
	n := int(r.U32("section count"))
	if r.Err() == nil && n > maxSections {
		return nil, fmt.Errorf("bundle: %d sections, at most %d", n, maxSections)
	}
	type span struct {
		tag     string
		payload []byte
	}
	spans := make([]span, 0, min(n, maxSections))
	for i := 0; i < n && r.Err() == nil; i++ {
		tag := string(r.Raw("section tag", 4))
		size := r.U64("section " + tag + " length")
		if r.Err() != nil {
			break
		}
		if size > uint64(r.Remaining()) {
			return nil, fmt.Errorf("bundle: section %q: length %d but only %d bytes left: %w", tag, size, r.Remaining(), wire.ErrTruncated)
		}
		spans = append(spans, span{tag, r.Raw("section "+tag, int(size))})
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	trailer := checksumSize
	if signed {
		trailer += macSize
	}
	if r.Remaining() != trailer {
		if r.Remaining() < trailer {
			return nil, fmt.Errorf("bundle: %d bytes left for the %d-byte checksum trailer: %w", r.Remaining(), trailer, wire.ErrTruncated)
		}
		return nil, fmt.Errorf("bundle: %d unexpected bytes before the checksum", r.Remaining()-trailer)
	}
	body := len(data) - trailer
	sum := sha256.Sum256(data[:body])
	if !bytes.Equal(sum[:], data[body:body+checksumSize]) {
		return nil, errors.New("bundle: checksum mismatch: the file is corrupt")
	}
	b := &Bundle{header: h}
	if signed {
		b.signed = true
		if len(opt.Key) > 0 {
			mac := hmac.New(sha256.New, opt.Key)
			mac.Write(data[:body+checksumSize])
			if !hmac.Equal(mac.Sum(nil), data[body+checksumSize:]) {
				return nil, fmt.Errorf("%w mismatch: not signed with the configured key", ErrSignature)
			}
			b.verified = true
		}
	} else if len(opt.Key) > 0 {
		return nil, fmt.Errorf("%w missing: unsigned bundles are rejected when a key is configured", ErrSignature)
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	b.version = h.Version.String()
	for i, sp := range spans {
		if !validTag(sp.tag) {
			return nil, fmt.Errorf("bundle: section %d: invalid tag %q", i, sp.tag)
		}
		if i > 0 && compareTags(sp.tag, spans[i-1].tag) <= 0 {
			return nil, fmt.Errorf("bundle: section %q out of order or repeated", sp.tag)
		}
		s := section{tag: sp.tag}
		if c, ok := codecs[sp.tag]; ok {
			v, err := c.decode(sp.payload)
			if err != nil {
				return nil, fmt.Errorf("bundle: section %q: %w", sp.tag, err)
			}
			s.value = v
		} else {
			s.raw = bytes.Clone(sp.payload)
		}
		b.sections = append(b.sections, s)
	}
	return b, nil
}
