package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip"
)

// Bounds of the numeric settings. They keep a typo (an extra zero, a unit forgotten) from
// turning into a flush that blocks a Fluent Bit worker for hours or a request Elasticsearch
// refuses (http.max_content_length is 100mb by default).
const (
	minTimeout        = time.Second
	maxTimeout        = 10 * time.Minute
	maxRetryBudget    = 10 * time.Minute
	maxShutdownGrace  = time.Minute
	maxBulkRecords    = 100_000
	minBulkBytes      = 1 << 10
	maxBulkBytes      = 100 << 20
	maxAliasLength    = 64
	aliasAllowedChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)

// Validate checks c; every error names the property it comes from. The Elasticsearch
// connection and delivery settings are checked by their components' own Validate, on the
// configurations ESClient and Deliver make, and their errors are told in the keys' names; the
// rules here are the plugin's own (bounds on a typo's consequences, combinations of keys).
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, p)
	}
	return configError(errs)
}

// problem is what is wrong with one property.
type problem struct {
	key, msg string
}

func (p problem) Error() string { return p.key + ": " + p.msg }

// componentKeys are the plugin keys of the component settings a *esclient.FieldError can name.
var componentKeys = map[string]string{
	"esclient.Hosts": "es_hosts", "esclient.APIKey": "es_api_key", "esclient.Username": "es_user",
	"esclient.Password": "es_password", "esclient.CAFile": "es_ca_file", "esclient.RequestTimeout": "es_timeout",
	"deliver.Namespace": "es_namespace", "deliver.Index": "es_index", "deliver.DeadLetterIndex": "es_dead_letter_index",
	"deliver.MaxBatchBytes": "es_bulk_max_bytes", "deliver.MaxBatchDocs": "es_bulk_max_records",
	"deliver.RetryBudget": "es_retry_budget", "deliver.Templates": "es_template_install",
	"deliver.Landing": "es_data_streams", "deliver.Pipeline": "es_pipeline",
	"geoip.CityDB": "geo_city_db", "geoip.ASNDB": "geo_asn_db", "geoip.ASNRanges": "geo_asn_csv",
	"deliver.DeadLetterPath": "dead_letter_path", "deliver.DeadLetterMaxBytes": "dead_letter_max_size",
}

// keyProblems turns a component's validation errors into problems of the plugin's keys. An error
// of a setting no key reads (the plugin sets it itself) keeps the component's field name.
func keyProblems(err error) []problem {
	var out []problem
	var walk func(error)
	walk = func(err error) {
		var fe *esclient.FieldError
		var ge *geoip.FieldError
		switch {
		case err == nil:
		case errors.As(err, &ge):
			out = append(out, problem{componentKeys["geoip."+ge.Field], ge.Path + ": " + ge.Err.Error()})
		case errors.As(err, &fe):
			key, ok := componentKeys[fe.Component+"."+fe.Field]
			if !ok {
				key = fe.Component + "." + fe.Field
			}
			out = append(out, problem{key, fe.Err.Error()})
		default:
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					walk(e)
				}
				return
			}
			out = append(out, problem{"es_*", err.Error()})
		}
	}
	walk(err)
	return out
}

// KeyError is err, from opening a component with this package's configurations, with the
// component's field names told as the plugin's keys, for Init's error message.
func KeyError(err error) error {
	var errs []error
	for _, p := range keyProblems(err) {
		errs = append(errs, p)
	}
	return configError(errs)
}

// ESClient is the Elasticsearch client's configuration.
func (c *Config) ESClient() esclient.Config {
	e := esclient.DefaultConfig()
	e.Hosts = c.Hosts
	e.APIKey, e.Username, e.Password = c.APIKey, c.User, c.Password
	e.CAFile = c.CAFile
	e.TLSSkipVerify, e.TLSSkipHostnameVerify = !c.TLSVerify, !c.TLSVerifyHostname
	e.RequestTimeout = c.Timeout
	e.Compress = c.Compress
	return e
}

// Deliver is the delivery engine's configuration.
func (c *Config) Deliver() deliver.Config {
	d := deliver.DefaultConfig()
	d.Namespace, d.Index, d.DeadLetterIndex = c.Namespace, c.Index, c.DeadLetterIndex
	d.DeadLetterPath, d.DeadLetterMaxBytes = c.DeadLetterPath, c.DeadLetterMax
	d.MaxBatchDocs, d.MaxBatchBytes = c.BulkMaxRecords, int(c.BulkMaxBytes)
	d.RetryBudget = c.RetryBudget
	d.Templates.Enabled = c.InstallTemplate
	d.Landing, d.Pipeline = c.Landing, c.Pipeline
	return d
}

// Geo is the geo and ASN databases' configuration.
func (c *Config) Geo() geoip.Config {
	return geoip.Config{CityDB: c.GeoCityDB, ASNDB: c.GeoASNDB, ASNRanges: c.GeoASNRanges}
}

