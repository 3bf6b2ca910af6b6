package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/report"
)

// facts are the report's summary: the headline numbers of every model.
func (s *Summary) facts() []report.Fact {
	ip, k, a := s.IP, s.Kerberos, s.API
	f := []report.Fact{
		{Name: "IP model AUC", Value: fmt.Sprintf("%.4f (%d normal unseen pairs, %d planted)", ip.AUC, ip.Normal, ip.Planted)},
		{Name: "IP TPR at 1% FPR", Value: fmt.Sprintf("%.3f", ip.TPRAt1FPR)},
	}
	for _, t := range ip.Thresholds {
		f = append(f, report.Fact{Name: "IP threshold, " + t.Name, Value: fmt.Sprintf("score_norm ≥ %s (TPR %.3f, FPR %.4f)", fmtThreshold(t.Value), t.TPR, t.FPR)})
	}
	for _, p := range k.Planted {
		f = append(f, report.Fact{Name: "Kerberos " + p.Kind, Value: fmt.Sprintf("host %s rank %d of %d, score_norm %.1f", p.Host, p.Rank, k.Hosts, p.ScoreNorm)})
	}
	f = append(f,
		report.Fact{Name: "Automated roles", Value: fmt.Sprintf("precision %.3f, recall %.3f", a.Precision, a.Recall)},
		report.Fact{Name: "API burst", Value: fmt.Sprintf("volume_z %.1f (score_norm %.1f); other automated days ≤ %.2f", a.Burst.VolumeZ, a.Burst.ScoreNorm, a.NormalAutomatedMaxZ)},
	)
	return f
}

// WriteText prints the summary for a terminal.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	ip, k, a := s.IP, s.Kerberos, s.API
	fmt.Fprintf(&b, "siemscore demo (seed %d, scale %g): generated, trained and scored %d records in %s\n\n", s.Seed, s.Scale, s.Records, s.Elapsed.Round(100*time.Millisecond))

	fmt.Fprintf(&b, "IP anomaly model (CloudTrail): %d training pairs, %d principals\n", ip.TrainPairs, ip.Principals)
	fmt.Fprintf(&b, "  AUC %.4f (raw score; %.4f on score_norm) on %d normal unseen pairs vs %d planted\n", ip.AUC, ip.AUCNorm, ip.Normal, ip.Planted)
	fmt.Fprintf(&b, "  TPR at 1%% FPR: %.3f\n", ip.TPRAt1FPR)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  threshold\tscore_norm ≥\tTPR\tFPR\tprecision\tF1\tnormal alerts/day")
	for i, t := range ip.Thresholds {
		fmt.Fprintf(tw, "  %s\t%s\t%.3f\t%.4f\t%.3f\t%.3f\t%.1f\n", t.Name, fmtThreshold(t.Value), t.TPR, t.FPR, t.Precision, t.F1, ip.AlertsPerDay[i])
	}
	tw.Flush()
	fmt.Fprintln(&b, "  top anomalies:")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, an := range ip.Top {
		fmt.Fprintf(tw, "  %.1f\t%s\t%s\t%s\t[%s]\n", an.ScoreNorm, an.Principal, an.IP, an.Truth, strings.Join(an.Reasons, ", "))
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nKerberos host model (Zeek): k=%d (silhouette %.3f) on %d host windows; %d hosts scored on the held-out day (top 2%% = rank ≤ %d)\n",
		k.K, k.Silhouette, k.Windows, k.Hosts, k.TopLimit)
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, p := range k.Planted {
		fmt.Fprintf(tw, "  %s\t%s\trank %d\tscore_norm %.1f\t[%s]\n", p.Kind, p.Host, p.Rank, p.ScoreNorm, strings.Join(p.Reasons, ", "))
	}
	tw.Flush()
	fmt.Fprintf(&b, "  other hosts reaching critical: %d\n", k.BenignCritical)

	fmt.Fprintf(&b, "\nAPI periodicity model (CloudTrail): %d pairs, %d judged\n", a.Pairs, a.Judged)
	fmt.Fprintf(&b, "  automated roles: precision %.3f, recall %.3f (tp %d, fp %d, fn %d)\n", a.Precision, a.Recall, a.TP, a.FP, a.FN)
	fmt.Fprintf(&b, "  burst %s on %s: %d calls (usually %d, expected %.0f): volume_z %.1f, score_norm %.1f\n",
		pairName(a.Burst.Pair), a.Burst.Day, a.Burst.Calls[1], a.Burst.Calls[0], a.Burst.Expected, a.Burst.VolumeZ, a.Burst.ScoreNorm)
	fmt.Fprintf(&b, "  other automated pair-days: %d, highest volume_z %.2f\n", a.NormalAutomatedDays, a.NormalAutomatedMaxZ)

	fmt.Fprintf(&b, "\nbundle: %s (version %s)\nreport: %s\n", s.BundlePath, s.Version, s.ReportPath)
	_, err := io.WriteString(w, b.String())
	return err
}
