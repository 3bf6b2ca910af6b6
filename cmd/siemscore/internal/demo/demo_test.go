package demo

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/models/bundle"
)

// The demo at a quarter of its size still shows what the models' acceptance tests require, and
// writes a bundle that loads and a report with every figure.
func TestRunMeetsAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, trains and scores a small organisation (a few seconds)")
	}
	out := t.TempDir()
	var progress []string
	sum, err := Run(context.Background(), Config{Seed: 1, Scale: 0.25, Out: out, Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatal(err)
	}

	// IP: the organisation scenario's acceptance test asks the model to beat the per-principal
	// memory baseline (AUC 0.91 at full size) by 0.03.
	ip := sum.IP
	if ip.AUC < 0.94 {
		t.Errorf("IP AUC %.4f < 0.94", ip.AUC)
	}
	if ip.Normal == 0 || ip.Planted == 0 || len(ip.Thresholds) != 3 || len(ip.Top) != 10 {
		t.Fatalf("IP summary incomplete: %+v", ip)
	}
	if t1, t01 := ip.Thresholds[0], ip.Thresholds[1]; t1.FPR > 0.01 || t01.FPR > 0.001 || t01.Value < t1.Value || ip.TPRAt1FPR != t1.TPR {
		t.Errorf("thresholds miss their targets: %+v", ip.Thresholds)
	}
	if best := ip.Thresholds[2]; best.F1 < ip.Thresholds[0].F1 || best.F1 < ip.Thresholds[1].F1 {
		t.Errorf("best F1 %+v is not the best", best)
	}
	if top := ip.Top[0]; !strings.HasPrefix(top.Truth, "planted") || len(top.Reasons) == 0 {
		t.Errorf("top anomaly %+v is not a planted attack with reasons", top)
	}

	// Kerberos: every planted host in the top 2%, critical (the host model's acceptance test).
	k := sum.Kerberos
	if len(k.Planted) != 3 {
		t.Fatalf("%d planted Kerberos hosts, want 3", len(k.Planted))
	}
	for _, p := range k.Planted {
		if p.Rank < 1 || p.Rank > k.TopLimit || p.ScoreNorm < 75 || len(p.Reasons) == 0 {
			t.Errorf("%s host %v: rank %d of %d (limit %d), score_norm %.1f, reasons %v", p.Kind, p.Host, p.Rank, k.Hosts, k.TopLimit, p.ScoreNorm, p.Reasons)
		}
	}

	// API: automated pairs with precision and recall ≥ 0.95, the burst at volume_z ≥ 5 while the
	// automated pairs' other days stay below 3 (the periodicity model's acceptance test).
	a := sum.API
	if a.Precision < 0.95 || a.Recall < 0.95 {
		t.Errorf("automated pairs: precision %.3f recall %.3f", a.Precision, a.Recall)
	}
	if a.Burst.VolumeZ < 5 || a.NormalAutomatedMaxZ >= 3 || a.NormalAutomatedDays == 0 {
		t.Errorf("burst volume_z %.2f, other automated days max %.2f over %d", a.Burst.VolumeZ, a.NormalAutomatedMaxZ, a.NormalAutomatedDays)
	}

	b, err := bundle.ReadFile(filepath.Join(out, BundleFile), bundle.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.IP() == nil || b.Kerberos() == nil || b.Periodicity() == nil || b.VersionString() != sum.Version {
		t.Errorf("bundle %s sections %v, want version %s with all three models", b.VersionString(), b.Tags(), sum.Version)
	}
	html, err := os.ReadFile(sum.ReportPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ip-score-histogram", "ip-raw-histogram", "kerberos-clusters", "api-series-1", "api-acf"} {
		if !strings.Contains(string(html), `<figure id="`+id+`">`) {
			t.Errorf("report lacks figure %s", id)
		}
	}
	if n := strings.Count(string(html), "<svg"); n < 5 {
		t.Errorf("report has %d inline SVGs", n)
	}
	var text strings.Builder
	if err := sum.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AUC 0.9", "TPR at 1% FPR", "kerberoast", "automated roles: precision", "volume_z", sum.ReportPath} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(strings.Join(progress, "\n"), "ip: embedding epoch 5/5") {
		t.Errorf("progress lacks the IP epochs:\n%s", strings.Join(progress, "\n"))
	}
}

func TestRunRejectsBadScale(t *testing.T) {
	for _, s := range []float64{0, -1, 11, math.NaN()} {
		if _, err := Run(context.Background(), Config{Scale: s, Out: t.TempDir()}); err == nil {
			t.Errorf("scale %v accepted", s)
		}
	}
}
