// Package config reads and validates the settings of one siemscore [OUTPUT] instance.
//
// Fluent Bit hands a Go plugin its properties one key at a time and cannot list them, and its
// core keeps many common names to itself (host, port, tls.*, workers, log_level, alias, ...), so
// every key here has a plugin-specific name, every value is checked at start-up with a message
// that names the key and what it accepts, and keys that people are likely to write by mistake
// (Fluent Bit es output names, singular/plural slips) are looked up too and refused with the
// right name. Config is plain Go, filled from a Getter, so all of this is tested without cgo.
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

// Getter returns the value of a property, or "" when it is unset (Fluent Bit does not tell
// unset and empty apart).
type Getter interface {
	Get(key string) string
}

// Map is a Getter over a plain map, for tests and tools.
type Map map[string]string

// Get returns m[key].
func (m Map) Get(key string) string { return m[key] }

// Config is one instance's settings. Load fills it from properties; a Config built in code must
// pass Validate before use.
type Config struct {
	// Elasticsearch connection.
	Hosts             []string
	APIKey            string
	User              string
	Password          string
	CAFile            string
	TLSVerify         bool
	TLSVerifyHostname bool
	Compress          bool
	Timeout           time.Duration

	// HostsSet says es_hosts (or cloud_id) was given rather than defaulted: Fluent Bit's Host
	// and Port never reach the plugin, so a copied es section silently means the default.
	HostsSet bool

	// Where documents go.
	Namespace       string         // data stream namespace
	Landing         target.Landing // siemscore's data streams or the integrations'
	Index           string         // fixed index instead of the per-type data streams
	DeadLetterIndex string         // Load fills in the default
	DeadLetterPath  string         // "" keeps no local dead letters
	DeadLetterMax   int64
	InstallTemplate bool
	Pipeline        string // ingest pipeline records go through

	// Bulk delivery.
	BulkMaxRecords int
	BulkMaxBytes   int64
	RetryBudget    time.Duration
	ShutdownGrace  time.Duration

	// Records.
	RecordType       string // "auto" or a processors kind name
	EventKeys        []string
	PreserveOriginal bool
	KerberosFeatures score.KerberosFeatures // which Kerberos records carry their host's features
	GeoCityDB        string                 // .mmdb for source/destination.geo.*
	GeoASNDB         string                 // .mmdb for source/destination.as.*
	GeoASNRanges     []string               // ip-location-db CSV files for .as.*, instead of GeoASNDB
	GeoReload        time.Duration
	ModelBundle      string // "" ships records unscored
	ModelReload      time.Duration
	BundleKey        []byte // HMAC key every bundle must be signed with; nil accepts unsigned ones

	// Companion trainer (plugin/companion); CompanionPath "" runs none.
	CompanionPath string
	CompanionArgs []string
	ModelCacheDir string
	ModelsIndex   string
	ModelRetrain  time.Duration
	MetricsPort   int // 0: no metrics endpoint

	// Logging.
	Alias    string // "" lets the plugin number the instance
	LogLevel hclog.Level
}

// Key documents one property. The table of keys is the single source for Load, for the defaults
// and for the plugin README (a test checks that every key is documented there).
type Key struct {
	Name        string
	Default     string // as the user would write it; "" means unset
	Description string
	// Aliases are other names the key is read under: the names of Fluent Bit's es output that
	// reach a Go plugin, so an es section works under Name siemscore.
	Aliases []string
	secret  bool                // the value is never echoed in an error
	env     string              // environment variable read when the key is unset
	redact  func(string) string // what of the value an error may echo; nil: all of it
	set     func(c *Config, v string) error
}

