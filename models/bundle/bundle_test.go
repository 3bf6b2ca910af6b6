package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/wire"
	"github.com/siemscore/siemscore/processors/identity"
)

// smallModel trains a tiny IP model (a few hundred pairs, 4 dimensions) once per test binary.
var smallModel = sync.OnceValues(func() (*ipanomaly.Model, error) {
	r := rand.New(rand.NewPCG(1, 1))
	ds := ipanomaly.NewDataset()
	for i := range 400 {
		p := "AIDA" + string(rune('A'+i%7))
		ip := netip.AddrFrom4([4]byte{10 + byte(i%7), byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
		if i%5 == 0 {
			ip = netip.MustParseAddr("2001:db8::1").Next()
		}
		if err := ds.Add(identity.Principal{ID: p}, ip, time.Time{}); err != nil {
			return nil, err
		}
	}
	cfg := ipanomaly.DefaultConfig()
	cfg.Embedding.VectorDim, cfg.Embedding.Epochs, cfg.Embedding.BatchSize, cfg.CalibrationSample = 4, 2, 64, 200
	return ipanomaly.Train(context.Background(), ds, cfg, nil)
})

func testHeader() Header {
	t0 := time.Date(2025, 6, 1, 14, 30, 0, 0, time.UTC)
	return Header{
		Version:     Version{Time: t0, Seq: 2},
		TrainedAt:   t0.Add(-time.Minute),
		WindowStart: t0.AddDate(0, 0, -30),
		WindowEnd:   t0.Add(-time.Hour),
		Fingerprint: sha256.Sum256([]byte("training data")),
	}
}

func testBundle(t testing.TB) *Bundle {
	t.Helper()
	m, err := smallModel()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(testHeader(), IPPart(m))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(t testing.TB, b *Bundle, key []byte) []byte {
	t.Helper()
	data, err := b.Encode(key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRoundTripIsBitIdentical(t *testing.T) {
	b := testBundle(t)
	for _, key := range [][]byte{nil, []byte("secret")} {
		data := encode(t, b, key)
		d, err := Decode(data, DecodeOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if again := encode(t, d, key); !bytes.Equal(again, data) {
			t.Fatalf("key %q: Encode(Decode(b)) differs from b", key)
		}
		if d.Signed() != (key != nil) || d.Verified() != (key != nil) {
			t.Errorf("key %q: signed=%v verified=%v", key, d.Signed(), d.Verified())
		}
		if d.Header() != b.Header() || d.VersionString() != "20250601T143000Z.0002" {
			t.Errorf("header %+v / version %s did not survive", d.Header(), d.VersionString())
		}
		// The decoded model scores exactly like the trained one.
		for _, ip := range []string{"10.0.1.2", "11.2.3.4", "200.1.2.3", "2001:db8::2", "2a00::1"} {
			for _, p := range []string{"AIDAA", "AIDAC", "nobody"} {
				want, _ := b.IP().Score(identity.Principal{ID: p}, netip.MustParseAddr(ip))
				got, _ := d.IP().Score(identity.Principal{ID: p}, netip.MustParseAddr(ip))
				if got != want {
					t.Fatalf("%s@%s: decoded model scores %+v, trained %+v", p, ip, got, want)
				}
			}
		}
	}
}

func TestCorruptionIsReportedClearly(t *testing.T) {
	data := encode(t, testBundle(t), nil)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"magic", append([]byte("XSCBUNDL"), data[8:]...), "bad magic"},
		{"format", patch(data, 8, 2, 0), "unknown format version 2"},
		{"flags", patch(data, 10, 4, 0), "unknown flags"},
		{"header length", patch(data, 12, 67, 0, 0, 0), "header length 67"},
		{"section count", patch(data, 16+headerLenV1, 65, 0, 0, 0), "65 sections"},
		{"section length", patch(data, 16+headerLenV1+4+4, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0), "only"},
		{"flipped payload byte", patch(data, len(data)/2, data[len(data)/2]^0x40), "checksum mismatch"},
		{"flipped checksum byte", patch(data, len(data)-1, data[len(data)-1]^1), "checksum mismatch"},
		{"trailing byte", append(bytes.Clone(data), 0), "unexpected bytes"},
	}
	for _, tc := range cases {
		_, err := Decode(tc.data, DecodeOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// Every truncation fails, and never panics.
	for n := 0; n < len(data); n += max(1, len(data)/500) {
		if _, err := Decode(data[:n], DecodeOptions{}); err == nil {
			t.Fatalf("truncation to %d of %d bytes accepted", n, len(data))
		}
	}
	if _, err := Decode(data[:len(data)-40], DecodeOptions{}); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("truncated file: err = %v, want it to say truncated", err)
	}
}

// patch returns a copy of data with bytes replaced at off.
func patch(data []byte, off int, b ...byte) []byte {
	out := bytes.Clone(data)
	copy(out[off:], b)
	return out
}

// resum recomputes the checksum of an unsigned bundle, so tests reach the validation that
// comes after it.
func resum(data []byte) []byte {
	out := bytes.Clone(data)
	sum := sha256.Sum256(out[:len(out)-checksumSize])
	copy(out[len(out)-checksumSize:], sum[:])
	return out
}

func TestSectionValidation(t *testing.T) {
	data := encode(t, testBundle(t), nil)
	payload := 16 + headerLenV1 + 4 + 4 + 8 // start of the IP section's payload
	// The IP payload starts with its format (2 bytes), its hyperparameters (86 bytes) and the
	// embedding's length (4 bytes), format (2 bytes) and VectorDim; the model's own validation
	// (non-finite values, key order, offsets) is tested in models/ipanomaly and ipinsights.
	dim := payload + 2 + 84 + 4 + 2
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"tag", resum(patch(data, 16+headerLenV1+4, ' ')), "invalid tag"},
		{"section format", resum(patch(data, payload, 9)), "unknown format version 9"},
		{"dimension", resum(patch(data, dim, 0, 0, 0, 0)), "vector dim 0"},
		{"window", resum(patch(data, 8+2+2+4+8+2+8+8, 0, 0, 0, 0, 0, 0, 0, 0)), "before it starts"},
		{"version sequence", resum(patch(data, 8+2+2+4+8, 0x10, 0x27)), "sequence 10000"},
	}
	for _, tc := range cases {
		_, err := Decode(tc.data, DecodeOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if !strings.Contains(errString(Decode(resum(patch(data, dim, 0, 0, 0, 0)), DecodeOptions{})), `section "IPIN"`) {
		t.Error("section errors must name the section")
	}
}

func errString(_ *Bundle, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSignatures(t *testing.T) {
	b := testBundle(t)
	key := []byte("k1")
	signed, unsigned := encode(t, b, key), encode(t, b, nil)
	if _, err := Decode(signed, DecodeOptions{Key: []byte("k2")}); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: err = %v", err)
	}
	if d, err := Decode(signed, DecodeOptions{}); err != nil || !d.Signed() || d.Verified() {
		t.Errorf("signed bundle without a key must load unverified: %v", err)
	}
	if _, err := Decode(unsigned, DecodeOptions{Key: key, RequireSignature: true}); !errors.Is(err, ErrSignature) {
		t.Errorf("unsigned bundle with RequireSignature: err = %v", err)
	}
	if _, err := Decode(unsigned, DecodeOptions{RequireSignature: true}); err == nil {
		t.Error("RequireSignature without a key must be a configuration error")
	}
	if _, err := Decode(unsigned, DecodeOptions{Key: key}); !errors.Is(err, ErrSignature) {
		t.Errorf("a key makes the signature mandatory; unsigned bundle: err = %v", err)
	}
	if _, err := Decode(unsigned, DecodeOptions{}); err != nil {
		t.Errorf("unsigned bundle without a key: %v", err)
	}
	tampered := patch(signed, len(signed)-1, signed[len(signed)-1]^1)
	if _, err := Decode(tampered, DecodeOptions{Key: key}); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered signature: err = %v", err)
	}
}

// rawPart is a section of a tag this build does not know.
type rawPart []byte

func (r rawPart) AppendBinary(b []byte) ([]byte, error) { return append(b, r...), nil }

func TestUnknownSectionsAreCarried(t *testing.T) {
	m, _ := smallModel()
	b, err := New(testHeader(), Part{tag: "ZZZZ", value: rawPart("future model")}, IPPart(m))
	if err != nil {
		t.Fatal(err)
	}
	data := encode(t, b, nil)
	d, err := Decode(data, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := d.Unknown(); len(u) != 1 || u[0] != "ZZZZ" || d.IP() == nil {
		t.Fatalf("unknown = %v, IP present = %v", u, d.IP() != nil)
	}
	if !bytes.Equal(encode(t, d, nil), data) {
		t.Fatal("unknown section not carried through re-encoding")
	}
	if got := strings.Join(d.Tags(), ","); got != "IPIN,ZZZZ" {
		t.Errorf("tags %s, want sorted IPIN,ZZZZ", got)
	}
	if _, err := New(testHeader(), IPPart(m), IPPart(m)); err == nil {
		t.Error("duplicate sections accepted")
	}
	if e, err := New(testHeader(), IPPart(nil)); err != nil || e.IP() != nil {
		t.Errorf("a bundle without an IP section: %v", err)
	}
}

// A bundle of siemscore's first IP model (an IPIN section in format 1) is refused, saying to
// retrain, not read as something else.
func TestFirstIPModelFormatRefused(t *testing.T) {
	old := rawPart{1, 0, 64, 0, 0, 0} // format 1, then the old hyperparameters
	data := encode(t, mustNew(t, Part{tag: TagIP, value: old}), nil)
	_, err := Decode(data, DecodeOptions{})
	if !errors.Is(err, ipanomaly.ErrFormatV1) || !strings.Contains(err.Error(), "retrain") {
		t.Errorf("old IP model: err = %v", err)
	}
}

func mustNew(t *testing.T, parts ...Part) *Bundle {
	t.Helper()
	b, err := New(testHeader(), parts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVersions(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 14, 30, 0, 0, time.UTC)
	v1, err := NextVersion(Version{}, t0.Add(500*time.Millisecond))
	if err != nil || v1.String() != "20250601T143000Z.0000" {
		t.Fatalf("first version %v, %v", v1, err)
	}
	v2, _ := NextVersion(v1, t0.Add(900*time.Millisecond)) // same second
	v3, _ := NextVersion(v2, t0.Add(-time.Hour))           // the clock stepped back
	v4, _ := NextVersion(v3, t0.Add(time.Minute))
	seq := []Version{v1, v2, v3, v4}
	for i := 1; i < len(seq); i++ {
		if seq[i].Compare(seq[i-1]) <= 0 || seq[i].String() <= seq[i-1].String() {
			t.Errorf("version %d (%s) not after %d (%s), or strings out of order", i, seq[i], i-1, seq[i-1])
		}
	}
	for _, v := range seq {
		p, err := ParseVersion(v.String())
		if err != nil || p.Compare(v) != 0 {
			t.Errorf("ParseVersion(%s) = %v, %v", v, p, err)
		}
	}
	for _, bad := range []string{"", "20250601T143000Z", "20250601T143000Z.99999", "2025-06-01T14:30:00Z.0001", "20250601T143000Z.x001"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	if _, err := NextVersion(Version{Time: t0, Seq: maxSeq}, t0); err == nil {
		t.Error("sequence overflow accepted")
	}
}

func TestPublishNeverGoesBackwards(t *testing.T) {
	m, _ := smallModel()
	path := filepath.Join(t.TempDir(), "model.bundle")
	h := testHeader()
	newer := h
	newer.Version.Seq++
	b1, _ := New(h, IPPart(m))
	b2, _ := New(newer, IPPart(m))
	opt := DecodeOptions{Key: []byte("k")}
	if err := Publish(path, b1, opt); err != nil {
		t.Fatal(err)
	}
	if err := Publish(path, b1, opt); err == nil || !strings.Contains(err.Error(), "not newer") {
		t.Errorf("republishing the same version: %v", err)
	}
	if err := Publish(path, b2, opt); err != nil {
		t.Fatal(err)
	}
	if err := Publish(path, b1, opt); err == nil {
		t.Error("publishing an older version accepted")
	}
	got, err := ReadFile(path, DecodeOptions{Key: []byte("k"), RequireSignature: true})
	if err != nil || got.Version().Compare(newer.Version) != 0 {
		t.Fatalf("published %v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if err := Publish(path, b2, opt); err == nil {
		t.Error("an unreadable published file was overwritten silently")
	}
}

func TestHeaderValidation(t *testing.T) {
	h := testHeader()
	h.WindowEnd = h.WindowStart.Add(-time.Second)
	if _, err := New(h); err == nil {
		t.Error("window ending before it starts accepted")
	}
	h = testHeader()
	h.Version.Time = h.Version.Time.Add(time.Millisecond)
	if _, err := New(h); err == nil {
		t.Error("fractional-second version accepted")
	}
	h = testHeader()
	h.TrainedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := New(h); err == nil {
		t.Error("unrepresentable trained-at accepted")
	}
}

// Same data, same seed: the same bundle bytes, training on two workers.
func TestDeterministicBundleBytes(t *testing.T) {
	build := func() []byte {
		r := rand.New(rand.NewPCG(3, 3))
		ds := ipanomaly.NewDataset()
		for i := range 3000 {
			ds.Add(identity.Principal{ID: "AIDA" + string(rune('A'+i%23))}, netip.AddrFrom4([4]byte{byte(20 + i%23), byte(r.IntN(8)), byte(r.IntN(256)), byte(r.IntN(256))}), time.Time{})
		}
		cfg := ipanomaly.DefaultConfig()
		cfg.Embedding.VectorDim, cfg.Embedding.Epochs, cfg.Embedding.Workers = 16, 2, 2
		m, err := ipanomaly.Train(context.Background(), ds, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := testHeader()
		h.Fingerprint = ds.Fingerprint()
		b, err := New(h, IPPart(m))
		if err != nil {
			t.Fatal(err)
		}
		return encode(t, b, []byte("k"))
	}
	if !bytes.Equal(build(), build()) {
		t.Fatal("two trainings of the same data with the same seed gave different bundles")
	}
}
