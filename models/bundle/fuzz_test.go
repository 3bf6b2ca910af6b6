package bundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/processors/identity"
)

var fuzzKey = []byte("fuzz-key")

// tinyBundle is small enough for a committed corpus: three principals, 2 dimensions.
func tinyBundle(t testing.TB) *Bundle {
	ds := ipanomaly.NewDataset()
	for i := range 30 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 5)})
		if i%4 == 0 {
			ip = netip.MustParseAddr("2001:db8::7")
		}
		if err := ds.Add(identity.Principal{ID: fmt.Sprintf("AIDA%d", i%3)}, ip, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ipanomaly.DefaultConfig()
	cfg.Embedding.VectorDim, cfg.Embedding.Epochs, cfg.Embedding.BatchSize, cfg.CalibrationSample = 2, 1, 16, 30
	cfg.Calibration.Knots = 4
	m, err := ipanomaly.Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(testHeader(), IPPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeBundle checks that Decode never panics, and that whatever it accepts re-encodes to
// the same bytes and scores without panicking.
func FuzzDecodeBundle(f *testing.F) {
	b := tinyBundle(f)
	for _, key := range [][]byte{nil, fuzzKey} {
		data, err := b.Encode(key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Without a key unsigned bundles load; with one only bundles signed with it do.
		b, err := Decode(data, DecodeOptions{})
		if err != nil {
			return
		}
		var key []byte
		if b.Signed() {
			if b, err = Decode(data, DecodeOptions{Key: fuzzKey}); err != nil {
				return
			}
			key = fuzzKey
		} else if _, err := Decode(data, DecodeOptions{Key: fuzzKey}); !errors.Is(err, ErrSignature) {
			t.Fatalf("an unsigned bundle decoded with a key: %v", err)
		}
		again, err := b.Encode(key)
		if err != nil {
			t.Fatalf("a decoded bundle does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("Encode(Decode(data)) != data")
		}
		if m := b.IP(); m != nil {
			for _, ip := range []string{"192.0.2.1", "198.51.100.7", "2001:db8::7", "2001:db8:1::1"} {
				m.Score(identity.Principal{ID: "AIDA1"}, netip.MustParseAddr(ip))
				m.Score(identity.Principal{ID: "unknown", Account: "123456789012"}, netip.MustParseAddr(ip))
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzDecodeBundle (run with
// BUNDLE_WRITE_CORPUS=1 after changing the format).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("BUNDLE_WRITE_CORPUS") == "" {
		t.Skip("set BUNDLE_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	b := tinyBundle(t)
	unsigned := encode(t, b, nil)
	signed := encode(t, b, fuzzKey)
	sections := 16 + headerLenV1 + 4
	seeds := map[string][]byte{
		"valid_unsigned":          unsigned,
		"valid_signed":            signed,
		"truncated_header":        unsigned[:20],
		"truncated_section":       unsigned[:sections+12+40],
		"truncated_checksum":      unsigned[:len(unsigned)-5],
		"truncated_signature":     signed[:len(signed)-5],
		"flipped_magic":           patch(unsigned, 0, 'X'),
		"flipped_payload":         patch(unsigned, sections+30, unsigned[sections+30]^0x10),
		"flipped_checksum":        patch(unsigned, len(unsigned)-3, unsigned[len(unsigned)-3]^1),
		"flipped_signature":       patch(signed, len(signed)-3, signed[len(signed)-3]^1),
		"huge_section_count":      resum(patch(unsigned, sections-4, 0xff, 0xff, 0xff, 0xff)),
		"huge_section_length":     resum(patch(unsigned, sections+4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)),
		"huge_dimension":          resum(patch(unsigned, sections+12+2, 0xff, 0xff, 0xff, 0x7f)),
		"unknown_section_only":    resum(patch(unsigned, sections+0, 'Z', 'Z', 'Z', 'Z')),
		"unsigned_flag_on_signed": patch(signed, 10, 0),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeBundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