func (c *Config) problems() []problem {
	var errs []problem
	add := func(key, format string, args ...any) {
		errs = append(errs, problem{key, fmt.Sprintf(format, args...)})
	}

	switch {
	case c.User != "" && c.Password == "":
		add("es_password", "required with es_user")
	case c.Password != "" && c.User == "":
		add("es_user", "required with es_password")
	}
	if !c.TLSVerify && c.CAFile != "" {
		add("es_ca_file", "has no effect with es_tls_verify off; remove one of the two")
	}
	if c.Timeout < minTimeout || c.Timeout > maxTimeout {
		add("es_timeout", "%s is out of range; accepted: %s to %s", c.Timeout, minTimeout, maxTimeout)
	}
	if c.BulkMaxRecords < 1 || c.BulkMaxRecords > maxBulkRecords {
		add("es_bulk_max_records", "%d is out of range; accepted: 1 to %d", c.BulkMaxRecords, maxBulkRecords)
	}
	if c.BulkMaxBytes < minBulkBytes || c.BulkMaxBytes > maxBulkBytes {
		add("es_bulk_max_bytes", "%d bytes is out of range; accepted: 1KiB to 100MiB", c.BulkMaxBytes)
	}
	if c.RetryBudget < 0 || c.RetryBudget > maxRetryBudget {
		add("es_retry_budget", "%s is out of range; accepted: 0 to %s", c.RetryBudget, maxRetryBudget)
	}
	if c.ShutdownGrace < 0 || c.ShutdownGrace > maxShutdownGrace {
		add("shutdown_grace", "%s is out of range; accepted: 0 to %s", c.ShutdownGrace, maxShutdownGrace)
	}
	// A key the plugin's own bounds already refused needs no second word from its component.
	said := map[string]bool{}
	for _, p := range errs {
		said[p.key] = true
	}
	for _, p := range append(keyProblems(c.ESClient().Validate()), keyProblems(c.Deliver().Validate())...) {
		if !said[p.key] {
			errs = append(errs, p)
		}
	}

	if c.RecordType != "auto" {
		if _, err := ecs.ParseKind(c.RecordType); err != nil {
			add("record_type", "%q: accepted: auto, %s", c.RecordType, kindNames())
		}
	}
	if len(c.EventKeys) == 0 {
		add("event_keys", "at least one key is required")
	}
	for _, k := range c.EventKeys {
		if k == "" {
			add("event_keys", "a key is empty")
		}
	}
	if c.Landing == target.LandingIntegration && c.Index != "" {
		add("es_data_streams", "integration sends each record type to its integration's data stream, es_index sends every record to one index: set one of them")
	}
	if c.GeoASNDB != "" && len(c.GeoASNRanges) > 0 {
		add("geo_asn_db", "set either geo_asn_db (a .mmdb) or geo_asn_csv (CSV ranges), not both")
	}
	for key, paths := range map[string][]string{"geo_city_db": {c.GeoCityDB}, "geo_asn_db": {c.GeoASNDB}, "geo_asn_csv": c.GeoASNRanges} {
		for _, p := range paths {
			if p == "" {
				continue
			}
			if st, err := os.Stat(p); err != nil {
				add(key, "%v", err)
			} else if st.IsDir() {
				add(key, "%s is a directory; give the file", p)
			}
		}
	}
	if c.GeoReload < 0 || c.GeoReload > 0 && c.GeoReload < time.Second {
		add("geo_reload_interval", "%s: accepted: 0 (off) or at least 1s", c.GeoReload)
	}
	if c.ModelBundle != "" {
		if st, err := os.Stat(c.ModelBundle); err != nil {
			add("model_bundle", "%v", err)
		} else if st.IsDir() {
			add("model_bundle", "%s is a directory; give the bundle file", c.ModelBundle)
		}
	}

	if c.CompanionPath != "" {
		switch st, err := os.Stat(c.CompanionPath); {
		case err != nil:
			add("companion_path", "%v", err)
		case st.IsDir() || st.Mode().Perm()&0o111 == 0:
			add("companion_path", "%s is not an executable file", c.CompanionPath)
		}
		if c.ModelBundle != "" {
			add("companion_path", "set either companion_path (bundles from the companion trainer) or model_bundle (a bundle file), not both")
		}
	}
	if err := target.ValidateIndex(c.ModelsIndex); err != nil {
		add("models_index", "%v", err)
	}
	if c.ModelRetrain < 0 || c.ModelRetrain > 0 && c.ModelRetrain < time.Minute {
		add("model_retrain_interval", "%s: accepted: 0 (never) or at least 1m", c.ModelRetrain)
	}
	if c.MetricsPort < 0 || c.MetricsPort > 65535 {
		add("metrics_port", "%d: accepted: 0 (off) or a port up to 65535", c.MetricsPort)
	}
	if c.ModelReload < 0 || c.ModelReload > 0 && c.ModelReload < time.Second {
		add("model_reload_interval", "%s: accepted: 0 (off) or at least 1s", c.ModelReload)
	}
	if len(c.Alias) > maxAliasLength || strings.Trim(c.Alias, aliasAllowedChars) != "" {
		add("plugin_alias", "%q: accepted: up to %d letters, digits, '.', '_' or '-'", c.Alias, maxAliasLength)
	}
	if _, ok := levelNames[c.LogLevel]; !ok {
		add("plugin_log_level", "level %d: accepted: error, warn, info, debug, trace", c.LogLevel)
	}
	return errs
}

func kindNames() string {
	var names []string
	for _, k := range ecs.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// redactHosts hides the user information of every URL of a comma-separated list.
func redactHosts(v string) string {
	items := strings.Split(v, ",")
	for i, h := range items {
		items[i] = esclient.RedactURL(h)
	}
	return strings.Join(items, ",")
}
