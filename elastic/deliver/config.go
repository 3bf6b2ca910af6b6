package deliver

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/elastic/template"
)

// Config says where records go and how hard to try. Start from DefaultConfig.
type Config struct {
	// Namespace is the data stream namespace: records go to logs-siemscore.<kind>-<Namespace>.
	Namespace string
	// Index, when set, sends every record to this one index, alias or data stream instead.
	Index string
	// DeadLetterIndex receives the records Elasticsearch rejected; empty means
	// logs-siemscore.deadletter-<Namespace>.
	DeadLetterIndex string
	// Landing chooses the data streams (target.Landing): siemscore's own, or those of Elastic's
	// integrations for the kinds they cover. Templates.Landing is set from it.
	Landing target.Landing
	// Pipeline names an ingest pipeline every record is sent through (dead letters are not,
	// so that a failing pipeline cannot make them fail too). Empty: the data stream's default
	// pipeline, except in the integration landing, where records skip it (see route).
	Pipeline string
	// DeadLetterPath is a directory for the dead letters the dead-letter index cannot hold (a
	// record too large for any request); empty keeps none, and such a record's chunk is retried.
	// DeadLetterMaxBytes caps the directory's dead-letter files together.
	DeadLetterPath     string
	DeadLetterMaxBytes int64

	// MaxBatchBytes and MaxBatchDocs bound one bulk request; a bigger chunk is split. A single
	// document larger than MaxBatchBytes still goes, alone.
	MaxBatchBytes int
	MaxBatchDocs  int

	// RetryBudget is how long one Deliver call may keep re-sending the items Elasticsearch
	// answered 429 or 5xx, counted from the first such answer, before giving the chunk back to
	// Fluent Bit as RETRY. Zero gives it back at once.
	RetryBudget time.Duration
	// RetryBackoff spaces those re-sends.
	RetryBackoff esclient.Backoff

	// Templates are the index templates installed before the first record is written (none
	// when not Enabled). The default covers the logs-siemscore.*-* data streams, the dead-letter
	// one included, identical for every instance, so instances starting together write nothing
	// twice; a custom Index or DeadLetterIndex outside that pattern needs a template of the
	// operator's own.
	Templates template.Config
}

// DefaultConfig returns the defaults: the "default" namespace, 5 MiB / 2000-document bulk
// requests (Elastic's recommended 5-15 MB range, well below http.max_content_length), and 30 s
// of in-process retries spaced 200 ms .. 5 s.
func DefaultConfig() Config {
	return Config{
		Namespace:     target.DefaultNamespace,
		Landing:       target.LandingSiemscore,
		MaxBatchBytes: 5 << 20,
		MaxBatchDocs:  2000,
		RetryBudget:   30 * time.Second,
		RetryBackoff:  esclient.Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second},
		Templates:     template.DefaultConfig(),

		DeadLetterMaxBytes: 1 << 30,
	}
}

// minBatchBytes keeps a typo (5 instead of 5M) from turning every record into its own request.
const minBatchBytes = 1 << 10

// Validate checks the configuration; each error is an *esclient.FieldError naming the
// offending field.
func (c Config) Validate() error {
	var errs []error
	add := func(field string, err error) {
		errs = append(errs, &esclient.FieldError{Component: "deliver", Field: field, Err: err})
	}
	if err := target.ValidateNamespace(c.Namespace); err != nil {
		add("Namespace", err)
	}
	if c.Index != "" {
		if err := target.ValidateIndex(c.Index); err != nil {
			add("Index", err)
		}
	}
	if c.DeadLetterIndex != "" {
		if err := target.ValidateIndex(c.DeadLetterIndex); err != nil {
			add("DeadLetterIndex", err)
		}
	}
	if dl := c.deadLetterIndex(); dl == c.Index {
		add("DeadLetterIndex", fmt.Errorf("%q must differ from the index records go to, or refused records would be refused again", dl))
	}
	if _, err := target.ParseLanding(string(c.Landing)); err != nil {
		add("Landing", err)
	}
	if c.Pipeline != "" && (c.Pipeline == "_none" || strings.ContainsAny(c.Pipeline, " \t\r\n/\\*?\"<>|,#")) {
		add("Pipeline", fmt.Errorf("%q is not an ingest pipeline name", c.Pipeline))
	}
	if c.DeadLetterPath != "" && c.DeadLetterMaxBytes < deadletter.MinCap {
		add("DeadLetterMaxBytes", fmt.Errorf("must be at least %d, got %d", deadletter.MinCap, c.DeadLetterMaxBytes))
	}
	if c.MaxBatchBytes < minBatchBytes {
		add("MaxBatchBytes", fmt.Errorf("must be at least %d, got %d", minBatchBytes, c.MaxBatchBytes))
	}
	if c.MaxBatchDocs < 1 {
		add("MaxBatchDocs", fmt.Errorf("must be positive, got %d", c.MaxBatchDocs))
	}
	if c.RetryBudget < 0 {
		add("RetryBudget", fmt.Errorf("must not be negative, got %s", c.RetryBudget))
	}
	if err := c.RetryBackoff.Validate(); err != nil {
		add("RetryBackoff", err)
	}
	if err := c.Templates.Validate(); err != nil {
		add("Templates", err)
	}
	return errors.Join(errs...)
}

func (c Config) deadLetterIndex() string {
	if c.DeadLetterIndex != "" {
		return c.DeadLetterIndex
	}
	return target.DeadLetter(c.Namespace)
}
