package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/demo"
)

func (a *app) demoCmd() *cobra.Command {
	cfg := demo.Config{Seed: 1, Scale: 1}
	var quiet bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole product on a generated organisation: no server, no files needed",
		Long: `demo generates a synthetic organisation with planted attacks, trains the three models on its
normal history, writes the model bundle, streams the held-out traffic through the same
processors and Scorer the Fluent Bit plugin uses, and measures what the models found:

  - CloudTrail from people and service roles across organisations (IP model): AUC, the
    share of attacks caught at 1% false positives, alert thresholds chosen for you (1% and
    0.1% FPR, best F1) and the top anomalies with their reasons;
  - Zeek kerberos.log of a Windows domain with a password spray, a kerberoast and a brute
    force (Kerberos host model): each attacker's rank and score;
  - sixteen weeks of API calls by cron-like roles and people with a planted burst
    (periodicity model): precision and recall of the automated pairs, the burst's volume_z.

It prints a summary and writes <out>/model.bundle and <out>/report.html, an HTML report with
the score histograms and thresholds, the Kerberos clusters, the daily series of the automated
pairs and their autocorrelation. At --scale 1 it takes well under a minute.`,
		Example: "  siemscore demo --out out/demo\n  siemscore demo --seed 7 --scale 0.5",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !(cfg.Scale > 0 && cfg.Scale <= 10) {
				return usagef(cmd, "--scale %v: must be above 0 and at most 10", cfg.Scale)
			}
			if cfg.Out == "" {
				return usagef(cmd, "--out: a directory is required")
			}
			if !quiet {
				cfg.Progress = func(s string) { fmt.Fprintln(a.stderr, s) }
			}
			sum, err := demo.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return sum.WriteText(a.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Out, "out", "out/demo", "directory to write model.bundle and report.html to")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated organisation, its attacks and the training")
	f.Float64Var(&cfg.Scale, "scale", cfg.Scale, "size of the organisation relative to the default (0 < scale <= 10)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}
