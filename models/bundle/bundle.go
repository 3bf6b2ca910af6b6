// Package bundle is the versioned, immutable container of everything the scorer needs: a header
// (version, training time and window, data fingerprint) and one section per model part (the IP
// model now; Kerberos and periodicity sections join the same way). Its on-disk format is
// documented in FORMAT.md: magic, header, sections, SHA-256 checksum and an optional
// HMAC-SHA256 signature. Decoding validates everything (sizes, dimensions, non-finite values,
// checksum, signature) and re-encoding a decoded bundle reproduces its bytes exactly.
//
// Adding a model part is one file in this package: a tag, a Part constructor, an accessor and
// a register call in init (see ip.go).
package bundle

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Header describes how and on what a bundle was trained.
type Header struct {
	Version   Version
	TrainedAt time.Time
	// WindowStart and WindowEnd bound the event times of the training data.
	WindowStart, WindowEnd time.Time
	// Fingerprint is the SHA-256 of the training data as the trainer defines it (for the IP
	// model, ipanomaly.Dataset.Fingerprint), so two bundles trained on the same data can be
	// recognised.
	Fingerprint [32]byte
}

// minTime and maxTime bound the times a header can hold (int64 Unix nanoseconds).
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

func (h *Header) validate() error {
	if err := h.Version.validate(); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"trained-at", h.TrainedAt}, {"window start", h.WindowStart}, {"window end", h.WindowEnd}} {
		if t.t.Before(minTime) || t.t.After(maxTime) {
			return fmt.Errorf("bundle: %s %v outside the representable range", t.name, t.t)
		}
	}
	if h.WindowEnd.Before(h.WindowStart) {
		return fmt.Errorf("bundle: training window ends (%v) before it starts (%v)", h.WindowEnd, h.WindowStart)
	}
	return nil
}

// encoder is what a section value must do: encode itself canonically.
type encoder interface {
	AppendBinary(b []byte) ([]byte, error)
}

// Part is one section to put in a bundle (see IPPart).
type Part struct {
	tag   string
	value encoder
}

// section is a part inside a bundle: its decoded value, or only its bytes when this build does
// not know the tag (kept so that re-encoding is exact and a newer trainer's bundle still loads).
type section struct {
	tag   string
	value encoder
	raw   []byte
}

// codec decodes the sections of one tag.
type codec struct {
	tag    string
	decode func([]byte) (encoder, error)
}

var codecs = map[string]codec{}

// register makes a section tag known. Tags are 4 printable ASCII characters.
func register(c codec) {
	if !validTag(c.tag) || codecs[c.tag].decode != nil {
		panic(fmt.Sprintf("bundle: invalid or duplicate section tag %q", c.tag))
	}
	codecs[c.tag] = c
}

func validTag(tag string) bool {
	if len(tag) != 4 {
		return false
	}
	for i := range 4 {
		if tag[i] < 0x21 || tag[i] > 0x7e {
			return false
		}
	}
	return true
}

// Bundle is an immutable set of trained model parts.
type Bundle struct {
	header   Header
	version  string // header.Version.String(), computed once for the hot path
	sections []section
	// signed says the bundle was decoded from signed bytes; verified that Decode checked the
	// signature against a key.
	signed   bool
	verified bool
}

// New builds a bundle. Parts must have distinct tags; nil parts are skipped.
func New(h Header, parts ...Part) (*Bundle, error) {
	h.TrainedAt, h.WindowStart, h.WindowEnd = h.TrainedAt.UTC(), h.WindowStart.UTC(), h.WindowEnd.UTC()
	h.Version.Time = h.Version.Time.UTC()
	if err := h.validate(); err != nil {
		return nil, err
	}
	b := &Bundle{header: h, version: h.Version.String()}
	for _, p := range parts {
		if p.value == nil {
			continue
		}
		b.sections = append(b.sections, section{tag: p.tag, value: p.value})
	}
	slices.SortFunc(b.sections, func(x, y section) int { return compareTags(x.tag, y.tag) })
	for i := 1; i < len(b.sections); i++ {
		if b.sections[i].tag == b.sections[i-1].tag {
			return nil, fmt.Errorf("bundle: two %q sections", b.sections[i].tag)
		}
	}
	if len(b.sections) > maxSections {
		return nil, fmt.Errorf("bundle: %d sections, at most %d", len(b.sections), maxSections)
	}
	return b, nil
}

func compareTags(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Header returns the bundle's header.
func (b *Bundle) Header() Header { return b.header }

// Version returns the bundle's version.
func (b *Bundle) Version() Version { return b.header.Version }

// VersionString returns Version().String() without allocating.
func (b *Bundle) VersionString() string { return b.version }

// TrainedAt returns when the bundle was trained.
func (b *Bundle) TrainedAt() time.Time { return b.header.TrainedAt }

// Signed reports whether the bundle was decoded from signed bytes.
func (b *Bundle) Signed() bool { return b.signed }

// Verified reports whether Decode checked the signature against a key.
func (b *Bundle) Verified() bool { return b.verified }

// Tags lists the section tags in the bundle, known or not.
func (b *Bundle) Tags() []string {
	out := make([]string, len(b.sections))
	for i, s := range b.sections {
		out[i] = s.tag
	}
	return out
}

// Unknown lists the tags of sections this build cannot use (from a newer trainer); they are
// carried through re-encoding untouched.
func (b *Bundle) Unknown() []string {
	var out []string
	for _, s := range b.sections {
		if s.value == nil {
			out = append(out, s.tag)
		}
	}
	return out
}

// value returns the decoded section of tag, or nil.
func (b *Bundle) value(tag string) encoder {
	for i := range b.sections {
		if b.sections[i].tag == tag {
			return b.sections[i].value
		}
	}
	return nil
}

// ErrSignature is wrapped by every signature failure.
var ErrSignature = errors.New("bundle signature")