var keys = []Key{
	{Name: "es_hosts", Default: "http://127.0.0.1:9200",
		Description: "Elasticsearch node URLs, comma-separated (`http://` or `https://`, no credentials in the URL); requests go round-robin with failover. Fluent Bit's `Host` and `Port` are read by the core and never reach the plugin: write `es_hosts https://host:port` instead.",
		redact:      redactHosts,
		set: func(c *Config, v string) (err error) {
			c.Hosts, err = splitList(v)
			return err
		}},
	{Name: "es_api_key", secret: true,
		Description: "Elasticsearch API key, as `id:api_key` or the base64 `encoded` value the create-API-key call returns. Excludes `es_user`/`es_password`.",
		set:         func(c *Config, v string) error { c.APIKey = v; return nil }},
	{Name: "es_user", Aliases: []string{"http_user"},
		Description: "User name for HTTP basic authentication. The es output's `HTTP_User` is read as this key.",
		set:         func(c *Config, v string) error { c.User = v; return nil }},
	{Name: "es_password", Aliases: []string{"http_passwd"}, secret: true,
		Description: "Password for `es_user`. Use `${ENV_VAR}` rather than writing it into the file. The es output's `HTTP_Passwd` is read as this key.",
		set:         func(c *Config, v string) error { c.Password = v; return nil }},
	{Name: "cloud_id",
		Description: "Elastic Cloud deployment ID (the es output's `Cloud_ID`): sets `es_hosts` to the deployment's Elasticsearch endpoint. Excludes `es_hosts`.",
		set:         func(c *Config, v string) error { return c.setCloudID(v) }},
	{Name: "cloud_auth", secret: true,
		Description: "`user:password` for Elastic Cloud (the es output's `Cloud_Auth`): sets `es_user` and `es_password`; excludes them and `es_api_key`.",
		set:         func(c *Config, v string) error { return c.setCloudAuth(v) }},
	{Name: "es_ca_file",
		Description: "PEM file of the certificate authorities to trust for `https://` hosts, instead of the system's. TLS follows from `https://` in `es_hosts`: Fluent Bit's `tls`, `tls.verify` and `tls.ca_file` are read by the core, which refuses `tls On` for this plugin (\"does not support TLS\"); use this key and `es_tls_verify` instead.",
		set:         func(c *Config, v string) error { c.CAFile = v; return nil }},
	{Name: "es_tls_verify", Default: "on",
		Description: "Verify the server certificate. `off` is for labs only.",
		set:         func(c *Config, v string) (err error) { c.TLSVerify, err = parseBool(v); return err }},
	{Name: "es_tls_verify_hostname", Default: "on",
		Description: "Check that the certificate was issued for the host name. `off` still verifies the chain (for nodes addressed by IP).",
		set:         func(c *Config, v string) (err error) { c.TLSVerifyHostname, err = parseBool(v); return err }},
	{Name: "es_compress", Default: "off",
		Description: "Gzip bulk request bodies (5-10x smaller, costs CPU here).",
		set:         func(c *Config, v string) (err error) { c.Compress, err = parseBool(v); return err }},
	{Name: "es_timeout", Default: "30s",
		Description: "Time limit for connecting and then waiting for the answer to one request.",
		set:         func(c *Config, v string) (err error) { c.Timeout, err = parseDuration(v); return err }},
	{Name: "es_namespace", Default: "default",
		Description: "Data stream namespace: records of type T go to `logs-siemscore.T-<namespace>` (T = cloudtrail, guardduty, kerberos, generic), refused ones to `logs-siemscore.deadletter-<namespace>`. With `es_index`, only the dead-letter data stream uses it.",
		set:         func(c *Config, v string) error { c.Namespace = v; return nil }},
	{Name: "es_data_streams", Default: "siemscore",
		Description: "`siemscore`: every record goes to siemscore's own data streams (`es_namespace`). `integration`: CloudTrail, GuardDuty and Zeek Kerberos records go to the data streams of Elastic's AWS and Zeek integrations, `logs-aws.cloudtrail-<namespace>`, `logs-aws.guardduty-<namespace>` and `logs-zeek.kerberos-<namespace>`, where Elastic's detection rules and dashboards look; the score fields are added to the integrations' `@custom` component templates. See \"Where records land\".",
		set: func(c *Config, v string) (err error) {
			c.Landing, err = target.ParseLanding(v)
			return err
		}},
	{Name: "es_index", Aliases: []string{"index"},
		Description: "Write every record to this one index or data stream instead of the per-type data streams. The plugin's index templates cover `logs-siemscore.*-*`: pick a name of that form (e.g. `logs-siemscore.all-prod`) or install a template for the index yourself. The es output's `Index` is read as this key.",
		set:         func(c *Config, v string) error { c.Index = v; return nil }},
	{Name: "es_pipeline", Aliases: []string{"pipeline"},
		Description: "Ingest pipeline every record is sent through (e.g. processors of your own); it must exist when the plugin starts. Records that the pipeline fails go to the dead-letter data stream, which is written without it. The es output's `Pipeline` is read as this key.",
		set:         func(c *Config, v string) error { c.Pipeline = v; return nil }},
	{Name: "es_dead_letter_index",
		Description: "Where records Elasticsearch refuses (mapping conflicts, other 4xx) and events that cannot be decoded go, with the reason. Default: `logs-siemscore.deadletter-<es_namespace>`.",
		set:         func(c *Config, v string) error { c.DeadLetterIndex = v; return nil }},
	{Name: "dead_letter_path",
		Description: "Directory for the dead letters the dead-letter data stream cannot hold: a record too large for any request to Elasticsearch (HTTP 413 for it alone) is written there whole, with the reason, as NDJSON files (`siemscore-deadletter-*.ndjson`, rotated at 64 MiB) that `siemscore deadletter replay --file` re-delivers. Unset: such a record's chunk is retried until the limit is raised or the key is set; it is never shortened.",
		set:         func(c *Config, v string) error { c.DeadLetterPath = v; return nil }},
	{Name: "dead_letter_max_size", Default: "1G",
		Description: "Cap of the dead-letter files in `dead_letter_path`, all writers together. When a write would pass it, the chunk is retried (and an error logged) until files are replayed and removed; nothing is dropped.",
		set:         func(c *Config, v string) (err error) { c.DeadLetterMax, err = parseSize(v); return err }},
	{Name: "es_template_install", Default: "on",
		Description: "Install or update the plugin's index templates (mappings and lifecycle of `logs-siemscore.*-*`, the dead-letter data stream included) at start-up, or before the first delivery if Elasticsearch is not reachable then. Turn off when the templates are managed elsewhere or the user may not manage them.",
		set:         func(c *Config, v string) (err error) { c.InstallTemplate, err = parseBool(v); return err }},
	{Name: "es_bulk_max_records", Default: "500",
		Description: "Largest number of records in one bulk request. A chunk with more is built and sent in parts of this many records, which also bounds the memory a flush holds (a few KB a record).",
		set:         func(c *Config, v string) (err error) { c.BulkMaxRecords, err = parseInt(v); return err }},
	{Name: "es_bulk_max_bytes", Default: "5M",
		Description: "Largest bulk request body before compression (K, M, G are 1000-based; KiB, MiB, GiB are accepted).",
		set:         func(c *Config, v string) (err error) { c.BulkMaxBytes, err = parseSize(v); return err }},
	{Name: "es_retry_budget", Default: "30s",
		Description: "How long one flush keeps retrying records Elasticsearch answered 429 or 5xx to, and requests that failed, before it returns RETRY to Fluent Bit (which then re-sends the whole chunk; already written records are recognised by their `_id`). `0` returns RETRY at once.",
		set:         func(c *Config, v string) (err error) { c.RetryBudget, err = parseDuration(v); return err }},
	{Name: "shutdown_grace", Default: "5s",
		Description: "When Fluent Bit stops, how long deliveries in progress may go on before their requests are cancelled and they answer RETRY (the chunks stay in Fluent Bit's storage and are sent after the restart). Keeps a stop within Fluent Bit's `Grace` and Kubernetes' grace period whatever `es_retry_budget` and `es_timeout` say. `0` cancels at once.",
		set:         func(c *Config, v string) (err error) { c.ShutdownGrace, err = parseDuration(v); return err }},
	{Name: "record_type", Default: "auto",
		Description: "`auto` recognises each record's type (CloudTrail, GuardDuty, Zeek Kerberos; anything else ships unscored as `generic`). `cloudtrail`, `guardduty`, `kerberos` or `generic` treat every record as that type.",
		set:         func(c *Config, v string) error { c.RecordType = strings.ToLower(v); return nil }},
	{Name: "event_keys", Default: "log,message",
		Description: "Record keys, tried in order, that may hold the event as a JSON string when no parser unpacked it (`log` from tail/forward, `message` from syslog-style inputs).",
		set: func(c *Config, v string) (err error) {
			c.EventKeys, err = splitList(v)
			return err
		}},
	{Name: "preserve_original", Default: "off",
		Description: "Keep the event as received, as JSON text, in `event.original`.",
		set:         func(c *Config, v string) (err error) { c.PreserveOriginal, err = parseBool(v); return err }},
	{Name: "kerberos_features", Default: "unusual",
		Description: "Which Zeek Kerberos records carry their source host's window statistics, `siemscore.kerberos.features.*`: `unusual`, the records that score above 0 (by calibration about a tenth of ordinary records, and every anomaly: the ones an analyst opens to ask why); `all`, every record, e.g. to chart every host's statistics. Twelve numbers, about a fifth of a Kerberos document.",
		set: func(c *Config, v string) (err error) {
			c.KerberosFeatures, err = score.ParseKerberosFeatures(v)
			return err
		}},
	{Name: "geo_city_db",
		Description: "MaxMind-format database (`.mmdb`, City or Country: GeoLite2-City, GeoIP2-City, DB-IP City Lite) that fills `source.geo.*` (and `destination.geo.*` of Zeek and GuardDuty records) from the IP, as Elastic's geoip processor does. A missing, corrupt or wrong-type file stops Fluent Bit from starting.",
		set:         func(c *Config, v string) error { c.GeoCityDB = v; return nil }},
	{Name: "geo_asn_db",
		Description: "MaxMind-format ASN database (`.mmdb`: GeoLite2-ASN, GeoIP2-ISP, DB-IP ASN Lite) that fills `source.as.number` and `source.as.organization.name` (and `destination.as.*`). Excludes `geo_asn_csv`.",
		set:         func(c *Config, v string) error { c.GeoASNDB = v; return nil }},
	{Name: "geo_asn_csv",
		Description: "IP-to-ASN ranges as CSV (`first,last,asn,organisation`), comma-separated files: the `asn-ipv4.csv` and `asn-ipv6.csv` of ip-location-db (npm `@ip-location-db/asn`, CC BY 4.0), instead of `geo_asn_db`.",
		set: func(c *Config, v string) (err error) {
			c.GeoASNRanges, err = splitList(v)
			return err
		}},
	{Name: "geo_reload_interval", Default: "60s",
		Description: "How often to check the geo and ASN files for a change; a changed set is loaded without a restart, a broken one is reported and the current one kept. `0` turns reloading off.",
		set:         func(c *Config, v string) (err error) { c.GeoReload, err = parseDuration(v); return err }},
	{Name: "model_bundle",
		Description: "Path of the model bundle written by the trainer. Unset: records still ship, with `siemscore.model.status: untrained`. A bundle that cannot be read stops Fluent Bit from starting.",
		set:         func(c *Config, v string) error { c.ModelBundle = v; return nil }},
	{Name: "model_bundle_key", secret: true, env: shared.EnvBundleKey,
		Description: "HMAC key model bundles must be signed with (the key `siemscore train` and the companion sign with: their `--key-file` or `SIEMSCORE_BUNDLE_KEY`). With a key, an unsigned bundle or one signed with another key is refused wherever it comes from (`model_bundle`, the companion, `models_index`) and the model in use is kept; the companion gets the key too. Use `${ENV_VAR}` rather than writing it into the file. Default: the `SIEMSCORE_BUNDLE_KEY` environment variable of the Fluent Bit process; neither set: unsigned bundles are accepted.",
		set:         func(c *Config, v string) error { c.BundleKey = []byte(v); return nil }},
	{Name: "model_reload_interval", Default: "60s",
		Description: "How often to check `model_bundle` for a newer bundle (the trainer replaces the file atomically); a newer one is loaded without a restart, a broken one is reported and the current one kept. `0` turns reloading off.",
		set:         func(c *Config, v string) (err error) { c.ModelReload, err = parseDuration(v); return err }},
	{Name: "companion_path",
		Description: "Path of the `siemscore` binary to run as the companion trainer (`siemscore trainer`, through hashicorp/go-plugin): it retrains the models from what this plugin wrote to Elasticsearch every `model_retrain_interval`, publishes each version to `models_index`, and sends every new version to the plugin, which swaps it in without a restart. One companion serves all siemscore outputs of the Fluent Bit process that configure it alike; it is restarted with backoff if it dies or hangs, and stopped with Fluent Bit. Excludes `model_bundle`. Unset: no companion.",
		set:         func(c *Config, v string) error { c.CompanionPath = v; return nil }},
	{Name: "companion_args",
		Description: "More `siemscore trainer` flags, space-separated, e.g. `--window 2016h --cloudtrail-index logs-siemscore.cloudtrail-prod`. The plugin itself passes the Elasticsearch connection (as environment variables), `models_index`, `model_cache_dir` and `model_retrain_interval`.",
		set: func(c *Config, v string) error {
			c.CompanionArgs = strings.Fields(v)
			return nil
		}},
	{Name: "model_cache_dir",
		Description: "Directory where the companion keeps the newest bundles, so that a restart while Elasticsearch is unreachable still scores with the last model. With `companion_path`; unset keeps no local copy.",
		set:         func(c *Config, v string) error { c.ModelCacheDir = v; return nil }},
	{Name: "models_index", Default: "siemscore-models",
		Description: "Elasticsearch index holding the published model bundles (versioned, checksummed). At start the plugin loads the newest valid bundle from `model_cache_dir` or this index before the first flush; `siemscore train --from-es` publishes here too.",
		set:         func(c *Config, v string) error { c.ModelsIndex = v; return nil }},
	{Name: "model_retrain_interval", Default: "24h",
		Description: "How often the companion retrains, counted from the newest published bundle's training. `0` never retrains: the companion only serves what others publish (a standalone `siemscore trainer`, `siemscore train --from-es`).",
		set:         func(c *Config, v string) (err error) { c.ModelRetrain, err = parseDuration(v); return err }},
	{Name: "metrics_port", Default: "0",
		Description: "TCP port of a Prometheus endpoint (`/metrics`, all interfaces) with the model version and age, swaps, rejected bundles, companion restarts and records scored/unscored; one per process. `0` turns it off.",
		set:         func(c *Config, v string) (err error) { c.MetricsPort, err = parseInt(v); return err }},
	{Name: "plugin_alias",
		Description: "Name of this instance in the plugin's log lines (`[output:siemscore:<name>]`); Fluent Bit's `alias` is kept by the core. Default: `siemscore.<n>`, n counting instances from 0 in start-up order.",
		set:         func(c *Config, v string) error { c.Alias = v; return nil }},
	{Name: "plugin_log_level", Default: "info",
		Description: "Verbosity of the plugin's own log lines: `error`, `warn`, `info`, `debug` or `trace` (Fluent Bit's `log_level` is kept by the core).",
		set: func(c *Config, v string) error {
			lvl, ok := logLevels[strings.ToLower(v)]
			if !ok {
				return errors.New("accepted: error, warn, info, debug, trace")
			}
			c.LogLevel = lvl
			return nil
		}},
}

