// Package template installs what Elasticsearch needs before siemscore writes: composable index
// templates for siemscore's data streams and for the dead-letter data stream, with explicit
// mappings for every field the plugin writes, and the lifecycle that ages them out (an ILM
// policy when the cluster has ILM, else a data stream lifecycle in the template).
//
// The mappings are self-contained: they do not compose Elastic's logs@mappings/ecs@mappings
// component templates, which a cluster without the stack's templates (or an older one) lacks,
// so the result is the same everywhere. A "<Name>@custom" component template, if the
// operator creates one, is composed in last, as Fleet's @custom hooks are.
//
// Installation is idempotent: each resource carries a hash of its content in _meta and is only
// written when the cluster's copy differs, so plugin instances starting together do little
// and write identical content. A copy written by a newer siemscore (higher schema version) is
// left alone.
package template

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
)

var (
	//go:embed mappings/logs.json
	logsMappings []byte
	//go:embed mappings/deadletter.json
	deadLetterMappings []byte
)

// SchemaVersion numbers the shape of what this package installs. Raise it with every change to
// the mappings or settings, so an older plugin version never overwrites them.
// 2: field types of Elastic's integrations, event.ingested, user_agent.*, geo, user.target,
// group, the GuardDuty integration's field names; the integration landing.
const SchemaVersion = 2

// managedBy marks, in _meta, what this package installed.
const managedBy = "siemscore"

// LogsTemplate, DeadLetterTemplate and CustomComponent name what cfg installs or composes.
func (c Config) LogsTemplate() string       { return c.Name + "-logs" }
func (c Config) DeadLetterTemplate() string { return c.Name + "-deadletter" }
func (c Config) CustomComponent() string    { return c.Name + "@custom" }

// Rollover thresholds of the ILM policy: Elastic's own logs policy values.
const (
	rolloverMaxAge       = "30d"
	rolloverMaxShardSize = "50gb"
)

// Result says what Install did.
type Result struct {
	// Lifecycle is the lifecycle in effect (never LifecycleAuto).
	Lifecycle Lifecycle
	// Written lists the resources created or updated; Unchanged those already current;
	// Newer those left alone because a newer siemscore installed them.
	Written, Unchanged, Newer []string
	// RolledOver lists the existing data streams rolled over to take up a template just
	// written (see rollOver).
	RolledOver []string
	// Elastic lists Elastic's integration templates found installed (integration landing):
	// they map those datasets, and no stand-in was written for them.
	Elastic []string
}

// resource is one thing to install: an index template or an ILM policy.
type resource struct {
	ilm      bool // an ILM policy, else an index template
	name     string
	patterns []string // an index template's index patterns
	body     map[string]any
}

func (r resource) kind() string {
	if r.ilm {
		return "ILM policy"
	}
	return "index template"
}

// Install installs the templates as configured. It does nothing when cfg.Enabled is false.
func Install(ctx context.Context, es *esclient.Client, cfg Config, log hclog.Logger) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if !cfg.Enabled {
		return Result{Lifecycle: LifecycleNone}, nil
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	lc := cfg.Lifecycle
	if lc == LifecycleAuto {
		has, err := HasILM(ctx, es)
		if err != nil {
			return Result{}, err
		}
		lc = LifecycleDataStream
		if has {
			lc = LifecycleILM
		}
	}
	res := Result{Lifecycle: lc}
	resources, err := build(cfg, lc)
	if err != nil {
		return res, err
	}
	var changed []string
	if cfg.Landing == target.LandingIntegration {
		more, err := integrations(ctx, es, cfg, lc, &res, &changed, log)
		if err != nil {
			return res, es.Redactor().Error(err)
		}
		resources = append(resources, more...)
	}
	for _, r := range resources {
		state, err := ensure(ctx, es, r)
		if err != nil {
			return res, es.Redactor().Error(err)
		}
		switch state {
		case written:
			changed = append(changed, r.patterns...)
			res.Written = append(res.Written, r.name)
			log.Info("installed", "kind", r.kind(), "name", r.name, "schema_version", SchemaVersion)
		case unchanged:
			res.Unchanged = append(res.Unchanged, r.name)
		case newer:
			res.Newer = append(res.Newer, r.name)
			log.Warn("left a newer siemscore's copy in place", "kind", r.kind(), "name", r.name, "schema_version", SchemaVersion)
		}
	}
	if len(changed) > 0 {
		res.RolledOver = rollOver(ctx, es, changed, log)
	}
	return res, nil
}

