// Package bundletest makes model bundles for the companion's tests: small valid ones with a real
// IP model, and the broken ones a models index may hold (a bad checksum; NaN weights under a
// valid checksum, as a buggy or hostile trainer would write them).
package bundletest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipinsights"
	"github.com/siemscore/siemscore/synth/ipnet"
)

var (
	once  sync.Once
	model *ipinsights.Model
	err   error
)

// Model returns a small IP model trained on a synthetic organisation (trained once per test
// binary).
func Model(t testing.TB) *ipinsights.Model {
	t.Helper()
	once.Do(func() {
		cfg := ipnet.DefaultOrgConfig()
		cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 2, 8, 8, 7
		var data *ipnet.Dataset
		if data, err = ipnet.Org(cfg); err != nil {
			return
		}
		ds := ipinsights.NewDataset()
		for _, e := range data.Train {
			if err = ds.Add(e.Identity.PrincipalID, e.IP); err != nil {
				return
			}
		}
		mc := ipinsights.DefaultConfig()
		mc.VectorDim, mc.Epochs = 8, 2
		model, err = ipinsights.Train(context.Background(), ds, mc, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	return model
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

// Known is a principal and address the model was trained on.
func Known(t testing.TB) (string, netip.Addr) {
	t.Helper()
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 2, 8, 8, 7
	data, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data.Train[0].Identity.PrincipalID, data.Train[0].IP
}

// containerHeader is the size of everything before the first section (see models/bundle
// FORMAT.md): magic, format, flags, header length, header, section count.
const containerHeader = 8 + 2 + 2 + 4 + 66 + 4

// ipBias is the offset of the bias in the IPIN payload (FORMAT.md): format, hyperparameters,
// calibration options, the two prefix-level lists.
const ipBias = 2 + 7*4 + 4*8 + 2*4 + 8 + 4 + 8 + 4 + 8 + 8 + (1 + 6) + (1 + 5)

// WithNaN returns an unsigned bundle's bytes with the IP model's bias set to NaN and the
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
