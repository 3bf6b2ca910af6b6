package kerberos

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// FuzzDecodeModel checks that Decode never panics on a KRBH section, that whatever it accepts
// is valid and re-encodes to the same bytes, and that the model it gives scores any features,
// hostile ones included, without panicking and with a score in range.
func FuzzDecodeModel(f *testing.F) {
	for _, cfg := range []TrainConfig{{K: 3, Seed: 1}, {Seed: 1, KMax: 4}} {
		m, err := TrainFeatures(blobSamples(1, 0), cfg)
		if err != nil {
			f.Fatal(err)
		}
		enc, err := m.AppendBinary(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
		nan := bytes.Clone(enc)
		binary.LittleEndian.PutUint64(nan[len(nan)-16:], math.Float64bits(math.Inf(1)))
		f.Add(nan)
	}
	hostile := []Features{spray(), {}, {Requests: math.MaxUint32, Failures: math.MaxUint32, FailureRatio: 1, TopServerLoad: math.MaxFloat64}}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid model: %v", err)
		}
		again, err := m.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		for i := range hostile {
			s, err := m.Score(&hostile[i])
			if err == nil && !(s.ScoreNorm >= 0 && s.ScoreNorm <= 100) {
				t.Fatalf("features %+v scored %+v", hostile[i], s)
			}
		}
	})
}
