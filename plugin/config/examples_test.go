package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/siemscore/siemscore/elastic/esfault/tlsfront"
)

const examples = "../../testdata/fluent-bit/"

// coreKeys are output properties Fluent Bit's core reads itself; they never reach the plugin.
var coreKeys = map[string]bool{"name": true, "match": true, "match_regex": true, "alias": true,
	"workers": true, "retry_limit": true, "storage.total_limit_size": true}

// classicOutputs returns the properties of every [OUTPUT] section of a classic configuration,
// keys lower-cased as Fluent Bit compares them.
func classicOutputs(t *testing.T, text []byte) []map[string]string {
	t.Helper()
	var outs []map[string]string
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			cur = nil
			if strings.EqualFold(line, "[OUTPUT]") {
				cur = map[string]string{}
				outs = append(outs, cur)
			}
		case cur != nil:
			k, v, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("classic config: %q has no value", line)
			}
			cur[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	return outs
}

func yamlOutputs(t *testing.T, text []byte) []map[string]string {
	t.Helper()
	var doc struct {
		Pipeline struct {
			Outputs []map[string]any `yaml:"outputs"`
		} `yaml:"pipeline"`
	}
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatalf("YAML config: %v", err)
	}
	var outs []map[string]string
	for _, o := range doc.Pipeline.Outputs {
		m := map[string]string{}
		for k, v := range o {
			m[strings.ToLower(k)] = fmt.Sprint(v)
		}
		outs = append(outs, m)
	}
	return outs
}

// TestExampleConfigurationsLoad loads every siemscore output of the example configurations the
// README shows through Load, as Fluent Bit would hand them over: environment references
// expanded, and the files they name present. A key the plugin does not know, a value it
// refuses, or an example the README no longer shows fails the test.
func TestExampleConfigurationsLoad(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{ // the example's path → a stand-in the test creates
		"/etc/fluent-bit/es-ca.pem":       tlsfront.NewCA(t, "example CA").File(t),
		"/var/lib/siemscore/model.bundle": filepath.Join(dir, "model.bundle"),
		"/var/lib/siemscore/models":       filepath.Join(dir, "models"),
		"/usr/local/bin/siemscore":        filepath.Join(dir, "siemscore"),
	}
	if err := os.WriteFile(files["/var/lib/siemscore/model.bundle"], []byte("bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files["/usr/local/bin/siemscore"], []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SIEMSCORE_ES_API_KEY":  "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw",
		"SIEMSCORE_ES_PASSWORD": "example-password",
	}
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k.Name] = true
	}
	for name, parse := range map[string]func(*testing.T, []byte) []map[string]string{
		"fluent-bit.conf": classicOutputs, "fluent-bit.yaml": yamlOutputs,
	} {
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(examples + name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(readme, text) {
				t.Errorf("README.md does not show testdata/fluent-bit/%s verbatim", name)
			}
			n := 0
			for _, out := range parse(t, text) {
				if out["name"] != "siemscore" {
					continue
				}
				n++
				props := Map{}
				for k, v := range out {
					if coreKeys[k] {
						continue
					}
					if !known[k] {
						t.Errorf("output %s: %s is not a key of the plugin", out["plugin_alias"], k)
					}
					v = os.Expand(v, func(name string) string { return env[name] })
					if f, ok := files[v]; ok {
						v = f
					}
					props[k] = v
				}
				if _, err := Load(props); err != nil {
					t.Errorf("output %s: %v", out["plugin_alias"], err)
				}
			}
			if n < 2 {
				t.Errorf("%d siemscore outputs; the examples show two side by side", n)
			}
		})
	}
}
