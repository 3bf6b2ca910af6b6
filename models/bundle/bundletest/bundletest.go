// Package bundletest makes model bundles for tests: one small bundle with every section the
// scorer uses (IP, Kerberos, periodicity), trained once per test binary from synthetic CloudTrail
// and Zeek records, for tests that need records really scored rather than marked untrained;
// versioned IP-only bundles built from its IP model; and the broken ones a models index may hold
// (a bad checksum; NaN weights under a valid checksum, as a buggy or hostile trainer would write
// them).
package bundletest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/input"
)

var (
	once sync.Once
	full *bundle.Bundle
	err  error
)

// Full returns the bundle with every section (IPIN, KRBH and APIP), training it on the first
// call.
func Full(tb testing.TB) *bundle.Bundle {
	tb.Helper()
	once.Do(func() { full, err = build() })
	if err != nil {
		tb.Fatal(err)
	}
	return full
}

// Model returns Full's IP model, trained on a small synthetic organisation.
func Model(tb testing.TB) *ipanomaly.Model {
	tb.Helper()
	return Full(tb).IP()
}

func build() (*bundle.Bundle, error) {
	org := ipnet.DefaultOrgConfig()
	org.Orgs, org.Members = 2, 6
	ds, err := ipnet.Org(org)
	if err != nil {
		return nil, err
	}
	var cloudtrail, zeek bytes.Buffer
	if err := ipnet.WriteCloudTrail(&cloudtrail, 1, ds.Train); err != nil {
		return nil, err
	}
	kd, err := synthkrb.Generate(synthkrb.Config{Seed: 1, Workstations: 30})
	if err != nil {
		return nil, err
	}
	if err := synthkrb.WriteZeekTSV(&zeek, kd.Records, kd.Records[0].Time); err != nil {
		return nil, err
	}
	col := train.NewCollector()
	for _, text := range []*bytes.Buffer{&cloudtrail, &zeek} {
		if err := collect(col, text); err != nil {
			return nil, err
		}
	}
	cfg := train.DefaultConfig()
	cfg.IP.Embedding.Epochs, cfg.IP.Embedding.VectorDim = 1, 8
	cfg.Kerberos.K = 3
	cfg.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	res, err := train.Train(context.Background(), col.Data(), cfg)
	if err != nil {
		return nil, fmt.Errorf("bundletest: %w", err)
	}
	if len(res.Skipped) > 0 {
		return nil, fmt.Errorf("bundletest: models left out: %v", res.Skipped)
	}
	return res.Bundle, nil
}

// collect parses one file's worth of records as the CLI does and adds them to col.
func collect(col *train.Collector, text *bytes.Buffer) error {
	proc, err := processors.New(processors.Options{})
	if err != nil {
		return err
	}
	rd, err := input.NewReader(text, "bundletest")
	if err != nil {
		return err
	}
	var recs []ecs.Record
	for it := range rd.All() {
		if it.Err != nil {
			return it.Err
		}
		recs = proc.AppendStream(recs[:0], it.Body, it.Stream, time.Unix(0, 0))
		for i := range recs {
			col.Add(&recs[i])
		}
	}
	return nil
}

// Version returns the version t0 + sec seconds, sequence seq.
func Version(sec int, seq uint16) bundle.Version {
	return bundle.Version{Time: T0.Add(time.Duration(sec) * time.Second), Seq: seq}
}

// T0 is the time of Version(0, 0).
var T0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Bundle returns a bundle of version v holding Model.
func Bundle(t testing.TB, v bundle.Version) *bundle.Bundle {
	t.Helper()
	b, err := bundle.New(bundle.Header{
		Version: v, TrainedAt: v.Time.Add(-time.Minute), WindowStart: v.Time.AddDate(0, 0, -7), WindowEnd: v.Time,
	}, bundle.IPPart(Model(t)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Encode returns b's unsigned bytes.
func Encode(t testing.TB, b *bundle.Bundle) []byte {
	t.Helper()
	data, err := b.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// containerHeader is the size of everything before the first section (see models/bundle
// FORMAT.md): magic, format, flags, header length, header, section count.
const containerHeader = 8 + 2 + 2 + 4 + 66 + 4

// ipBias is the offset of the embedding's bias in the IPIN payload (FORMAT.md): the section's
// format and hyperparameters, the embedding's length, then in the embedding its format,
// hyperparameters and the two prefix-level lists.
const ipBias = (2 + 8 + 5*4 + 2*8 + 8 + 4 + 8 + 4 + 8 + 8) + 4 + (2 + 8*4 + 4*8 + 8 + (1 + 5) + (1 + 4))

// WithNaN returns an unsigned bundle's bytes with the IP embedding's bias set to NaN and the
// checksum recomputed, so that only validation can tell.
func WithNaN(t testing.TB, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	off := containerHeader
	for off+12 <= len(out)-sha256.Size {
		tag := string(out[off : off+4])
		size := int(binary.LittleEndian.Uint64(out[off+4:]))
		if tag == bundle.TagIP {
			binary.LittleEndian.PutUint32(out[off+12+ipBias:], 0x7fc00000)
			sum := sha256.Sum256(out[:len(out)-sha256.Size])
			copy(out[len(out)-sha256.Size:], sum[:])
			return out
		}
		off += 12 + size
	}
	t.Fatal("bundletest: no IP section")
	return nil
}

// WithBadChecksum returns a bundle's bytes with one payload byte changed.
func WithBadChecksum(data []byte) []byte {
	out := append([]byte(nil), data...)
	out[len(out)/2] ^= 0x55
	return out
}
