package template

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/siemscore/siemscore/elastic/target"
)

// Lifecycle is how siemscore's data streams age out.
type Lifecycle string

// Lifecycles.
const (
	// LifecycleAuto picks ILM when the cluster has it, else data stream lifecycle.
	LifecycleAuto Lifecycle = "auto"
	// LifecycleILM attaches an ILM policy (rollover, then delete after Retention).
	LifecycleILM Lifecycle = "ilm"
	// LifecycleDataStream puts a data stream lifecycle (data_retention) in the template.
	LifecycleDataStream Lifecycle = "data_stream"
	// LifecycleNone leaves ageing to the operator.
	LifecycleNone Lifecycle = "none"
)

// Config says whether and how to install siemscore's index templates. Start from DefaultConfig.
type Config struct {
	// Enabled installs the templates (and ILM policy) at start-up.
	Enabled bool
	// Name prefixes the template names: <Name>-logs and <Name>-deadletter. Deployments that
	// share a cluster with different patterns or retention need different names.
	Name string
	// Priority of the main template; the dead-letter template gets Priority+1 so that it wins
	// for the dead-letter data stream, which the main pattern also matches. It must stay above
	// Elastic's own logs (100) and Fleet integration (200) templates.
	Priority int
	// Patterns are the index patterns of the main template; DeadLetterPatterns those of the
	// dead-letter template. Change them together with deliver.Config.Index/DeadLetterIndex.
	Patterns           []string
	DeadLetterPatterns []string
	// Lifecycle and Retention: how long documents are kept (0 keeps them forever).
	Lifecycle Lifecycle
	Retention time.Duration
	// ILMPolicy names the ILM policy siemscore manages when Lifecycle resolves to ILM.
	ILMPolicy string
	// Replicas sets index.number_of_replicas; -1 keeps the cluster default.
	Replicas int
	// Landing LandingIntegration also prepares the data streams of Elastic's integrations that
	// records go to (Integrations: logs-<dataset>-*): siemscore's score fields are added to each
	// dataset's "logs-<dataset>@custom" component template, and where Elastic's index template
	// for the dataset is not installed, a compatible one of siemscore's (IntegrationPriority,
	// below Fleet's) maps the ECS fields as the integration does.
	Landing      target.Landing
	Integrations []string
}

// IntegrationPriority is the priority of siemscore's stand-in templates for integration
// datasets: above Elastic's logs template (100), below Fleet's integration templates (200), so
// installing the integration later takes over without a conflict.
const IntegrationPriority = 199

// DefaultConfig returns the defaults: installed, priority 250, siemscore's data stream
// patterns, lifecycle detected, documents kept forever (as Elastic's own logs policy does).
func DefaultConfig() Config {
	return Config{
		Enabled:            true,
		Name:               "siemscore",
		Priority:           250,
		Patterns:           []string{target.Pattern},
		DeadLetterPatterns: []string{target.DeadLetter("*")},
		Lifecycle:          LifecycleAuto,
		ILMPolicy:          "siemscore-logs",
		Replicas:           -1,
		Landing:            target.LandingSiemscore,
		Integrations:       slices.Sorted(maps.Values(target.IntegrationDatasets)),
	}
}

// minPriority is one above Fleet's integration templates (200), which match
// logs-<dataset>-* patterns and would otherwise win.
const minPriority = 201

// Validate checks the configuration; each error names the offending field.
func (c Config) Validate() error {
	var errs []error
	if err := target.ValidateIndex(c.Name); err != nil {
		errs = append(errs, fmt.Errorf("template: Name: %w", err))
	}
	if c.Priority < minPriority {
		errs = append(errs, fmt.Errorf("template: Priority: must be at least %d (above Fleet's integration templates), got %d", minPriority, c.Priority))
	}
	if err := validatePatterns(c.Patterns); err != nil {
		errs = append(errs, fmt.Errorf("template: Patterns: %w", err))
	}
	if err := validatePatterns(c.DeadLetterPatterns); err != nil {
		errs = append(errs, fmt.Errorf("template: DeadLetterPatterns: %w", err))
	}
	switch c.Lifecycle {
	case LifecycleAuto, LifecycleILM, LifecycleDataStream, LifecycleNone:
	default:
		errs = append(errs, fmt.Errorf("template: Lifecycle: %q is not one of auto, ilm, data_stream, none", c.Lifecycle))
	}
	if c.Retention != 0 && (c.Retention < time.Hour || c.Retention%time.Second != 0) {
		errs = append(errs, fmt.Errorf("template: Retention: must be 0 (keep forever) or at least 1h in whole seconds, got %s", c.Retention))
	}
	if c.Retention != 0 && c.Lifecycle == LifecycleNone {
		errs = append(errs, errors.New("template: Retention: needs a Lifecycle other than none"))
	}
	if c.ILMPolicy == "" || strings.ContainsAny(c.ILMPolicy, `/\*?"<>| ,#:`) {
		errs = append(errs, fmt.Errorf("template: ILMPolicy: %q is not a valid policy name", c.ILMPolicy))
	}
	if _, err := target.ParseLanding(string(c.Landing)); err != nil {
		errs = append(errs, fmt.Errorf("template: Landing: %w", err))
	}
	for _, ds := range c.Integrations {
		if err := target.ValidateIndex("logs-" + ds + "-x"); err != nil || ds == "" || strings.ContainsAny(ds, "*-") {
			errs = append(errs, fmt.Errorf("template: Integrations: %q is not a dataset name", ds))
		}
	}
	if c.Replicas < -1 {
		errs = append(errs, fmt.Errorf("template: Replicas: must be -1 (cluster default) or more, got %d", c.Replicas))
	}
	return errors.Join(errs...)
}

func validatePatterns(ps []string) error {
	if len(ps) == 0 {
		return errors.New("at least one pattern is required")
	}
	for _, p := range ps {
		// A pattern is an index name that may contain '*'.
		if err := target.ValidateIndex(strings.ReplaceAll(p, "*", "x")); err != nil {
			return err
		}
	}
	return nil
}

// esDuration renders d in Elasticsearch time units, in the largest unit that is exact.
func esDuration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d%s", d/u.d, u.unit)
		}
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
