package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

func TestDefaults(t *testing.T) {
	t.Setenv(shared.EnvBundleKey, "")
	c, err := Load(Map{})
	if err != nil {
		t.Fatalf("Load with no properties: %v", err)
	}
	want := Config{
		Hosts:             []string{"http://127.0.0.1:9200"},
		TLSVerify:         true,
		TLSVerifyHostname: true,
		Timeout:           30 * time.Second,
		Namespace:         "default",
		DeadLetterIndex:   "logs-siemscore.deadletter-default",
		DeadLetterMax:     1_000_000_000,
		InstallTemplate:   true,
		BulkMaxRecords:    500,
		BulkMaxBytes:      5_000_000,
		RetryBudget:       30 * time.Second,
		ShutdownGrace:     5 * time.Second,
		RecordType:        "auto",
		ModelReload:       time.Minute,
		ModelsIndex:       "siemscore-models",
		ModelRetrain:      24 * time.Hour,
		EventKeys:         []string{"log", "message"},
		LogLevel:          hclog.Info,
		Landing:           target.LandingSiemscore,
		GeoReload:         time.Minute,
	}
	if !equal(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func equal(a, b Config) bool { return reflect.DeepEqual(a, b) }

// executable is a file companion_path accepts: the test binary.
func executable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func writeCA(t *testing.T) string {
	t.Helper()
	// A self-signed certificate: only its PEM shape matters here.
	const pem = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----
`
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEveryKeyIsRead(t *testing.T) {
	ca := writeCA(t)
	exe := executable(t)
	bundle := filepath.Join(t.TempDir(), "model.bundle")
	if err := os.WriteFile(bundle, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		props Map
		check func(Config) bool
	}{
		"es_hosts":               {Map{"es_hosts": " https://a:9200 , http://b:9201/base "}, func(c Config) bool { return slices.Equal(c.Hosts, []string{"https://a:9200", "http://b:9201/base"}) }},
		"es_api_key":             {Map{"es_api_key": "id:secret"}, func(c Config) bool { return c.APIKey == "id:secret" }},
		"es_user":                {Map{"es_user": "u", "es_password": "p"}, func(c Config) bool { return c.User == "u" }},
		"es_password":            {Map{"es_user": "u", "es_password": "p"}, func(c Config) bool { return c.Password == "p" }},
		"es_ca_file":             {Map{"es_ca_file": ca}, func(c Config) bool { return c.CAFile == ca }},
		"es_tls_verify":          {Map{"es_tls_verify": "Off"}, func(c Config) bool { return !c.TLSVerify }},
		"es_tls_verify_hostname": {Map{"es_tls_verify_hostname": "no"}, func(c Config) bool { return !c.TLSVerifyHostname }},
		"es_compress":            {Map{"es_compress": "true"}, func(c Config) bool { return c.Compress }},
		"es_timeout":             {Map{"es_timeout": "90"}, func(c Config) bool { return c.Timeout == 90*time.Second }},
		"es_namespace": {Map{"es_namespace": "prod"}, func(c Config) bool {
			return c.Namespace == "prod" && c.DeadLetterIndex == "logs-siemscore.deadletter-prod"
		}},
		"es_index": {Map{"es_index": "siem"}, func(c Config) bool {
			return c.Index == "siem" && c.DeadLetterIndex == "logs-siemscore.deadletter-default"
		}},
		"es_dead_letter_index":  {Map{"es_dead_letter_index": "dlq"}, func(c Config) bool { return c.DeadLetterIndex == "dlq" }},
		"dead_letter_path":      {Map{"dead_letter_path": "/var/lib/siemscore/dlq"}, func(c Config) bool { return c.DeadLetterPath == "/var/lib/siemscore/dlq" }},
		"dead_letter_max_size":  {Map{"dead_letter_max_size": "20MiB"}, func(c Config) bool { return c.DeadLetterMax == 20<<20 }},
		"es_template_install":   {Map{"es_template_install": "off"}, func(c Config) bool { return !c.InstallTemplate }},
		"es_bulk_max_records":   {Map{"es_bulk_max_records": "2000"}, func(c Config) bool { return c.BulkMaxRecords == 2000 }},
		"es_bulk_max_bytes":     {Map{"es_bulk_max_bytes": "2MiB"}, func(c Config) bool { return c.BulkMaxBytes == 2<<20 }},
		"es_retry_budget":       {Map{"es_retry_budget": "1m30s"}, func(c Config) bool { return c.RetryBudget == 90*time.Second }},
		"shutdown_grace":        {Map{"shutdown_grace": "0"}, func(c Config) bool { return c.ShutdownGrace == 0 }},
		"record_type":           {Map{"record_type": "CloudTrail"}, func(c Config) bool { return c.RecordType == "cloudtrail" }},
		"event_keys":            {Map{"event_keys": "log"}, func(c Config) bool { return slices.Equal(c.EventKeys, []string{"log"}) }},
		"preserve_original":     {Map{"preserve_original": "on"}, func(c Config) bool { return c.PreserveOriginal }},
		"kerberos_features":     {Map{"kerberos_features": "All"}, func(c Config) bool { return c.KerberosFeatures == score.FeaturesAll }},
		"model_bundle":          {Map{"model_bundle": bundle}, func(c Config) bool { return c.ModelBundle == bundle }},
		"model_reload_interval": {Map{"model_reload_interval": "0"}, func(c Config) bool { return c.ModelReload == 0 }},
		"model_bundle_key":      {Map{"model_bundle_key": " k3y "}, func(c Config) bool { return string(c.BundleKey) == "k3y" }},
		"plugin_alias":          {Map{"plugin_alias": "cloudtrail-prod"}, func(c Config) bool { return c.Alias == "cloudtrail-prod" }},
		"plugin_log_level":      {Map{"plugin_log_level": "DEBUG"}, func(c Config) bool { return c.LogLevel == hclog.Debug }},
		"companion_path":        {Map{"companion_path": exe}, func(c Config) bool { return c.CompanionPath == exe }},
		"companion_args": {Map{"companion_args": " --window 2016h  --slices 4 "}, func(c Config) bool {
			return slices.Equal(c.CompanionArgs, []string{"--window", "2016h", "--slices", "4"})
		}},
		"model_cache_dir":        {Map{"model_cache_dir": "/var/lib/siemscore"}, func(c Config) bool { return c.ModelCacheDir == "/var/lib/siemscore" }},
		"models_index":           {Map{"models_index": "models-prod"}, func(c Config) bool { return c.ModelsIndex == "models-prod" }},
		"model_retrain_interval": {Map{"model_retrain_interval": "6h"}, func(c Config) bool { return c.ModelRetrain == 6*time.Hour }},
		"metrics_port":           {Map{"metrics_port": "2021"}, func(c Config) bool { return c.MetricsPort == 2021 }},
		"es_data_streams":        {Map{"es_data_streams": "Integration"}, func(c Config) bool { return c.Landing == target.LandingIntegration }},
		"es_pipeline":            {Map{"es_pipeline": "my-pipeline"}, func(c Config) bool { return c.Pipeline == "my-pipeline" }},
		"geo_city_db":            {Map{"geo_city_db": bundle}, func(c Config) bool { return c.GeoCityDB == bundle }},
		"geo_asn_db":             {Map{"geo_asn_db": bundle}, func(c Config) bool { return c.GeoASNDB == bundle }},
		"geo_asn_csv": {Map{"geo_asn_csv": bundle + "," + ca}, func(c Config) bool {
			return slices.Equal(c.GeoASNRanges, []string{bundle, ca})
		}},
		"geo_reload_interval": {Map{"geo_reload_interval": "5m"}, func(c Config) bool { return c.GeoReload == 5*time.Minute }},
		// The example of Elastic's documentation: deployment "staging" in us-east-1.
		"cloud_id": {Map{"cloud_id": "staging:dXMtZWFzdC0xLmF3cy5mb3VuZC5pbyRjZWM2ZjI2MWE3NGJmMjRjZTMzYmI4ODExYjg0Mjk0ZiRjNmMyY2E2ZDA0MjI0OWFmMGNjN2Q3YTllOTYyNTc0Mw=="}, func(c Config) bool {
			return slices.Equal(c.Hosts, []string{"https://cec6f261a74bf24ce33bb8811b84294f.us-east-1.aws.found.io"}) && c.HostsSet
		}},
		"cloud_auth": {Map{"cloud_auth": "elastic:pass:word"}, func(c Config) bool { return c.User == "elastic" && c.Password == "pass:word" }},
	}
	for _, k := range Keys() {
		tc, ok := cases[k.Name]
		if !ok {
			t.Errorf("key %s has no test case", k.Name)
			continue
		}
		c, err := Load(tc.props)
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%s: %v gave %+v", k.Name, tc.props, c)
		}
	}
}

// The bundle key defaults to the variable the trainer signs with; the property wins over it, and
// neither is ever part of an error.
func TestBundleKeyFromTheEnvironment(t *testing.T) {
	t.Setenv(shared.EnvBundleKey, " env-key-with-blanks ")
	c, err := Load(Map{})
	if err != nil || string(c.BundleKey) != " env-key-with-blanks " {
		t.Errorf("key from the environment: %q, %v; want it exactly as siemscore train reads it", c.BundleKey, err)
	}
	if c, _ := Load(Map{"model_bundle_key": "property-key"}); string(c.BundleKey) != "property-key" {
		t.Errorf("the property did not win over the environment: %q", c.BundleKey)
	}
	_, err = Load(Map{"model_bundle_key": "property-key", "es_timeout": "soon", "bundle_key": "mistaken-key"})
	if err == nil || strings.Contains(err.Error(), "property-key") || strings.Contains(err.Error(), "env-key") || strings.Contains(err.Error(), "mistaken-key") {
		t.Errorf("error %v: want one that shows no key", err)
	}
	t.Setenv(shared.EnvBundleKey, "")
	if c, _ := Load(Map{}); c.BundleKey != nil {
		t.Errorf("no key anywhere gave %q", c.BundleKey)
	}
}

func TestBadValuesNameTheKeyAndTheAcceptedValues(t *testing.T) {
	dir := t.TempDir()
	exe := executable(t)
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		props Map
		key   string
		says  string
	}{
		{Map{"es_hosts": "es:9200"}, "es_hosts", "accepted: http://host:port"},
		{Map{"es_hosts": "http://a:9200,,http://b:9200"}, "es_hosts", "empty"},
		{Map{"es_hosts": "http://"}, "es_hosts", "no host"},
		{Map{"es_hosts": "http://a:9200/?pretty"}, "es_hosts", "query"},
		{Map{"es_api_key": "id:k", "es_user": "u", "es_password": "p"}, "es_api_key", "not both"},
		{Map{"es_user": "u"}, "es_password", "required with es_user"},
		{Map{"es_password": "p"}, "es_user", "required with es_password"},
		{Map{"es_ca_file": filepath.Join(dir, "missing.pem")}, "es_ca_file", "no such file"},
		{Map{"es_tls_verify": "maybe"}, "es_tls_verify", "accepted: on, off"},
		{Map{"es_tls_verify_hostname": "2"}, "es_tls_verify_hostname", "accepted: on, off"},
		{Map{"es_compress": "gzip"}, "es_compress", "accepted: on, off"},
		{Map{"es_timeout": "soon"}, "es_timeout", "accepted: a number of seconds"},
		{Map{"es_timeout": "0"}, "es_timeout", "accepted: 1s to 10m0s"},
		{Map{"es_timeout": "-5"}, "es_timeout", "out of range"},
		{Map{"es_namespace": "Prod"}, "es_namespace", "lower case"},
		{Map{"es_namespace": "a-b"}, "es_namespace", "must not contain"},
		{Map{"es_index": "_siem"}, "es_index", "must not start"},
		{Map{"es_index": "a*b"}, "es_index", "must not contain"},
		{Map{"es_dead_letter_index": "DLQ"}, "es_dead_letter_index", "lower case"},
		{Map{"es_index": "siem", "es_dead_letter_index": "siem"}, "es_dead_letter_index", "must differ"},
		{Map{"es_template_install": "sometimes"}, "es_template_install", "accepted: on, off"},
		{Map{"es_bulk_max_records": "lots"}, "es_bulk_max_records", "accepted: a whole number"},
		{Map{"es_bulk_max_records": "0"}, "es_bulk_max_records", "accepted: 1 to 100000"},
		{Map{"es_bulk_max_bytes": "5 parsecs"}, "es_bulk_max_bytes", "accepted: a number of bytes"},
		{Map{"es_bulk_max_bytes": "1G"}, "es_bulk_max_bytes", "accepted: 1KiB to 100MiB"},
		{Map{"es_retry_budget": "11m"}, "es_retry_budget", "accepted: 0 to 10m0s"},
		{Map{"record_type": "vpcflow"}, "record_type", "accepted: auto, generic, cloudtrail, guardduty, kerberos"},
		{Map{"event_keys": "log,"}, "event_keys", "empty"},
		{Map{"preserve_original": "keep"}, "preserve_original", "accepted: on, off"},
		{Map{"kerberos_features": "some"}, "kerberos_features", "accepted: unusual, all"},
		{Map{"model_bundle": filepath.Join(dir, "none.bundle")}, "model_bundle", "no such file"},
		{Map{"model_bundle": dir}, "model_bundle", "directory"},
		{Map{"model_reload_interval": "10ms"}, "model_reload_interval", "accepted: 0 (off) or at least 1s"},
		{Map{"plugin_alias": "my output"}, "plugin_alias", "accepted: up to 64 letters"},
		{Map{"plugin_log_level": "verbose"}, "plugin_log_level", "accepted: error, warn, info, debug, trace"},
		{Map{"companion_path": filepath.Join(dir, "siemscore")}, "companion_path", "no such file"},
		{Map{"companion_path": notPEM}, "companion_path", "not an executable"},
		{Map{"companion_path": exe, "model_bundle": notPEM}, "companion_path", "not both"},
		{Map{"models_index": "Models"}, "models_index", "lower case"},
		{Map{"model_retrain_interval": "30s"}, "model_retrain_interval", "accepted: 0 (never) or at least 1m"},
		{Map{"metrics_port": "70000"}, "metrics_port", "accepted: 0 (off) or a port"},
		{Map{"es_data_streams": "fleet"}, "es_data_streams", "accepted: siemscore, integration"},
		{Map{"es_data_streams": "integration", "es_index": "siem"}, "es_data_streams", "set one of them"},
		{Map{"es_pipeline": "_none"}, "es_pipeline", "not an ingest pipeline name"},
		{Map{"geo_city_db": filepath.Join(dir, "GeoLite2-City.mmdb")}, "geo_city_db", "no such file"},
		{Map{"geo_asn_db": dir}, "geo_asn_db", "directory"},
		{Map{"geo_asn_csv": notPEM + ",,"}, "geo_asn_csv", "empty"},
		{Map{"geo_asn_db": notPEM, "geo_asn_csv": notPEM}, "geo_asn_db", "not both"},
		{Map{"geo_reload_interval": "1ms"}, "geo_reload_interval", "accepted: 0 (off) or at least 1s"},
		{Map{"cloud_id": "staging"}, "cloud_id", "<name>:<base64 value>"},
		{Map{"cloud_id": "staging:bm90LWEtY2xvdWQtaWQ="}, "cloud_id", "host$elasticsearch-id"},
		{Map{"cloud_id": "staging:dXMtZWFzdC0xLmF3cy5mb3VuZC5pbyRjZWM2", "es_hosts": "https://a:9200"}, "cloud_id", "not both"},
		{Map{"cloud_auth": "elastic"}, "cloud_auth", "expected user:password"},
		{Map{"cloud_auth": "elastic:x", "es_user": "u", "es_password": "p"}, "cloud_auth", "not both"},
		{Map{"es_user": "u", "http_user": "v", "es_password": "p"}, "es_user", "not both"},
	} {
		_, err := Load(tc.props)
		if err == nil {
			t.Errorf("%v: accepted", tc.props)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.key+":") || !strings.Contains(msg, tc.says) {
			t.Errorf("%v: error %q does not name %s and say %q", tc.props, msg, tc.key, tc.says)
		}
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := Load(Map{"es_timeout": "x", "record_type": "y", "logstash_format": "z"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"es_timeout", "record_type", "logstash_format"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}

func TestMistakenKeysAreRefusedWithTheRightName(t *testing.T) {
	real := map[string]bool{}
	for _, k := range Keys() {
		real[k.Name] = true
	}
	for wrong, right := range mistakes {
		if real[wrong] {
			t.Errorf("%s is both a key and a mistake", wrong)
			continue
		}
		_, err := Load(Map{wrong: "x"})
		if err == nil {
			t.Errorf("%s: accepted", wrong)
			continue
		}
		if !strings.Contains(err.Error(), wrong+": not a siemscore key; use "+right) {
			t.Errorf("%s: error %q does not point to %s", wrong, err, right)
		}
		// every suggestion starts with a real key or says there is none
		first, _, _ := strings.Cut(right, " ")
		if !real[first] && first != "nothing:" {
			t.Errorf("%s: suggestion %q does not start with a key", wrong, right)
		}
	}
}

func TestSecretsAreNeverEchoed(t *testing.T) {
	const secret = "s3cr3t-Value"
	for _, props := range []Map{
		{"es_api_key": "id:" + secret + " x"},
		{"es_api_key": "id:" + secret, "es_user": "u", "es_password": secret},
		{"es_hosts": "https://elastic:" + secret + "@es.example:9200"},
		{"es_password": secret},
	} {
		_, err := Load(props)
		if err == nil {
			t.Errorf("%v accepted", props)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error echoes a secret: %v", err)
		}
	}
}

func TestValues(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1500": 1500, "5M": 5_000_000, "5mb": 5_000_000, "512K": 512_000, "2KiB": 2048, "1 GiB": 1 << 30, "3G": 3e9} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5M", "M", "9999999999999999999G", "5 MBs"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "0.5": 500 * time.Millisecond, "250ms": 250 * time.Millisecond, "2m": 2 * time.Minute} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5 s", "NaN", "1e300", "forever"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

// TestREADMEDocumentsEveryKey keeps the key table of the top-level README.md in step with the code: every
// key has a row, with its default, and the table has no row for a key that does not exist.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|(.*)\\|(.*)\\|\\s*$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = strings.TrimSpace(m[3])
	}
	real := map[string]bool{}
	for _, k := range Keys() {
		real[k.Name] = true
		def, ok := documented[k.Name]
		switch {
		case !ok:
			t.Errorf("README.md has no row for %s", k.Name)
		case k.Default != "" && def != "`"+k.Default+"`":
			t.Errorf("README.md: %s default is %s, the code says %q", k.Name, def, k.Default)
		}
	}
	for name := range documented {
		if !real[name] {
			t.Errorf("README.md documents %s, which is not a key", name)
		}
	}
}

// TestESOutputKeys: the names of Fluent Bit's es output that reach a Go plugin are read as the
// plugin's keys, so an es section copied under Name siemscore works (its Host and Port never
// reach the plugin; es_hosts says where).
func TestESOutputKeys(t *testing.T) {
	c, err := Load(Map{"http_user": "fluent", "http_passwd": "secret", "index": "logs-siemscore.fluent-prod", "pipeline": "enrich",
		"es_hosts": "http://es:9200"})
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "fluent" || c.Password != "secret" || c.Index != "logs-siemscore.fluent-prod" || c.Pipeline != "enrich" || !c.HostsSet {
		t.Errorf("es output names: %+v", c)
	}
	if c, _ := Load(Map{}); c.HostsSet {
		t.Error("es_hosts defaulted, but HostsSet")
	}
	real := map[string]bool{}
	for _, k := range Keys() {
		for _, a := range k.Aliases {
			if real[a] || mistakes[a] != "" {
				t.Errorf("alias %s is also a key or a mistake", a)
			}
			real[a] = true
		}
	}
}

// A key one slip away from a real one must stop Fluent Bit naming both, or its setting would be
// silently ignored (Fluent Bit validates nothing for a Go plugin). The slips are made here, by
// hand and by simple rules, not by the code under test.
func TestSlipsOfEveryKeyAreRefused(t *testing.T) {
	real := map[string]bool{}
	for _, k := range Keys() {
		real[k.Name] = true
	}
	check := func(slip, meant string) {
		t.Helper()
		if real[slip] || mistakes[slip] != "" {
			return // a real key, or one the mistakes table answers
		}
		_, err := Load(caseless{slip: "x"})
		if err == nil {
			t.Errorf("%s (a slip of %s): accepted", slip, meant)
			return
		}
		if !strings.Contains(err.Error(), strings.ToLower(slip)+": not a siemscore key; did you mean ") || !strings.Contains(err.Error(), meant) {
			t.Errorf("%s (a slip of %s): %v", slip, meant, err)
		}
	}
	for _, c := range [][2]string{
		{"es_hots", "es_hosts"}, {"es_hsts", "es_hosts"}, {"es_hostss", "es_hosts"}, {"es_hostz", "es_hosts"},
		{"es-hosts", "es_hosts"}, {"es-retry-budget", "es_retry_budget"}, {"ES_HOTS", "es_hosts"},
		{"es_retry-budget", "es_retry_budget"}, {"dead_leter_path", "dead_letter_path"}, {"shutdwon_grace", "shutdown_grace"},
		{"model_bundle_kye", "model_bundle_key"}, {"es_namespase", "es_namespace"}, {"es.index", "es_index"},
	} {
		check(c[0], c[1])
	}
	for name := range real {
		n := len(name)
		swap := name
		for i := 0; i+1 < n; i++ {
			if name[i] != name[i+1] {
				swap = name[:i] + name[i+1:i+2] + name[i:i+1] + name[i+2:]
				break
			}
		}
		for _, slip := range []string{
			name[:n-1],                    // the last letter lost
			name[:n/2] + "x" + name[n/2:], // a letter too many
			name[:n-1] + "q",              // a wrong last letter
			swap,                          // two letters swapped
			strings.ReplaceAll(name, "_", "-"),
		} {
			if slip != name {
				check(slip, name)
			}
		}
	}
}

// caseless looks keys up as Fluent Bit does (flb_kv_get_key_value: case-insensitive).
type caseless map[string]string

func (m caseless) Get(key string) string {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// The probes must not trip over real keys: every key set at once is a valid configuration as far
// as slips go.
func TestRealKeysAreNotSlips(t *testing.T) {
	real := map[string]bool{}
	for _, k := range Keys() {
		for _, name := range append([]string{k.Name}, k.Aliases...) {
			real[name] = true
		}
	}
	eachSlip(func(slip, key string) {
		if real[slip] {
			t.Errorf("%s is a key (or an alias) and a slip of %s", slip, key)
		}
	})
	_, err := Load(Map{"es_hosts": "http://a:9200", "es_index": "logs-siemscore.all-x", "es_namespace": "x", "dead_letter_path": "/tmp/x", "shutdown_grace": "1s"})
	if err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("real keys reported as slips: %v", err)
	}
}
