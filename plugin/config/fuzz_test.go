package config

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
)

// parseProps reads fuzz input as Fluent Bit properties, one key=value per line.
func parseProps(data []byte) Map {
	m := Map{}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		k, v, _ := bytes.Cut(line, []byte("="))
		m[string(k)] = string(v)
	}
	return m
}

// fuzzSeeds are hostile property sets: every key with values from the edges of what it
// accepts, huge and invalid UTF-8 values, files that never end, and credentials where they
// must not be echoed.
var fuzzSeeds = []string{
	"es_hosts=https://es1:9200,https://es2:9200\nes_api_key=VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw",
	"es_hosts=http://elastic:s3cr3t-Passw0rd@es:9200,,\nes_user=elastic\nes_password=s3cr3t-Passw0rd",
	"es_hosts=https://user:p@ss/word@es:9200\nes_password=p@ss/word\nes_user=user",
	"es_hosts=ftp://[::1\nes_api_key=not base64 at all\nes_user=u",
	"es_api_key=" + strings.Repeat("A", 4096) + "\nes_password=x\nes_tls_verify=maybe",
	"es_ca_file=/dev/zero\nmodel_bundle=/dev/zero\ncompanion_path=/dev/null",
	"es_ca_file=/\nmodel_bundle=/\nes_tls_verify=off",
	"es_timeout=NaN\nes_retry_budget=1e309\nmodel_reload_interval=-0\nmodel_retrain_interval=9223372036854775807s",
	"es_bulk_max_bytes=99999999999999999G\nes_bulk_max_records=-1\nmetrics_port=65536",
	"es_bulk_max_bytes= 5 MiB \nes_bulk_max_records=2000\nes_timeout=30\nes_retry_budget=0",
	"es_namespace=" + strings.Repeat("n", 300) + "\nes_index=logs-siemscore.all-prod\nes_dead_letter_index=logs-siemscore.all-prod",
	"es_namespace=\xff\xfe\nrecord_type=\xc3\x28\nevent_keys=log,,message\nplugin_alias=\x00",
	"record_type=KERBEROS\nevent_keys= log , message \npreserve_original=YES\nplugin_log_level=TRACE",
	"http_passwd=hunter2hunter2\ncloud_auth=elastic:hunter2hunter2\napi_key=id:hunter2hunter2",
	"companion_args=--es-password hunter2 --window 2016h\nmodels_index=UPPER\nmodel_cache_dir=\x00",
	"es_compress=on\nes_template_install=off\nes_tls_verify_hostname=off\nes_ca_file=${ES_CA}",
}

// FuzzConfig loads arbitrary property sets. Invariants: no panic; a configuration Load accepts
// also passes Validate; every problem line names a property (a known one, or the mistaken key
// as given, such as a typo); and no secret (es_api_key,
// es_password, a password in an es_hosts URL, a mistaken key's value) appears in the error
// unless the error says the same with that secret removed (the text is then the message's own).
func FuzzConfig(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	names := map[string]bool{}
	for _, k := range Keys() {
		names[k.Name] = true
	}
	for k := range mistakes {
		names[k] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		props := parseProps(data)
		c, err := Load(props)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Load accepted what Validate refuses: %v", verr)
			}
			return
		}
		msg := err.Error()
		for i, line := range strings.Split(strings.TrimPrefix(msg, "config: "), "\n") {
			key, _, ok := strings.Cut(line, ":")
			_, given := props[key]
			if !ok || !(names[key] || given) {
				t.Fatalf("problem %d does not name a property: %q", i, line)
			}
		}
		for key, secret := range secrets(props) {
			if len(secret) < 6 || !strings.Contains(msg, secret) {
				continue
			}
			without := maps.Clone(props)
			without[key] = strings.ReplaceAll(without[key], secret, "")
			_, err2 := Load(without)
			if err2 == nil || !strings.Contains(err2.Error(), secret) {
				t.Fatalf("the error shows the secret of %s (%q):\n%s", key, secret, msg)
			}
		}
	})
}

// secrets returns, per property, the secret text its value holds.
func secrets(props Map) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if k.secret {
			out[k.Name] = strings.TrimSpace(props[k.Name])
		}
	}
	for _, wrong := range slices.Sorted(maps.Keys(mistakes)) {
		out[wrong] = strings.TrimSpace(props[wrong])
	}
	for h := range strings.SplitSeq(props["es_hosts"], ",") {
		if p := password(strings.TrimSpace(h)); len(p) > len(out["es_hosts"]) {
			out["es_hosts"] = p
		}
	}
	return out
}

// password is what someone writing h meant as a password: between the first ':' of the user
// information and its end, the last '@' (whether or not a URL parser would agree).
func password(h string) string {
	if _, rest, ok := strings.Cut(h, "//"); ok {
		h = rest
	}
	at := strings.LastIndexByte(h, '@')
	if at < 0 {
		return ""
	}
	_, p, _ := strings.Cut(h[:at], ":")
	return p
}
