package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// progressEvery is how many records a file is read between progress lines.
const progressEvery = 100000

func (a *app) trainCmd() *cobra.Command {
	cfg := train.DefaultConfig()
	var (
		output, recordType, keyFile, apiFrom, apiTo string
		models                                      []string
		seed                                        uint64
		quiet                                       bool
		fromES                                      = newESTraining()
	)
	cmd := &cobra.Command{
		Use:   "train [flags] FILE...",
		Short: "Train the models on CloudTrail, Zeek Kerberos or principal,ip files and write a model bundle",
		Long: `train reads training files, trains every model the data allows and writes a model bundle for
the plugin (model_bundle) and for 'siemscore score':

  - the IP model from CloudTrail records (userIdentity.principalId, its account, and
    sourceIPAddress) or from the SageMaker IP Insights workshop's headerless principal,ip CSV,
    whose principals may be ARNs, principal IDs or names;
  - the periodicity model from CloudTrail records (user ARN, eventName, day);

Principals go through one identity rule: an assumed role's sessions (the ARN
arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, the principal ID AROA...:SESSION) are
the role, any other ARN or name is kept whole, and an ARN's account is the principal's
account. train prints how many principals and accounts it found, and warns when one
principal holds most of the pairs (a sign that the input names them in a way the rule
reads as one).
  - the Kerberos host model from Zeek kerberos.log (JSON lines or TSV).

Files may be JSON lines, JSON documents (a CloudTrail S3 log file {"Records": [...]} or an
array), Zeek TSV logs or CSV tuples, each optionally gzip-compressed; the format is recognised
from the content. "-" reads stdin. A line that cannot be read is counted and reported, and
reading goes on.

The bundle may be signed with an HMAC key read from --key-file or from the environment
variable SIEMSCORE_BUNDLE_KEY; the key is never printed. Progress goes to stderr.`,
		Example: `  siemscore train -o model.bundle cloudtrail/*.json.gz zeek/kerberos.log
  siemscore train -o ip.bundle --ip-epochs 10 cloudtrail_tuples.csv
  zcat trail.json.gz | siemscore train -o model.bundle -`,
		Args: usageArgs(trainArgs(fromES)),
		RunE: func(cmd *cobra.Command, files []string) error {
			if fromES.Enabled {
				cfg.Models, cfg.IP.Seed, cfg.IP.Embedding.Seed, cfg.Kerberos.Seed = models, seed, seed, seed
				fromES.read.APISessionKeys = cfg.Periodicity.SessionKeys
				return a.trainFromES(cmd, fromES, cfg, output, keyFile, quiet)
			}
			if output == "" {
				return usagef(cmd, "--output: a bundle path is required")
			}
			for _, m := range models {
				if !slices.Contains(train.ModelNames(), m) {
					return usagef(cmd, "--models: unknown model %q (known: %s)", m, strings.Join(train.ModelNames(), ", "))
				}
			}
			w, err := apiWindow(apiFrom, apiTo)
			if err != nil {
				return usagef(cmd, "%v", err)
			}
			key, err := bundleKey(keyFile, a.getenv)
			if err != nil {
				return err
			}
			proc, err := processors.New(processors.Options{Type: recordType})
			if err != nil {
				return usagef(cmd, "--record-type: %v", err)
			}
			cfg.Models, cfg.APIWindow = models, w
			cfg.IP.Seed, cfg.IP.Embedding.Seed, cfg.Kerberos.Seed = seed, seed, seed
			logw := a.stderr
			if quiet {
				logw = io.Discard
			}
			cfg.Log = a.progress(quiet)
			return a.train(cmd, files, output, key, proc, cfg, logw)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false // general flags first, then each model's
	f.StringVarP(&output, "output", "o", "model.bundle", "bundle file to write (replaced atomically; never by an older version)")
	f.StringSliceVar(&models, "models", nil, "models to train, each of which must then succeed: "+strings.Join(train.ModelNames(), ", ")+" (default: every model the data allows)")
	f.Uint64Var(&seed, "seed", cfg.IP.Seed, "seed of the IP model's and the Kerberos clustering's randomness")
	f.StringVar(&recordType, "record-type", "auto", "record type of every record: auto, cloudtrail, guardduty, kerberos or generic")
	f.StringVar(&keyFile, "key-file", "", "file holding the HMAC key to sign the bundle with (default: $SIEMSCORE_BUNDLE_KEY, unsigned if unset)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")

	f.Float64Var(&cfg.IP.HoldoutFraction, "ip-holdout", cfg.IP.HoldoutFraction, "IP model: share of the pairs, the latest, whose first uses teach the combiner what normal novelty looks like (at most 0.4; a second split holds out twice as many)")
	f.IntVar(&cfg.IP.Embedding.VectorDim, "ip-vector-dim", cfg.IP.Embedding.VectorDim, "IP model: embedding dimension")
	f.IntVar(&cfg.IP.Embedding.NumEntityVectors, "ip-entity-vectors", cfg.IP.Embedding.NumEntityVectors, "IP model: rows of the embedding's principal table (more principals share rows)")
	f.IntVar(&cfg.IP.Embedding.Epochs, "ip-epochs", cfg.IP.Embedding.Epochs, "IP model: embedding epochs over the training pairs")
	f.IntVar(&cfg.IP.Embedding.BatchSize, "ip-batch-size", cfg.IP.Embedding.BatchSize, "IP model: embedding pairs per minibatch")
	f.Float64Var(&cfg.IP.Embedding.LearningRate, "ip-learning-rate", cfg.IP.Embedding.LearningRate, "IP model: embedding Adam learning rate")
	f.IntVar(&cfg.IP.Embedding.RandomNegatives, "ip-random-negatives", cfg.IP.Embedding.RandomNegatives, "IP model: embedding negatives per pair with a random address")
	f.IntVar(&cfg.IP.Embedding.ShuffledNegatives, "ip-shuffled-negatives", cfg.IP.Embedding.ShuffledNegatives, "IP model: embedding negatives per pair with another pair's address")
	f.IntVar(&cfg.IP.Embedding.Workers, "ip-workers", cfg.IP.Embedding.Workers, "IP model: goroutines computing embedding gradients (0: one per CPU; the result does not depend on it)")

	f.DurationVar(&cfg.Kerberos.Window, "krb-window", cfg.Kerberos.Window, "Kerberos model: length of the host windows; the Scorer keeps 1h windows and does not use a model trained on others")
	f.IntVar(&cfg.Kerberos.K, "krb-k", cfg.Kerberos.K, "Kerberos model: number of clusters (0: chosen by silhouette between --krb-k-min and --krb-k-max)")
	f.IntVar(&cfg.Kerberos.KMin, "krb-k-min", cfg.Kerberos.KMin, "Kerberos model: fewest clusters tried")
	f.IntVar(&cfg.Kerberos.KMax, "krb-k-max", cfg.Kerberos.KMax, "Kerberos model: most clusters tried")
	f.IntVar(&cfg.Kerberos.NInit, "krb-restarts", cfg.Kerberos.NInit, "Kerberos model: k-means restarts")

	f.Float64Var(&cfg.Periodicity.Threshold, "api-threshold", cfg.Periodicity.Threshold, "API model: |autocorrelation| over lags 1-7 from which a pair is periodic")
	f.IntVar(&cfg.Periodicity.MinHistoryDays, "api-min-history-days", cfg.Periodicity.MinHistoryDays, "API model: days of history a pair needs to be judged")
	f.BoolVar(&cfg.Periodicity.SessionKeys, "api-session-keys", cfg.Periodicity.SessionKeys, "API model: key assumed roles by session (the ARN as recorded) instead of by role; automated roles whose session changes every run then never build a history")
	f.StringVar(&apiFrom, "api-from", "", "API model: first day of the training window, YYYY-MM-DD (default: the first call's day)")
	f.StringVar(&apiTo, "api-to", "", "API model: last day of the training window, YYYY-MM-DD (default: the day before the last call's, which is usually incomplete)")

	f.BoolVar(&fromES.Enabled, "from-es", false, "train from the documents the plugin wrote to Elasticsearch instead of files, publish to the models index (running plugins pick it up) and write --output only if given")
	fromES.register(f)
	return cmd
}

// train reads files into a Collector, trains and publishes the bundle.
func (a *app) train(cmd *cobra.Command, files []string, output string, key []byte, proc *processors.Processor, cfg train.Config, logw io.Writer) error {
	start := time.Now()
	col := train.NewCollector()
	col.SessionKeys(cfg.Periodicity.SessionKeys)
	bad := &badLines{w: logw}
	for _, name := range files {
		if err := readTraining(a, name, proc, col, bad, logw); err != nil {
			return err
		}
		if err := cmd.Context().Err(); err != nil {
			return err
		}
	}
	st := col.Stats()
	fmt.Fprintf(logw, "collected %d IP pairs, %d Kerberos requests, %d API calls from %d records; %d bad lines\n",
		st.IPPairs, st.KerberosRequests, st.APICalls, st.Records, bad.n)
	if len(st.Unused) > 0 {
		reasons := make([]string, 0, len(st.Unused))
		for r, n := range st.Unused {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(reasons)
		fmt.Fprintf(logw, "not usable for training: %s\n", strings.Join(reasons, ", "))
	}

	switch prev, err := bundle.ReadFile(output, bundle.DecodeOptions{Key: key}); {
	case err == nil:
		cfg.Previous = prev
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s exists but cannot be read as a bundle (remove it to replace it): %w", output, err)
	}
	res, err := train.Train(cmd.Context(), col.Data(), cfg)
	if err != nil {
		return err
	}
	for _, m := range train.ModelNames() {
		if why, ok := res.Skipped[m]; ok {
			fmt.Fprintf(logw, "%s model not trained: %s\n", m, why)
		}
	}
	if err := bundle.Publish(output, res.Bundle, bundle.DecodeOptions{Key: key}); err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(output); err == nil {
		size = fi.Size()
	}
	signed := "unsigned"
	if len(key) > 0 {
		signed = "signed"
	}
	fmt.Fprintf(logw, "wrote %s: version %s, sections %s, %d bytes, %s, in %s\n",
		output, res.Bundle.VersionString(), strings.Join(res.Bundle.Tags(), " "), size, signed, time.Since(start).Round(time.Millisecond))
	return nil
}

// readTraining feeds one input to the collector.
func readTraining(a *app, name string, proc *processors.Processor, col *train.Collector, bad *badLines, logw io.Writer) error {
	src, err := openSource(name, a.stdin, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	started, before := time.Now(), bad.n
	n := 0
	if src.csv {
		fmt.Fprintf(logw, "reading %s (principal,ip CSV)\n", src.name)
		tr := src.tuples()
		for tp := range tr.readable(bad) {
			if err := col.AddPair(tp.Entity, tp.IP, time.Time{}); err != nil {
				bad.add("", fmt.Errorf("%s: %w", src.name, err))
				continue
			}
			n++
		}
		if tr.Header {
			fmt.Fprintf(logw, "%s: first row taken as a header\n", src.name)
		}
	} else {
		rd, err := src.items()
		if err != nil {
			return err
		}
		fmt.Fprintf(logw, "reading %s (%s)\n", src.name, rd.Format())
		var recs []ecs.Record
		for it := range rd.All() {
			where := fmt.Sprintf("%s:%d", it.File, it.Line)
			if it.Err != nil {
				bad.add(where, it.Err)
				continue
			}
			recs = proc.AppendStream(recs[:0], it.Body, it.Stream, time.Now())
			for i := range recs {
				if err := failedRecord(&recs[i]); err != nil {
					bad.add(where, fmt.Errorf("%s: %w", where, err))
					continue
				}
				col.Add(&recs[i])
				n++
				if n%progressEvery == 0 {
					fmt.Fprintf(logw, "%s: %d records\n", src.name, n)
				}
			}
		}
	}
	fmt.Fprintf(logw, "%s: %d records, %d bad lines, in %s\n", src.name, n, bad.n-before, time.Since(started).Round(time.Millisecond))
	return nil
}

// apiWindow parses --api-from and --api-to, which go together; neither means the default
// window (see train.Config.APIWindow).
func apiWindow(from, to string) (periodicity.Window, error) {
	if from == "" && to == "" {
		return periodicity.Window{}, nil
	}
	if from == "" || to == "" {
		return periodicity.Window{}, errors.New("--api-from and --api-to go together")
	}
	var w periodicity.Window
	for _, d := range []struct {
		flag, v string
		day     *periodicity.Day
	}{{"--api-from", from, &w.First}, {"--api-to", to, &w.Last}} {
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return w, fmt.Errorf("%s %q: want YYYY-MM-DD", d.flag, d.v)
		}
		day, ok := periodicity.DayOf(t)
		if !ok {
			return w, fmt.Errorf("%s %q: outside 1970..9999", d.flag, d.v)
		}
		*d.day = day
	}
	if w.Last < w.First {
		return w, fmt.Errorf("--api-to %s is before --api-from %s", to, from)
	}
	return w, nil
}

// bundleKey returns the HMAC key from keyFile, else from the environment; nil when neither is
// set. The key itself never appears in an error.
func bundleKey(keyFile string, getenv func(string) string) ([]byte, error) {
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("--key-file: %w", err)
		}
		key := []byte(strings.TrimRight(string(b), "\r\n"))
		if len(key) == 0 {
			return nil, fmt.Errorf("--key-file %s is empty", keyFile)
		}
		return key, nil
	}
	if k := getenv(shared.EnvBundleKey); k != "" {
		return []byte(k), nil
	}
	return nil, nil
}
