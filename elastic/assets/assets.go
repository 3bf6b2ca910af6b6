// Package assets ships siemscore's ready-made Elastic artifacts in the binary: the Kibana data
// view and dashboard (saved-objects NDJSON with Lens panels), a Kibana stack rule
// (Elasticsearch query), Elastic Security detection rules, a Watcher watch and an ElastAlert 2
// rule. It lists them, renders each exactly as its API or tool takes it, and installs them (see
// Installer).
//
// The files under files/ are the source: one pretty-printed JSON file per saved object or
// detection rule, so that reviews see one object at a time; Content joins them into the NDJSON
// that Kibana's import APIs take.
package assets

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed files
var embedded embed.FS

// Target is the system an artifact is installed into.
type Target string

// Targets.
const (
	TargetKibana        Target = "kibana"
	TargetElasticsearch Target = "elasticsearch"
	TargetElastAlert    Target = "elastalert2"
)

// Kind is the format of an artifact and the API that takes it.
type Kind string

// Kinds.
const (
	// KindSavedObjects is NDJSON for Kibana's POST /api/saved_objects/_import.
	KindSavedObjects Kind = "saved-objects"
	// KindAlertingRule is the JSON body of Kibana's POST /api/alerting/rule/<ID>.
	KindAlertingRule Kind = "alerting-rule"
	// KindDetectionRules is NDJSON for Elastic Security's POST /api/detection_engine/rules/_import.
	KindDetectionRules Kind = "detection-rules"
	// KindWatch is the JSON body of Elasticsearch's PUT _watcher/watch/<ID>.
	KindWatch Kind = "watch"
	// KindElastAlertRule is a YAML rule file for ElastAlert 2's rules_folder.
	KindElastAlertRule Kind = "elastalert-rule"
)

// Artifact is one installable unit.
type Artifact struct {
	// Name is how the CLI and Lookup refer to it.
	Name string
	// Title says what it is in a few words.
	Title string
	Kind  Kind
	// Target is where it is installed.
	Target Target
	// Licence is the Elastic subscription it needs.
	Licence string
	// ID is the identifier the API path takes (alerting rule, watch); empty where the
	// objects carry their own IDs.
	ID string
	// FileName is the name to save Content under; Kibana's import APIs require the .ndjson
	// extension.
	FileName string

	files []string // under files/, in the order they are rendered
}

const (
	licenceBasic = "Basic (free)"
	licenceGold  = "Gold, Platinum, Enterprise or trial (Watcher is not in Basic)"
	licenceNone  = "none: ElastAlert 2 (Apache-2.0) queries Elasticsearch itself"
)

// dashboardFiles are the saved objects of the dashboard: the data view first, so that an
// import resolves the panels' references within the file.
var dashboardFiles = []string{
	"kibana/data-view.json",
	"kibana/lens-high-risk-count.json",
	"kibana/lens-risk-over-time.json",
	"kibana/lens-ip-pairs.json",
	"kibana/lens-kerberos-hosts.json",
	"kibana/lens-kerberos-clusters.json",
	"kibana/lens-api-pairs.json",
	"kibana/lens-api-bursts.json",
	"kibana/lens-guardduty.json",
	"kibana/lens-model-versions.json",
	"kibana/dashboard.json",
}

