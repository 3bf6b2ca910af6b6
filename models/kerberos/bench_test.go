package kerberos_test

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	krb "github.com/siemscore/siemscore/models/kerberos"
	synth "github.com/siemscore/siemscore/models/synth/kerberos"
)

// benchSetup is a day of generated traffic and a model trained on it.
func benchSetup(b *testing.B) ([]krb.Request, *krb.Model) {
	b.Helper()
	d, err := synth.Generate(synth.Config{Seed: 1, Attacks: synth.StandardAttacks(0)})
	if err != nil {
		b.Fatal(err)
	}
	reqs := d.Requests()
	m, err := krb.Train(reqs, krb.TrainConfig{K: 6, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return reqs, m
}

// next returns request i of an endless replay of reqs, each pass a day later than the last, so
// windows keep sliding as in production.
func next(reqs []krb.Request, i int) krb.Request {
	r := reqs[i%len(reqs)]
	r.Time = r.Time.Add(time.Duration(i/len(reqs)) * 24 * time.Hour)
	return r
}

// observe replays request i into s and, given a model, scores the host's current features:
// the inline work of one Kerberos record.
func observe(s *krb.State, m *krb.Model, reqs []krb.Request, i int) error {
	r := next(reqs, i)
	o, err := s.Observe(&r)
	if err != nil || m == nil {
		return err
	}
	_, err = m.Score(&o.Features)
	return err
}

// benchObserve measures observe on a fresh state; m nil leaves scoring out.
func benchObserve(b *testing.B, reqs []krb.Request, m *krb.Model) {
	s, err := krb.NewState(krb.StateConfig{})
	if err != nil {
		b.Fatal(err)
	}
	start := cpuNow()
	i := 0
	for b.Loop() {
		if err := observe(s, m, reqs, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, start)
}

// BenchmarkObserve is the cost of updating a host's window with one request.
func BenchmarkObserve(b *testing.B) {
	reqs, _ := benchSetup(b)
	benchObserve(b, reqs, nil)
}

// BenchmarkObserveScore is the inline cost per Kerberos record: update the host's window and
// score its current features.
func BenchmarkObserveScore(b *testing.B) {
	reqs, m := benchSetup(b)
	benchObserve(b, reqs, m)
}

// BenchmarkObserveScoreParallel is the same with concurrent flushes sharing one state.
func BenchmarkObserveScoreParallel(b *testing.B) {
	reqs, m := benchSetup(b)
	s, err := krb.NewState(krb.StateConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var counter atomic.Int64
	b.ResetTimer()
	start := cpuNow()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := observe(s, m, reqs, int(counter.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, start)
}

func BenchmarkScore(b *testing.B) {
	reqs, m := benchSetup(b)
	w, err := krb.WindowFeatures(reqs, krb.DefaultWindow)
	if err != nil {
		b.Fatal(err)
	}
	start := cpuNow()
	i := 0
	for b.Loop() {
		if _, err := m.Score(&w[i%len(w)].Features); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, start)
}

// cpuNow is the process's CPU time. The build machine is shared and often oversubscribed, so
// besides wall time per op the benchmarks report CPU time per op, which contention inflates far
// less.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
}
