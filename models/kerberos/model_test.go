package kerberos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// blobSamples draws host-window features from three kinds of ordinary host, plus n attackers.
func blobSamples(seed uint64, n int) []Features {
	rng := rand.New(rand.NewPCG(seed, 9))
	poisson := func(mean float64) float64 { // good enough for test data: rounded normal, ≥ 0
		return max(0, math.Round(mean+rng.NormFloat64()*math.Sqrt(mean)))
	}
	var out []Features
	for i := range 600 {
		var f Features
		switch i % 6 {
		case 0, 1, 2, 3: // workstations
			f[Requests] = 1 + poisson(5)
			f[DistinctServers] = 1 + float64(rng.IntN(2))
			f[DistinctClients] = 1 + float64(rng.IntN(2))
			f[DistinctServices] = min(f[Requests], 1+poisson(3))
		case 4: // application servers
			f[Requests] = 1 + poisson(40)
			f[DistinctServers] = 1 + float64(rng.IntN(3))
			f[DistinctClients] = 1
			f[DistinctServices] = 1 + float64(rng.IntN(4))
		case 5: // terminal servers
			f[Requests] = 1 + poisson(60)
			f[DistinctServers] = 1 + float64(rng.IntN(3))
			f[DistinctClients] = 1 + poisson(12)
			f[DistinctServices] = 1 + poisson(12)
		}
		f[TopServerShare] = 1 / f[DistinctServers]
		f[TopServerLoad] = poisson(1500)
		f[TGSShare] = rng.Float64()
		out = append(out, f)
	}
	for range n {
		out = append(out, spray())
	}
	return out
}

func spray() Features {
	return Features{Requests: 90, DistinctServers: 1, TopServerShare: 1, TopServerLoad: 1500, Failures: 85,
		FailureRatio: 85.0 / 91, DistinctClients: 80, DistinctServices: 2, PreauthFailures: 65, PrincipalUnknown: 20}
}

