package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/modelstore"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/companion"
	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/processors/ecs"
)

// companionScorer scores with the bundles of the process's shared companion trainer; closing it
// releases this instance's lease (the last one stops the companion).
type companionScorer struct {
	*companion.Scorer
	lease *companion.Lease
}

func (c companionScorer) Close() error { return c.lease.Close() }

// openCompanion joins (or starts) the companion trainer companion_path names. It returns once the
// newest valid bundle of the cache or the models index is loaded, if there is one: the first
// flush is scored whenever a model exists. es is only used for that first load.
func openCompanion(cfg config.Config, es *esclient.Client, scoring []score.Option, log hclog.Logger) (Scorer, error) {
	index, err := modelstore.NewIndex(es, cfg.ModelsIndex, 0)
	if err != nil {
		return nil, fmt.Errorf("models_index: %w", err)
	}
	hc := companion.Config{
		Path: cfg.CompanionPath, Args: companionArgs(cfg), Env: companionEnv(cfg),
		CacheDir: cfg.ModelCacheDir, Index: index,
		// Exactly what a model_bundle file is read with.
		Decode:  bundle.DecodeOptions{Key: cfg.BundleKey},
		Scoring: scoring,
		Log:     log,
	}
	if cfg.MetricsPort > 0 {
		hc.MetricsAddr = ":" + strconv.Itoa(cfg.MetricsPort)
	}
	lease, err := companion.Acquire(hc)
	if err != nil {
		return nil, fmt.Errorf("companion_path: %w", err)
	}
	return companionScorer{Scorer: lease.Scorer(), lease: lease}, nil
}

// companionArgs is the trainer's command line: the operator's companion_args, then what the
// plugin and its companion must agree on (later flags win).
func companionArgs(cfg config.Config) []string {
	flag := func(name string) string { return "--" + name }
	args := []string{shared.TrainerCommand,
		flag(shared.FlagCloudTrailIndex), cfg.Landing.DataStream(ecs.KindCloudTrail.String(), "*"),
		flag(shared.FlagKerberosIndex), cfg.Landing.DataStream(ecs.KindKerberos.String(), "*")}
	args = append(args, cfg.CompanionArgs...)
	args = append(args, flag(shared.FlagModelsIndex), cfg.ModelsIndex, flag(shared.FlagRetrainEvery), cfg.ModelRetrain.String(),
		flag(shared.FlagESTimeout), cfg.Timeout.String())
	if cfg.ModelCacheDir != "" {
		args = append(args, flag(shared.FlagCacheDir), cfg.ModelCacheDir)
	}
	if cfg.CAFile != "" {
		args = append(args, flag(shared.FlagCAFile), cfg.CAFile)
	}
	if !cfg.TLSVerify {
		args = append(args, flag(shared.FlagInsecure))
	}
	if !cfg.TLSVerifyHostname {
		args = append(args, flag(shared.FlagTLSSkipHostname))
	}
	return args
}

// companionEnv passes the Elasticsearch connection, credentials included, and the bundle key in
// the environment (the companion signs what it trains and verifies what it serves with it).
func companionEnv(cfg config.Config) []string {
	env := []string{shared.EnvESURL + "=" + strings.Join(cfg.Hosts, ",")}
	for _, kv := range [][2]string{{shared.EnvESAPIKey, cfg.APIKey}, {shared.EnvESUser, cfg.User}, {shared.EnvESPassword, cfg.Password}, {shared.EnvBundleKey, string(cfg.BundleKey)}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env
}
