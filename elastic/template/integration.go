package template

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
)

// The integration landing writes into data streams that belong to Elastic's integrations
// (logs-aws.cloudtrail-*, ...). Their index templates are Elastic's and are never written
// here. Two things are:
//
//   - the dataset's "logs-<dataset>@custom" component template, the hook Fleet composes into
//     its template for users' additions: siemscore's score fields (the siemscore object and
//     event.risk_score*) are merged into it, leaving whatever else it holds;
//   - where Elastic's template for the dataset is not installed (the integration is not used,
//     or not yet), a stand-in of siemscore's with the same ECS field types, at a priority below
//     Fleet's, so that installing the integration later simply takes over.

// CustomFor is the component template Elastic's index template for an integration dataset
// composes for users' additions.
func CustomFor(dataset string) string { return "logs-" + dataset + "@custom" }

// ElasticTemplate is the name of Elastic's (Fleet's) index template for an integration dataset.
func ElasticTemplate(dataset string) string { return "logs-" + dataset }

// StandIn is the name of siemscore's stand-in template for an integration dataset.
func (c Config) StandIn(dataset string) string { return c.Name + "-" + dataset }

// customMarker is the key under the component template's _meta where siemscore notes what it
// merged in (the rest of _meta is the owner's, Fleet's "managed_by" included).
const customMarker = "siemscore"

// scoreMappings returns the mappings of siemscore's own fields: the siemscore object and
// event.risk_score*, taken from the logs mapping so the two can never differ.
func scoreMappings() (map[string]any, error) {
	var m struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(logsMappings, &m); err != nil {
		return nil, fmt.Errorf("template: embedded mappings: %w", err)
	}
	var event struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(m.Properties["event"], &event); err != nil {
		return nil, fmt.Errorf("template: embedded mappings: event: %w", err)
	}
	var siemscore any
	if err := json.Unmarshal(m.Properties["siemscore"], &siemscore); err != nil {
		return nil, fmt.Errorf("template: embedded mappings: siemscore: %w", err)
	}
	return map[string]any{"properties": map[string]any{
		"siemscore": siemscore,
		"event": map[string]any{"properties": map[string]any{
			"risk_score":      event.Properties["risk_score"],
			"risk_score_norm": event.Properties["risk_score_norm"],
		}},
	}}, nil
}

// integrations prepares every integration dataset and returns the stand-in templates to
// install. Component templates are written here, before the stand-ins that compose them.
func integrations(ctx context.Context, es *esclient.Client, cfg Config, lc Lifecycle, res *Result, changed *[]string, log hclog.Logger) ([]resource, error) {
	scores, err := scoreMappings()
	if err != nil {
		return nil, err
	}
	settings, lifecycle, _, err := common(cfg, lc)
	if err != nil {
		return nil, err
	}
	var standIns []resource
	for _, ds := range cfg.Integrations {
		name := CustomFor(ds)
		state, err := mergeCustom(ctx, es, name, scores)
		if err != nil {
			return nil, err
		}
		switch state {
		case written:
			*changed = append(*changed, target.IntegrationPattern(ds))
			res.Written = append(res.Written, name)
			log.Info("added the score fields", "kind", "component template", "name", name, "schema_version", SchemaVersion)
		case unchanged:
			res.Unchanged = append(res.Unchanged, name)
		case newer:
			res.Newer = append(res.Newer, name)
		}
		elastic, err := exists(ctx, es, ElasticTemplate(ds))
		if err != nil {
			return nil, err
		}
		if elastic {
			res.Elastic = append(res.Elastic, ElasticTemplate(ds))
			continue
		}
		r, err := indexTemplate(cfg.StandIn(ds), []string{target.IntegrationPattern(ds)}, IntegrationPriority, logsMappings,
			settings, lifecycle, name, "siemscore: stand-in for Elastic's "+ds+" integration template, with its field types")
		if err != nil {
			return nil, err
		}
		standIns = append(standIns, r)
	}
	return standIns, nil
}