// HasILM reports whether the cluster has index lifecycle management: GET _ilm/status answers
// with an operation mode. A cluster without the ILM plugin answers 404 or 405 instead.
func HasILM(ctx context.Context, es *esclient.Client) (bool, error) {
	res, err := esapi.ILMGetStatusRequest{}.Do(ctx, es)
	if err != nil {
		return false, es.Redactor().Error(fmt.Errorf("template: ILM status: %w", err))
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusOK:
		var st struct {
			OperationMode string `json:"operation_mode"`
		}
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil || st.OperationMode == "" {
			return false, fmt.Errorf("template: ILM status: unexpected answer (%v)", err)
		}
		return true, nil
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed || res.StatusCode == http.StatusBadRequest:
		return false, nil
	default:
		return false, es.Redactor().Error(fmt.Errorf("template: ILM status: %s (set the lifecycle explicitly if the credentials may not read it)",
			esclient.Describe(res)))
	}
}

// build returns the resources to install for lifecycle lc (not LifecycleAuto), ILM policy
// first so the templates never name a missing policy.
func build(cfg Config, lc Lifecycle) ([]resource, error) {
	var out []resource
	settings, lifecycle, policy, err := common(cfg, lc)
	if err != nil {
		return nil, err
	}
	if policy != nil {
		out = append(out, *policy)
	}
	for _, t := range []struct {
		name     string
		patterns []string
		priority int
		mappings []byte
		desc     string
	}{
		{cfg.LogsTemplate(), cfg.Patterns, cfg.Priority, logsMappings, "siemscore: ECS documents with ML scores"},
		{cfg.DeadLetterTemplate(), cfg.DeadLetterPatterns, cfg.Priority + 1, deadLetterMappings, "siemscore: records Elasticsearch rejected"},
	} {
		r, err := indexTemplate(t.name, t.patterns, t.priority, t.mappings, settings, lifecycle, cfg.CustomComponent(), t.desc)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// common returns the index settings and data stream lifecycle every template gets, and the ILM
// policy to install first when lc is ILM.
func common(cfg Config, lc Lifecycle) (settings, lifecycle map[string]any, policy *resource, err error) {
	settings = map[string]any{
		// As Elastic's logs@settings: a malformed passthrough value is kept in _source but not
		// indexed, instead of rejecting the whole document.
		"index.mapping.ignore_malformed": true,
		// Passthrough fields map dynamically; room for them above the ~250 typed fields.
		"index.mapping.total_fields.limit": 2000,
	}
	if cfg.Replicas >= 0 {
		settings["index.number_of_replicas"] = cfg.Replicas
	}
	switch lc {
	case LifecycleILM:
		p := withMeta(resource{ilm: true, name: cfg.ILMPolicy, body: map[string]any{"policy": ilmPolicy(cfg)}})
		policy = &p
		settings["index.lifecycle.name"] = cfg.ILMPolicy
	case LifecycleDataStream:
		lifecycle = map[string]any{}
		if cfg.Retention > 0 {
			lifecycle["data_retention"] = esDuration(cfg.Retention)
		}
	case LifecycleNone:
	default:
		return nil, nil, nil, fmt.Errorf("template: lifecycle %q cannot be installed", lc)
	}
	return settings, lifecycle, policy, nil
}

// indexTemplate is a data stream index template with the given mappings, composing the
// component template custom (optional) last.
func indexTemplate(name string, patterns []string, priority int, mappingsJSON []byte, settings, lifecycle map[string]any, custom, desc string) (resource, error) {
	var mappings map[string]any
	if err := json.Unmarshal(mappingsJSON, &mappings); err != nil {
		return resource{}, fmt.Errorf("template: %s: embedded mappings: %w", name, err)
	}
	tmpl := map[string]any{"settings": settings, "mappings": mappings}
	if lifecycle != nil {
		tmpl["lifecycle"] = lifecycle
	}
	return withMeta(resource{name: name, patterns: patterns, body: map[string]any{
		"index_patterns":                     patterns,
		"priority":                           priority,
		"data_stream":                        map[string]any{},
		"composed_of":                        []string{custom},
		"ignore_missing_component_templates": []string{custom},
		"version":                            SchemaVersion,
		"template":                           tmpl,
		"_meta":                              map[string]any{"description": desc},
	}}), nil
}

func ilmPolicy(cfg Config) map[string]any {
	phases := map[string]any{
		"hot": map[string]any{"actions": map[string]any{"rollover": map[string]any{
			"max_age": rolloverMaxAge, "max_primary_shard_size": rolloverMaxShardSize,
		}}},
	}
	if cfg.Retention > 0 {
		phases["delete"] = map[string]any{"min_age": esDuration(cfg.Retention), "actions": map[string]any{"delete": map[string]any{}}}
	}
	return map[string]any{"phases": phases, "_meta": map[string]any{"description": "siemscore: rollover, then delete after the retention"}}
}

// withMeta stamps the resource's _meta with who manages it, the schema version and a hash of
// the content (computed before the hash is added; encoding/json sorts map keys, so the hash is
// stable).
func withMeta(r resource) resource {
	meta := metaOf(r.body)
	meta["managed_by"] = managedBy
	meta["schema_version"] = SchemaVersion
	b, _ := json.Marshal(r.body) // maps of strings, numbers and slices always encode
	sum := sha256.Sum256(b)
	meta["hash"] = hex.EncodeToString(sum[:12])
	return r
}

// metaOf returns the body's _meta object (the policy's, for an ILM policy).
func metaOf(body map[string]any) map[string]any {
	if p, ok := body["policy"].(map[string]any); ok {
		body = p
	}
	m, ok := body["_meta"].(map[string]any)
	if !ok {
		m = map[string]any{}
		body["_meta"] = m
	}
	return m
}

type ensureState uint8

const (
	written ensureState = iota
	unchanged
	newer
)

// installedMeta is the part of an installed resource that decides whether to write ours.
type installedMeta struct {
	Hash          string `json:"hash"`
	SchemaVersion int    `json:"schema_version"`
}

func ensure(ctx context.Context, es *esclient.Client, r resource) (ensureState, error) {
	cur, found, err := current(ctx, es, r)
	if err != nil {
		return 0, err
	}
	want := metaOf(r.body)
	if found {
		if cur.Hash == want["hash"] {
			return unchanged, nil
		}
		if cur.SchemaVersion > SchemaVersion {
			return newer, nil
		}
	}
	body, err := json.Marshal(r.body)
	if err != nil {
		return 0, fmt.Errorf("template: %s %s: %w", r.kind(), r.name, err)
	}
	var res *esapi.Response
	if r.ilm {
		res, err = esapi.ILMPutLifecycleRequest{Policy: r.name, Body: bytes.NewReader(body)}.Do(ctx, es)
	} else {
		res, err = esapi.IndicesPutIndexTemplateRequest{Name: r.name, Body: bytes.NewReader(body)}.Do(ctx, es)
	}
	if err != nil {
		return 0, fmt.Errorf("template: put %s %s: %w", r.kind(), r.name, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return 0, fmt.Errorf("template: put %s %s: %s", r.kind(), r.name, esclient.Describe(res))
	}
	return written, nil
}

// current reads the installed resource's _meta; found is false when there is none.
func current(ctx context.Context, es *esclient.Client, r resource) (meta installedMeta, found bool, err error) {
	var res *esapi.Response
	if r.ilm {
		res, err = esapi.ILMGetLifecycleRequest{Policy: r.name}.Do(ctx, es)
	} else {
		res, err = esapi.IndicesGetIndexTemplateRequest{Name: r.name}.Do(ctx, es)
	}
	if err != nil {
		return meta, false, fmt.Errorf("template: get %s %s: %w", r.kind(), r.name, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return meta, false, nil
	}
	if res.IsError() {
		return meta, false, fmt.Errorf("template: get %s %s: %s", r.kind(), r.name, esclient.Describe(res))
	}
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Meta installedMeta `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	var policies map[string]struct {
		Policy struct {
			Meta installedMeta `json:"_meta"`
		} `json:"policy"`
	}
	dec := json.NewDecoder(res.Body)
	if r.ilm {
		if err := dec.Decode(&policies); err != nil {
			return meta, false, fmt.Errorf("template: get %s %s: %w", r.kind(), r.name, err)
		}
		p, ok := policies[r.name]
		return p.Policy.Meta, ok, nil
	}
	if err := dec.Decode(&got); err != nil {
		return meta, false, fmt.Errorf("template: get %s %s: %w", r.kind(), r.name, err)
	}
	for _, t := range got.IndexTemplates {
		if t.Name == r.name {
			return t.IndexTemplate.Meta, true, nil
		}
	}
	return meta, false, nil
}