var logLevels = map[string]hclog.Level{
	"error": hclog.Error, "warn": hclog.Warn, "warning": hclog.Warn, "info": hclog.Info,
	"debug": hclog.Debug, "trace": hclog.Trace,
}

// levelNames are the levels a Config may hold.
var levelNames = map[hclog.Level]string{
	hclog.Error: "error", hclog.Warn: "warn", hclog.Info: "info", hclog.Debug: "debug", hclog.Trace: "trace",
}

// Keys returns the documented properties, in documentation order.
func Keys() []Key { return slices.Clone(keys) }

// mistakes maps keys people write by mistake to the key they meant (or an explanation). None of
// them is a real key; a test checks that.
var mistakes = map[string]string{
	// Fluent Bit's es output.
	"http_password":      "es_password",
	"http_api_key":       "es_api_key",
	"index_name":         "es_index",
	"logstash_format":    "es_namespace (records go to data streams logs-siemscore.<type>-<namespace>), or es_index",
	"logstash_prefix":    "es_namespace or es_index",
	"compress":           "es_compress",
	"buffer_size":        "es_bulk_max_bytes",
	"tls_ca_file":        "es_ca_file",
	"ca_file":            "es_ca_file",
	"generate_id":        "nothing: every record already gets a deterministic _id",
	"write_operation":    "nothing: records are always written with op create",
	"suppress_type_name": "nothing: Elasticsearch 8 has no mapping types",
	// Slips on this plugin's own names.
	"es_host":                  "es_hosts",
	"es_url":                   "es_hosts",
	"es_urls":                  "es_hosts",
	"es_address":               "es_hosts",
	"es_addresses":             "es_hosts",
	"hosts":                    "es_hosts",
	"es_username":              "es_user",
	"es_pass":                  "es_password",
	"es_passwd":                "es_password",
	"es_apikey":                "es_api_key",
	"es_api_keys":              "es_api_key",
	"api_key":                  "es_api_key",
	"es_ca":                    "es_ca_file",
	"es_ca_path":               "es_ca_file",
	"es_tls_ca_file":           "es_ca_file",
	"es_tls_verify_host":       "es_tls_verify_hostname",
	"es_timeouts":              "es_timeout",
	"es_data_stream_namespace": "es_namespace",
	"es_namespaces":            "es_namespace",
	"es_indices":               "es_index",
	"es_dead_letter":           "es_dead_letter_index",
	"es_deadletter_index":      "es_dead_letter_index",
	"es_dlq_index":             "es_dead_letter_index",
	"dead_letter_dir":          "dead_letter_path",
	"dead_letter_file":         "dead_letter_path",
	"es_dead_letter_path":      "dead_letter_path",
	"es_install_template":      "es_template_install",
	"es_template_installation": "es_template_install",
	"es_templates_install":     "es_template_install",
	"es_bulk_size":             "es_bulk_max_records or es_bulk_max_bytes",
	"es_bulk_max_record":       "es_bulk_max_records",
	"es_bulk_max_size":         "es_bulk_max_bytes",
	"es_retry_timeout":         "es_retry_budget",
	"grace":                    "shutdown_grace (Fluent Bit's Grace belongs in [SERVICE])",
	"shutdown_timeout":         "shutdown_grace",
	"record_types":             "record_type",
	"type":                     "record_type",
	"event_key":                "event_keys",
	"preserve_original_event":  "preserve_original",
	"model":                    "model_bundle",
	"bundle":                   "model_bundle",
	"model_path":               "model_bundle",
	"model_bundles":            "model_bundle",
	"model_bundle_path":        "model_bundle",
	"model_key":                "model_bundle_key",
	"bundle_key":               "model_bundle_key",
	"model_bundle_keys":        "model_bundle_key",
	"model_signing_key":        "model_bundle_key",
	"companion":                "companion_path",
	"companion_cmd":            "companion_path",
	"companion_command":        "companion_path",
	"companion_arg":            "companion_args",
	"model_cache":              "model_cache_dir",
	"model_index":              "models_index",
	"model_retrain":            "model_retrain_interval",
	"retrain_interval":         "model_retrain_interval",
	"metrics_listen":           "metrics_port",
	"prometheus_port":          "metrics_port",
	"plugin_log_levels":        "plugin_log_level",
	"siemscore_log_level":      "plugin_log_level",
}