var catalogue = []Artifact{
	{
		Name: "kibana-data-view", Title: "Kibana data view logs-siemscore.*-* (id siemscore-logs)",
		Kind: KindSavedObjects, Target: TargetKibana, Licence: licenceBasic,
		FileName: "siemscore-data-view.ndjson", files: dashboardFiles[:1],
	},
	{
		Name: "kibana-dashboard", Title: "Kibana dashboard \"siemscore: anomaly overview\" with its Lens panels and data view",
		Kind: KindSavedObjects, Target: TargetKibana, Licence: licenceBasic,
		FileName: "siemscore-dashboard.ndjson", files: dashboardFiles,
	},
	{
		Name: "kibana-rule", Title: "Kibana stack rule (Elasticsearch query): anomaly score 50 or above",
		Kind: KindAlertingRule, Target: TargetKibana, Licence: licenceBasic,
		// Kibana before 8.17 accepts only UUIDs as predefined rule IDs.
		ID:       "6c1f9a7e-2b4d-4e8a-9f35-0d7c2e1b8a64",
		FileName: "siemscore-kibana-rule.json", files: []string{"kibana/rule-high-score.json"},
	},
	{
		Name: "security-rules", Title: "Elastic Security detection rules (2 query, 3 threshold)",
		Kind: KindDetectionRules, Target: TargetKibana, Licence: licenceBasic,
		FileName: "siemscore-security-rules.ndjson",
		files: []string{
			"security/rule-unusual-ip.json",
			"security/rule-guardduty-unusual-ip.json",
			"security/rule-kerberos-outlier.json",
			"security/rule-kerberos-spray.json",
			"security/rule-api-burst.json",
		},
	},
	{
		Name: "watch", Title: "Watcher watch: anomaly score 50 or above, every 10 minutes",
		Kind: KindWatch, Target: TargetElasticsearch, Licence: licenceGold,
		ID: "siemscore-high-score", FileName: "siemscore-watch.json", files: []string{"watcher/high-score.json"},
	},
	{
		Name: "elastalert-rule", Title: "ElastAlert 2 rule: anomaly score 50 or above",
		Kind: KindElastAlertRule, Target: TargetElastAlert, Licence: licenceNone,
		FileName: "siemscore-high-score.yaml", files: []string{"elastalert/high-score.yaml"},
	},
}

// List returns every artifact, in a stable order.
func List() []Artifact { return slices.Clone(catalogue) }

// Names returns every artifact's name, in List order.
func Names() []string {
	names := make([]string, len(catalogue))
	for i, a := range catalogue {
		names[i] = a.Name
	}
	return names
}

// Lookup returns the artifact called name.
func Lookup(name string) (Artifact, error) {
	for _, a := range catalogue {
		if a.Name == name {
			return a, nil
		}
	}
	return Artifact{}, fmt.Errorf("assets: no artifact %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Content returns the artifact as its API or tool takes it: NDJSON, one compact object per
// line, for the import APIs; the file as written for the others.
func (a Artifact) Content() ([]byte, error) {
	if len(a.files) == 0 {
		return nil, fmt.Errorf("assets: %q is not a catalogued artifact (use List or Lookup)", a.Name)
	}
	ndjson := a.Kind == KindSavedObjects || a.Kind == KindDetectionRules
	var out bytes.Buffer
	for _, f := range a.files {
		raw, err := embedded.ReadFile("files/" + f)
		if err != nil {
			return nil, fmt.Errorf("assets: %s: %w", a.Name, err)
		}
		if !ndjson {
			out.Write(raw)
			continue
		}
		if err := json.Compact(&out, raw); err != nil {
			return nil, fmt.Errorf("assets: %s: %s: %w", a.Name, f, err)
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// Print writes the artifacts' content to w. One artifact is written as is, ready to be
// redirected to a file and imported; several are each preceded by a "# name: title" line,
// which makes the whole a listing to read rather than something to import.
func Print(w io.Writer, arts ...Artifact) error {
	for _, a := range arts {
		b, err := a.Content()
		if err != nil {
			return err
		}
		if len(arts) > 1 {
			fmt.Fprintf(w, "# %s: %s (%s for %s, file %s)\n", a.Name, a.Title, a.Kind, a.Target, a.FileName)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("assets: write %s: %w", a.Name, err)
		}
	}
	return nil
}

// WriteFiles writes each artifact's content to dir/FileName, creating dir and its parents
// when absent (as the commands' -o does for a file), and returns the paths written.
func WriteFiles(dir string, arts ...Artifact) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	var paths []string
	for _, a := range arts {
		b, err := a.Content()
		if err != nil {
			return paths, err
		}
		p := filepath.Join(dir, a.FileName)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return paths, fmt.Errorf("assets: %s: %w", a.Name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