// exists reports whether an index template of that name is installed.
func exists(ctx context.Context, es *esclient.Client, name string) (bool, error) {
	res, err := esapi.IndicesExistsIndexTemplateRequest{Name: name}.Do(ctx, es)
	if err != nil {
		return false, fmt.Errorf("template: is %s installed: %w", name, err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("template: is %s installed: %s", name, esclient.Describe(res))
}

// mergeCustom adds scores to the component template name, creating it if it is absent and
// leaving everything else in it as it is.
func mergeCustom(ctx context.Context, es *esclient.Client, name string, scores map[string]any) (ensureState, error) {
	body, found, err := getComponent(ctx, es, name)
	if err != nil {
		return 0, err
	}
	b, _ := json.Marshal(scores) // maps of strings and numbers always encode
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:12])
	if !found {
		body = map[string]any{}
	}
	meta, _ := body["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	mark, _ := meta[customMarker].(map[string]any)
	if v, _ := mark["schema_version"].(float64); v > SchemaVersion {
		return newer, nil
	}
	tmpl, _ := body["template"].(map[string]any)
	if tmpl == nil {
		tmpl = map[string]any{}
	}
	mappings, _ := tmpl["mappings"].(map[string]any)
	merged := mergeProperties(mappings, scores)
	if found && mark["hash"] == hash && reflect.DeepEqual(merged, mappings) {
		return unchanged, nil
	}
	tmpl["mappings"] = merged
	body["template"] = tmpl
	meta[customMarker] = map[string]any{"managed_by": managedBy, "schema_version": SchemaVersion, "hash": hash,
		"description": "siemscore's score fields (the siemscore object, event.risk_score*), merged in by siemscore"}
	body["_meta"] = meta
	out, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("template: component template %s: %w", name, err)
	}
	res, err := esapi.ClusterPutComponentTemplateRequest{Name: name, Body: bytes.NewReader(out)}.Do(ctx, es)
	if err != nil {
		return 0, fmt.Errorf("template: put component template %s: %w", name, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return 0, fmt.Errorf("template: put component template %s: %s", name, esclient.Describe(res))
	}
	return written, nil
}

// getComponent returns a component template's body as it would be PUT.
func getComponent(ctx context.Context, es *esclient.Client, name string) (map[string]any, bool, error) {
	res, err := esapi.ClusterGetComponentTemplateRequest{Name: []string{name}}.Do(ctx, es)
	if err != nil {
		return nil, false, fmt.Errorf("template: get component template %s: %w", name, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if res.IsError() {
		return nil, false, fmt.Errorf("template: get component template %s: %s", name, esclient.Describe(res))
	}
	var got struct {
		ComponentTemplates []struct {
			Name              string         `json:"name"`
			ComponentTemplate map[string]any `json:"component_template"`
		} `json:"component_templates"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		return nil, false, fmt.Errorf("template: get component template %s: %w", name, err)
	}
	for _, c := range got.ComponentTemplates {
		if c.Name == name {
			return c.ComponentTemplate, true, nil
		}
	}
	return nil, false, nil
}

// mergeProperties returns a copy of mappings with the properties of add merged in: objects
// are merged key by key, and a field add defines replaces the field of that name.
func mergeProperties(mappings, add map[string]any) map[string]any {
	out := make(map[string]any, len(mappings)+1)
	for k, v := range mappings {
		out[k] = v
	}
	have, _ := out["properties"].(map[string]any)
	props := make(map[string]any, len(have))
	for k, v := range have {
		props[k] = v
	}
	addProps, _ := add["properties"].(map[string]any)
	for k, v := range addProps {
		sub, isObject := v.(map[string]any)
		cur, curIsMap := props[k].(map[string]any)
		_, subHasType := sub["type"]
		if isObject && curIsMap && !subHasType {
			props[k] = mergeProperties(cur, sub)
			continue
		}
		props[k] = v
	}
	out["properties"] = props
	return out
}
