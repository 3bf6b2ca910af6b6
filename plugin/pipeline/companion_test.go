package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/plugin/companion/shared"
	"github.com/siemscore/siemscore/plugin/config"
)

// The companion gets the credentials and the bundle key in its environment only: a command line
// is visible to every user of the machine.
func TestCompanionGetsSecretsInItsEnvironmentOnly(t *testing.T) {
	cfg, err := config.Load(config.Map{
		"es_hosts": "https://es1:9200,https://es2:9200", "es_user": "writer", "es_password": "pa55-w0rd-secret",
		"model_bundle_key": "bundle-key-secret", "companion_args": "--window 2016h",
	})
	if err != nil {
		t.Fatal(err)
	}
	env := companionEnv(cfg)
	for _, want := range []string{
		shared.EnvESURL + "=https://es1:9200,https://es2:9200", shared.EnvESUser + "=writer",
		shared.EnvESPassword + "=pa55-w0rd-secret", shared.EnvBundleKey + "=bundle-key-secret",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("companion environment %q lacks %s", env, want)
		}
	}
	args := strings.Join(companionArgs(cfg), " ")
	for _, secret := range []string{"pa55-w0rd-secret", "bundle-key-secret"} {
		if strings.Contains(args, secret) {
			t.Errorf("the companion's command line shows a secret: %s", args)
		}
	}

	cfg.BundleKey, cfg.User, cfg.Password = nil, "", ""
	for _, kv := range companionEnv(cfg) {
		if name, _, _ := strings.Cut(kv, "="); name != shared.EnvESURL {
			t.Errorf("unset settings still reach the companion: %s", kv)
		}
	}
}

// The companion trains on the data streams records land in, unless companion_args say otherwise.
func TestCompanionReadsWhereRecordsLand(t *testing.T) {
	for landing, want := range map[string]string{
		"siemscore":   "trainer --cloudtrail-index logs-siemscore.cloudtrail-* --kerberos-index logs-siemscore.kerberos-* ",
		"integration": "trainer --cloudtrail-index logs-aws.cloudtrail-* --kerberos-index logs-zeek.kerberos-* ",
	} {
		cfg, err := config.Load(config.Map{"es_data_streams": landing, "companion_args": "--kerberos-index other-*"})
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Join(companionArgs(cfg), " ")
		// The operator's flag comes later and wins.
		if !strings.HasPrefix(args, want+"--kerberos-index other-*") {
			t.Errorf("%s: %s", landing, args)
		}
	}
}
