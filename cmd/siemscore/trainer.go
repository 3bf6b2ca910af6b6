package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/siemscore/siemscore/cmd/siemscore/trainer"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

// esConnection is how the Elasticsearch commands reach the cluster: flags, else the environment
// variables the assets command reads, so credentials need not appear on a command line.
type esConnection struct {
	url, apiKey, user, password, caFile string
	insecure, skipHostname              bool
	timeout                             time.Duration
}

func (c *esConnection) register(f *pflag.FlagSet) {
	f.StringVar(&c.url, "es-url", "", "Elasticsearch URL(s), comma-separated (default $"+shared.EnvESURL+", else http://127.0.0.1:9200)")
	f.StringVar(&c.apiKey, "api-key", "", "Elasticsearch API key, id:key or encoded (default $"+shared.EnvESAPIKey+")")
	f.StringVar(&c.user, "user", "", "user for basic authentication (default $"+shared.EnvESUser+")")
	f.StringVar(&c.password, "password", "", "password for --user (default $"+shared.EnvESPassword+")")
	f.StringVar(&c.caFile, shared.FlagCAFile, "", "PEM file of the certificate authorities to trust for https URLs")
	f.BoolVar(&c.insecure, shared.FlagInsecure, false, "do not verify TLS certificates (labs only)")
	f.BoolVar(&c.skipHostname, shared.FlagTLSSkipHostname, false, "verify the certificate chain but accept a certificate issued for another host name")
	f.DurationVar(&c.timeout, shared.FlagESTimeout, 60*time.Second, "time limit of one Elasticsearch request")
}

func (c *esConnection) client(a *app, log hclog.Logger) (*esclient.Client, error) {
	env := func(v *string, name string) {
		if *v == "" {
			*v = a.getenv(name)
		}
	}
	env(&c.url, shared.EnvESURL)
	env(&c.apiKey, shared.EnvESAPIKey)
	env(&c.user, shared.EnvESUser)
	env(&c.password, shared.EnvESPassword)
	cfg := esclient.DefaultConfig()
	if c.url != "" {
		cfg.Hosts = strings.Split(c.url, ",")
	}
	cfg.APIKey, cfg.Username, cfg.Password = c.apiKey, c.user, c.password
	cfg.CAFile, cfg.TLSSkipVerify, cfg.TLSSkipHostnameVerify, cfg.RequestTimeout = c.caFile, c.insecure, c.skipHostname, c.timeout
	return esclient.New(cfg, log)
}

// esTraining holds the flags of training from Elasticsearch, shared by `siemscore trainer` and
// `siemscore train --from-es`.
type esTraining struct {
	// Enabled is --from-es (train only).
	Enabled     bool
	conn        esConnection
	read        train.ESConfig
	modelsIndex string
}

func newESTraining() *esTraining { return &esTraining{read: train.DefaultESConfig()} }

func (t *esTraining) register(f *pflag.FlagSet) {
	t.conn.register(f)
	f.StringVar(&t.read.CloudTrailIndex, shared.FlagCloudTrailIndex, t.read.CloudTrailIndex, "index pattern(s) of the CloudTrail documents to train on, comma-separated")
	f.StringVar(&t.read.KerberosIndex, shared.FlagKerberosIndex, t.read.KerberosIndex, "index pattern(s) of the Zeek Kerberos documents to train on, comma-separated")
	f.DurationVar(&t.read.Window, "window", t.read.Window, "how far back the training data goes (the API model wants at least 12 weeks)")
	f.StringVar(&t.modelsIndex, shared.FlagModelsIndex, modelstore.DefaultIndex, "Elasticsearch index the model bundles are published to")
	f.IntVar(&t.read.MaxIPPairs, "max-ip-pairs", t.read.MaxIPPairs, "most CloudTrail events held for the IP model (a uniform sample above it)")
	f.IntVar(&t.read.MaxAPIPairs, "max-api-pairs", t.read.MaxAPIPairs, "most (principal, API) pairs held for the API model (a uniform sample above it)")
	f.IntVar(&t.read.MaxKerberosWindows, "max-kerberos-windows", t.read.MaxKerberosWindows, "most host windows held for the Kerberos model (a uniform sample above it)")
	f.IntVar(&t.read.Slices, "slices", t.read.Slices, "parallel readers of the CloudTrail scan")
}