// Load reads every key through g and validates the result. All problems are reported at once,
// each naming its key; secret values are never echoed.
func Load(g Getter) (Config, error) {
	var c Config
	var errs []error
	unparsed := map[string]bool{}
	for _, wrong := range slices.Sorted(maps.Keys(mistakes)) {
		if g.Get(wrong) != "" {
			errs = append(errs, fmt.Errorf("%s: not a siemscore key; use %s", wrong, mistakes[wrong]))
		}
	}
	errs = append(errs, slipErrors(g)...)
	for _, k := range keys {
		v := strings.TrimSpace(g.Get(k.Name))
		for _, a := range k.Aliases {
			av := strings.TrimSpace(g.Get(a))
			switch {
			case av == "":
			case v != "":
				errs = append(errs, fmt.Errorf("%s: set either %s or %s (its name in Fluent Bit's es output), not both", k.Name, k.Name, a))
			default:
				v = av
			}
		}
		if v != "" && (k.Name == "es_hosts" || k.Name == "cloud_id") {
			if c.HostsSet {
				errs = append(errs, errors.New("cloud_id: set either cloud_id or es_hosts, not both"))
				continue
			}
			c.HostsSet = true
		}
		if v == "" && k.env != "" {
			v = os.Getenv(k.env)
		}
		if v == "" {
			v = k.Default
		}
		if v == "" {
			continue
		}
		if err := k.set(&c, v); err != nil {
			unparsed[k.Name] = true
			switch {
			case k.secret:
				errs = append(errs, fmt.Errorf("%s: invalid value: %w", k.Name, err))
			case k.redact != nil:
				errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", k.Name, k.redact(v), err))
			default:
				errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", k.Name, v, err))
			}
		}
	}
	if c.DeadLetterIndex == "" {
		c.DeadLetterIndex = target.DeadLetter(c.Namespace)
	}
	// A value that did not parse left its field zero; what Validate would say about that zero
	// would only repeat the parse error.
	for _, p := range c.problems() {
		if !unparsed[p.key] {
			errs = append(errs, p)
		}
	}
	return c, configError(errs)
}

// configError joins problems under one "config:" prefix, one per line.
func configError(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %w", errors.Join(errs...))
}

// setCloudID points es_hosts at an Elastic Cloud deployment.
func (c *Config) setCloudID(v string) error {
	u, err := esclient.CloudIDURL(v)
	if err != nil {
		return err
	}
	c.Hosts = []string{u}
	return nil
}

// setCloudAuth sets the basic credentials from Elastic Cloud's user:password form.
func (c *Config) setCloudAuth(v string) error {
	if c.User != "" || c.Password != "" || c.APIKey != "" {
		return errors.New("set either cloud_auth or es_user/es_password/es_api_key, not both")
	}
	user, password, ok := strings.Cut(v, ":")
	if !ok || user == "" || password == "" {
		return errors.New("expected user:password")
	}
	c.User, c.Password = user, password
	return nil
}