func trainBlobs(t *testing.T, cfg TrainConfig) *Model {
	t.Helper()
	m, err := TrainFeatures(blobSamples(1, 0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestScoreSeparatesOrdinaryHostsFromSpraying(t *testing.T) {
	m := trainBlobs(t, TrainConfig{K: 3, Seed: 1})
	if m.K() != 3 || !math.IsNaN(m.Silhouette()) || m.Samples() != 600 {
		t.Fatalf("k=%d silhouette=%v samples=%d", m.K(), m.Silhouette(), m.Samples())
	}
	var high int
	ordinary := blobSamples(2, 0) // fresh draws from the same kinds of host
	for i := range ordinary {
		s, err := m.Score(&ordinary[i])
		if err != nil {
			t.Fatal(err)
		}
		if s.ScoreNorm < 0 || s.ScoreNorm > 100 {
			t.Fatalf("score %v out of range", s.ScoreNorm)
		}
		if s.ScoreNorm >= 50 {
			high++
		}
	}
	if high > len(ordinary)/50 {
		t.Errorf("%d of %d ordinary hosts scored ≥ 50", high, len(ordinary))
	}
	f := spray()
	s, err := m.Score(&f)
	if err != nil {
		t.Fatal(err)
	}
	if s.ScoreNorm < 75 {
		t.Errorf("spraying host scored %.1f (surprise %.1f), want critical", s.ScoreNorm, s.Surprise)
	}
	// The reasons name the spray's own features.
	named := map[Feature]bool{}
	for _, d := range s.Top[:s.NTop] {
		named[d.Feature] = true
		if d.Z <= 0 {
			t.Errorf("%s deviation %v, want above the centroid", d.Feature, d.Z)
		}
	}
	if s.NTop != TopDeviations || !(named[Failures] || named[FailureRatio] || named[DistinctClients] || named[PreauthFailures] || named[PrincipalUnknown]) {
		t.Errorf("top deviations %v", s.Top[:s.NTop])
	}
}

func TestRareClusterIsSurprising(t *testing.T) {
	// Training data that already contains a handful of identical sprays: they get a cluster of
	// their own, and its rarity alone puts a spray in the tail although it sits on that centroid.
	m, err := TrainFeatures(blobSamples(1, 3), TrainConfig{K: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := spray()
	s, err := m.Score(&f)
	if err != nil {
		t.Fatal(err)
	}
	if s.SizeFraction > 0.01 || s.Distance > 0.1 {
		t.Fatalf("spray in cluster of fraction %v at distance %v, want its own rare cluster", s.SizeFraction, s.Distance)
	}
	ordinary := blobSamples(2, 0)
	above := 0
	for i := range ordinary {
		o, err := m.Score(&ordinary[i])
		if err != nil {
			t.Fatal(err)
		}
		if o.Surprise >= s.Surprise {
			above++
		}
	}
	if above > len(ordinary)/100 {
		t.Errorf("%d of %d ordinary hosts at least as surprising as the spray (%.1f nats)", above, len(ordinary), s.Surprise)
	}
}

func TestChooseKWhenUnset(t *testing.T) {
	m := trainBlobs(t, TrainConfig{Seed: 1, KMax: 6})
	if m.K() < 2 || m.K() > 6 || math.IsNaN(m.Silhouette()) {
		t.Errorf("k=%d silhouette %v", m.K(), m.Silhouette())
	}
}

func TestTrainRejectsBadSamples(t *testing.T) {
	good := blobSamples(1, 0)
	bad := func(i int, f Feature, v float64) []Features {
		s := append([]Features(nil), good...)
		s[i][f] = v
		return s
	}
	same := make([]Features, 10)
	for name, samples := range map[string][]Features{
		"too few":   good[:2],
		"nan":       bad(5, Requests, math.NaN()),
		"inf":       bad(5, TopServerLoad, math.Inf(1)),
		"negative":  bad(7, Failures, -1),
		"share > 1": bad(9, FailureRatio, 1.5),
		"identical": same,
	} {
		if _, err := TrainFeatures(samples, TrainConfig{K: 2}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestScoreRejectsBadFeatures(t *testing.T) {
	m := trainBlobs(t, TrainConfig{K: 3, Seed: 1})
	f := spray()
	f[DistinctClients] = math.NaN()
	if _, err := m.Score(&f); !errors.Is(err, ErrFeatures) {
		t.Errorf("err %v, want ErrFeatures", err)
	}
}

func TestScoreDoesNotAllocate(t *testing.T) {
	m := trainBlobs(t, TrainConfig{K: 3, Seed: 1})
	f := spray()
	if n := testing.AllocsPerRun(100, func() { _, _ = m.Score(&f) }); n != 0 {
		t.Errorf("%v allocations per Score", n)
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	a, err := trainBlobs(t, TrainConfig{Seed: 3, KMax: 5}).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := trainBlobs(t, TrainConfig{Seed: 3, KMax: 5}).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same data and seed, different models")
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, cfg := range []TrainConfig{
		{K: 3, Seed: 1, TrainedAt: time.Date(2024, 3, 5, 1, 2, 3, 4, time.UTC)},
		{Seed: 1, KMax: 4}, // k chosen: the silhouette is encoded too
	} {
		m := trainBlobs(t, cfg)
		enc, err := m.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		enc = enc[len("prefix"):]
		back, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := back.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, again) {
			t.Error("re-encoding a decoded model changed its bytes")
		}
		if !back.TrainedAt().Equal(m.TrainedAt()) || back.Window() != m.Window() || back.K() != m.K() ||
			(back.Silhouette() != m.Silhouette() && !math.IsNaN(m.Silhouette())) {
			t.Errorf("decoded trained-at %v window %v k %d silhouette %v", back.TrainedAt(), back.Window(), back.K(), back.Silhouette())
		}
		f := spray()
		s1, _ := m.Score(&f)
		s2, _ := back.Score(&f)
		if s1 != s2 {
			t.Errorf("decoded model scores %+v, original %+v", s2, s1)
		}
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	enc, err := trainBlobs(t, TrainConfig{K: 3, Seed: 1}).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(enc) {
		if _, err := Decode(enc[:n]); !errors.Is(err, ErrModel) {
			t.Fatalf("truncated to %d bytes: err %v", n, err)
		}
	}
	// Offsets from the layout documented in encode.go.
	nameAt := 2 + 1 + 1
	fixed := 2 + 1
	for _, name := range featureNames {
		fixed += 1 + len(name)
	}
	chosenAt := fixed + 3*8
	fixed += 3*8 + 1 + 8 + 2*8*NumFeatures + 4 // scalars, means, stds, k: the first centroid starts here
	corrupt := map[string]func([]byte){
		"format":        func(b []byte) { binary.LittleEndian.PutUint16(b, 9) },
		"feature count": func(b []byte) { b[2] = byte(NumFeatures + 1) },
		"feature name":  func(b []byte) { b[nameAt] = 'R' },
		"chosen flag":   func(b []byte) { b[chosenAt] = 7 },
		"nan centroid":  func(b []byte) { binary.LittleEndian.PutUint64(b[fixed:], math.Float64bits(math.NaN())) },
		"zero fraction": func(b []byte) { binary.LittleEndian.PutUint64(b[fixed+8*NumFeatures:], 0) },
		"zero spread":   func(b []byte) { binary.LittleEndian.PutUint64(b[fixed+8*NumFeatures+8:], 0) },
		"huge k":        func(b []byte) { binary.LittleEndian.PutUint32(b[fixed-4:], 1<<30) },
		"no calibrator": func(b []byte) { binary.LittleEndian.PutUint32(b[len(b)-4-calibLen(t, b):], 0) },
	}
	for name, f := range corrupt {
		b := bytes.Clone(enc)
		f(b)
		if _, err := Decode(b); !errors.Is(err, ErrModel) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := Decode(append(bytes.Clone(enc), 0)); !errors.Is(err, ErrModel) {
		t.Errorf("trailing byte: err %v", err)
	}
}

// calibLen is the length of the calibrator encoding that ends an encoded model.
func calibLen(t *testing.T, enc []byte) int {
	t.Helper()
	m, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := m.calib.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(cb)
}

func TestWindowFeaturesMatchTheStreamingState(t *testing.T) {
	// Two hours of one host's requests, starting on a window boundary: two complete windows.
	var reqs []Request
	for i := range 120 {
		errMsg := ""
		if i%10 == 0 {
			errMsg = ErrPreauthFailed
		}
		reqs = append(reqs, req(time.Duration(i)*time.Minute, dc1, "alice/CORP", "krbtgt/CORP", "AS", errMsg))
	}
	// Shuffled input: WindowFeatures orders by time itself.
	shuffled := append([]Request(nil), reqs...)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	w, err := WindowFeatures(shuffled, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 {
		t.Fatalf("%d windows, want 2", len(w))
	}
	s := newTestState(t, StateConfig{})
	for i, r := range reqs {
		o := observe(t, s, r)
		if i == 59 || i == 119 {
			got := w[i/60]
			if got.Features != o.Features || got.Host != ws || !got.End.Equal(t0.Add(time.Duration(i+1)*time.Minute)) {
				t.Errorf("window %d: %+v, streaming state %v", i/60, got, o.Features)
			}
		}
	}
	if w[0].Features[Requests] != 60 || w[0].Features[Failures] != 6 {
		t.Errorf("first window %v", w[0].Features)
	}
}

func TestWindowFeaturesDropPartialWindows(t *testing.T) {
	// From 10:30 to 12:10: only 11:00–12:00 is covered whole.
	var reqs []Request
	for m := 30; m <= 130; m += 5 {
		reqs = append(reqs, req(time.Duration(m)*time.Minute, dc1, "a/CORP", "krbtgt/CORP", "AS", ""))
	}
	reqs = append(reqs, Request{Time: t0, Dest: dc1}) // no source: skipped
	w, err := WindowFeatures(reqs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || !w[0].End.Equal(t0.Add(2*time.Hour)) || w[0].Features[Requests] != 12 {
		t.Errorf("windows %+v, want the single whole one ending 12:00", w)
	}
	if _, err := WindowFeatures(reqs, 7*time.Second); err == nil {
		t.Error("window of 7s: no error")
	}
}

// The table-backed log1p must give math.Log1p's bits for every count in and around the table,
// and for values that are not counts.
func TestLog1pIsMathLog1p(t *testing.T) {
	var vs []float64
	for n := range 1100 {
		vs = append(vs, float64(n), float64(n)+0.5, math.Nextafter(float64(n), 0), math.Nextafter(float64(n), 2000))
	}
	vs = append(vs, 1e6, 123456.789, 1e300, math.MaxFloat64)
	for _, v := range vs {
		if got, want := log1p(v), math.Log1p(v); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("log1p(%v) = %v, math.Log1p gives %v", v, got, want)
		}
	}
}