// train runs one training and publishes its bundle to the models index; models without data in
// the window keep the previous published bundle's.
func (t *esTraining) train(ctx context.Context, a *app, cfg train.Config, key []byte, log train.Logger) (*bundle.Bundle, error) {
	es, err := t.conn.client(a, nil)
	if err != nil {
		return nil, err
	}
	defer es.Close(context.Background())
	index, err := modelstore.NewIndex(es, t.modelsIndex, 0)
	if err != nil {
		return nil, err
	}
	if err := index.Ensure(ctx); err != nil {
		return nil, err
	}
	prev, _, err := modelstore.Finder{
		Index: index, Accept: func(d []byte) (*bundle.Bundle, error) { return bundle.Decode(d, bundle.DecodeOptions{Key: key}) },
		OnReject: func(v string, err error) {
			log.Warn("published bundle not usable as the previous one", "version", v, "error", err)
		},
	}.Newest(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Previous, cfg.KeepPrevious = prev, true
	res, _, err := train.FromES(ctx, es, t.read, cfg, time.Now(), log)
	if err != nil {
		return nil, err
	}
	b, _, err := trainer.Publish(ctx, index, res, prev, key)
	if err != nil {
		return nil, err
	}
	log.Info("published", "version", b.VersionString(), "index", index.Name(), "sections", b.Tags(), "kept_from_previous", res.Kept)
	return b, nil
}

// trainFromES is `siemscore train --from-es`: train from the plugin's documents, publish to the
// models index (where running plugins' companions pick it up), and also write --output when it
// was given.
func (a *app) trainFromES(cmd *cobra.Command, t *esTraining, cfg train.Config, output, keyFile string, quiet bool) error {
	key, err := bundleKey(keyFile, a.getenv)
	if err != nil {
		return err
	}
	if err := errors.Join(t.read.Validate(), cfg.Validate()); err != nil {
		return usagef(cmd, "%v", err)
	}
	b, err := t.train(cmd.Context(), a, cfg, key, a.progress(quiet))
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("output") {
		if err := bundle.Publish(output, b, bundle.DecodeOptions{Key: key}); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(a.stdout, b.VersionString())
	return err
}

// progress is the log training steps are reported to: plain lines on stderr, none when quiet.
func (a *app) progress(quiet bool) train.Lines {
	if quiet {
		return func(string) {}
	}
	return func(s string) { fmt.Fprintln(a.stderr, s) }
}

// trainArgs is train's argument rule: files, or none with --from-es.
func trainArgs(t *esTraining) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if t.Enabled {
			return cobra.NoArgs(cmd, args)
		}
		return cobra.MinimumNArgs(1)(cmd, args)
	}
}

func (a *app) trainerCmd() *cobra.Command {
	t := newESTraining()
	tc := trainer.DefaultConfig()
	var (
		cacheDir, keyFile, logLevel string
		standalone                  bool
	)
	cmd := &cobra.Command{
		Use:   shared.TrainerCommand + " [flags]",
		Short: "Run the companion trainer: retrain from Elasticsearch and serve model bundles to the plugin",
		Long: `trainer is the plugin's companion process. The plugin starts it (companion_path,
companion_args) through hashicorp/go-plugin, one per Fluent Bit process, and it:

  - serves the newest valid model bundle of the local cache and the models index to the plugin,
    which swaps it in without a restart;
  - retrains the IP, API and Kerberos models from the documents the plugin wrote to
    Elasticsearch every --retrain-every (0: never; it then serves what others publish),
    publishes each new version to the models index and the cache, and retries with backoff
    while Elasticsearch is unreachable;
  - picks up versions published by other trainers and by 'siemscore train --from-es'.

Run by hand it refuses to start unless --standalone is given, which runs the same service
without a plugin (a dedicated trainer for plugins whose companions do not retrain) until
interrupted. Credentials come from the environment as for 'assets install'.`,
		Example: `  siemscore trainer --standalone --es-url https://es:9200 --retrain-every 6h`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			launched := a.getenv(shared.Handshake.MagicCookieKey) == shared.Handshake.MagicCookieValue
			if !launched && !standalone {
				return usagef(cmd, "the trainer is started by the plugin (companion_path); to run it on its own, add --standalone")
			}
			level := hclog.LevelFromString(logLevel)
			if level == hclog.NoLevel {
				return usagef(cmd, "--log-level %q: want trace, debug, info, warn or error", logLevel)
			}
			// Under the plugin, JSON lines: go-plugin turns them into the plugin's own log lines.
			log := hclog.New(&hclog.LoggerOptions{Name: "trainer", Output: a.stderr, Level: level, JSONFormat: launched})
			key, err := bundleKey(keyFile, a.getenv)
			if err != nil {
				return err
			}
			es, err := t.conn.client(a, nil)
			if err != nil {
				return usagef(cmd, "%v", err)
			}
			defer es.Close(context.Background())
			if tc.Index, err = modelstore.NewIndex(es, t.modelsIndex, 0); err != nil {
				return usagef(cmd, "--models-index: %v", err)
			}
			if cacheDir != "" {
				if tc.Cache, err = modelstore.NewCache(cacheDir); err != nil {
					return err
				}
			}
			tc.Read, tc.ES, tc.Key, tc.Log = t.read, es, key, log
			svc, err := trainer.New(tc)
			if err != nil {
				return usagef(cmd, "%v", err)
			}
			if standalone {
				svc.Run(cmd.Context())
				return nil
			}
			trainer.Serve(svc, log)
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	t.register(f)
	f.StringVar(&cacheDir, shared.FlagCacheDir, "", "local directory keeping the newest bundles (served at start when Elasticsearch is unreachable)")
	f.DurationVar(&tc.RetrainEvery, shared.FlagRetrainEvery, tc.RetrainEvery, "retraining period, counted from the newest published bundle's training (0: never retrain)")
	f.DurationVar(&tc.WatchEvery, "watch-every", tc.WatchEvery, "how often the models index is checked for versions published elsewhere")
	f.IntVar(&tc.KeepIndex, "keep-versions", tc.KeepIndex, "versions kept in the models index")
	f.StringVar(&keyFile, "key-file", "", "file holding the HMAC key bundles are signed and verified with (default: $"+shared.EnvBundleKey+", unsigned if unset)")
	f.BoolVar(&standalone, "standalone", false, "run without a plugin, until interrupted")
	f.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	return cmd
}
