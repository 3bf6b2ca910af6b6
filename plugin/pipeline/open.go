package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/elastic/template"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Open starts an instance from a validated configuration: the processors, the scorer with the
// configured model bundle, the Elasticsearch client and the delivery engine. Any error names the
// property it comes from.
func Open(cfg config.Config, log hclog.Logger) (*Instance, error) {
	proc, err := processors.New(processors.Options{
		Type: cfg.RecordType, EventKeys: cfg.EventKeys, PreserveOriginal: cfg.PreserveOriginal,
	})
	if err != nil {
		return nil, fmt.Errorf("record_type/event_keys: %w", err)
	}
	esCfg := esclient.DefaultConfig()
	esCfg.Hosts = cfg.Hosts
	esCfg.APIKey, esCfg.Username, esCfg.Password = cfg.APIKey, cfg.User, cfg.Password
	esCfg.CAFile = cfg.CAFile
	esCfg.TLSSkipVerify, esCfg.TLSSkipHostnameVerify = !cfg.TLSVerify, !cfg.TLSVerifyHostname
	esCfg.RequestTimeout = cfg.Timeout
	esCfg.Compress = cfg.Compress
	client, err := esclient.New(esCfg, log.Named("esclient"))
	if err != nil {
		return nil, fmt.Errorf("es_*: %w", err)
	}
	scorer, err := openScorer(cfg, client, log.Named("model"))
	if err != nil {
		_ = client.Close(context.Background())
		return nil, err
	}
	dCfg := deliver.DefaultConfig()
	dCfg.Namespace, dCfg.Index, dCfg.DeadLetterIndex = cfg.Namespace, cfg.Index, cfg.DeadLetterIndex
	dCfg.MaxBatchDocs, dCfg.MaxBatchBytes = cfg.BulkMaxRecords, int(cfg.BulkMaxBytes)
	dCfg.RetryBudget = cfg.RetryBudget
	d, err := deliver.New(client, dCfg, log.Named("deliver"))
	if err != nil {
		if c, ok := scorer.(io.Closer); ok {
			_ = c.Close() // stops a bundle watcher or releases the companion
		}
		_ = client.Close(context.Background())
		return nil, fmt.Errorf("es_*: %w", err)
	}
	sink := &esSink{
		d: d, client: client, letters: newDeadLetterWriter(client, cfg.DeadLetterIndex, cfg.Namespace),
		templates: templateConfig(cfg), log: log.Named("template"),
	}
	sink.installed.Store(!cfg.InstallTemplate)
	// Elasticsearch may well be down while Fluent Bit starts; that must not stop the agent, so a
	// failed installation is retried before the first delivery instead.
	ctx, cancel := context.WithTimeout(context.Background(), min(cfg.Timeout, initTemplateTimeout))
	defer cancel()
	if err := sink.installTemplates(ctx); err != nil {
		log.Warn("index templates not installed yet; retrying before the first delivery", "error", err)
	}
	return New(Options{
		Processor: proc,
		Scorer:    scorer,
		Sink:      sink,
		// The retry budget bounds re-sending refused items; one more request timeout lets the
		// last request in flight finish rather than be cut off.
		Budget: cfg.RetryBudget + cfg.Timeout,
		Log:    log,
	})
}

func openScorer(cfg config.Config, es *esclient.Client, log hclog.Logger) (Scorer, error) {
	if cfg.CompanionPath != "" {
		return openCompanion(cfg, es, log)
	}
	if cfg.ModelBundle == "" {
		return score.New(), nil // records ship marked untrained
	}
	return openModel(cfg.ModelBundle, cfg.ModelReload, bundle.DecodeOptions{Key: cfg.BundleKey}, log)
}

// initTemplateTimeout bounds the template installation Init attempts.
const initTemplateTimeout = 10 * time.Second

// templateConfig is elastic/template's default: templates for the logs-siemscore.*-* data
// streams, the dead-letter one included, identical for every instance (so instances starting
// together write nothing twice). A custom es_index or es_dead_letter_index outside that pattern
// needs a template of the operator's own; see the plugin README.
func templateConfig(cfg config.Config) template.Config {
	t := template.DefaultConfig()
	t.Enabled = cfg.InstallTemplate
	return t
}

// esSink delivers through elastic/deliver, once the index templates are in place: a data
// stream created before its template would get no mappings, and no lifecycle, for good.
type esSink struct {
	d         *deliver.Deliverer
	client    *esclient.Client
	letters   *deadLetterWriter
	templates template.Config
	log       hclog.Logger

	installMu sync.Mutex
	installed atomic.Bool
}

func (s *esSink) installTemplates(ctx context.Context) error {
	if s.installed.Load() {
		return nil
	}
	s.installMu.Lock()
	defer s.installMu.Unlock()
	if s.installed.Load() {
		return nil
	}
	if _, err := template.Install(ctx, s.client, s.templates, s.log); err != nil {
		return fmt.Errorf("es_template_install: %w (turn es_template_install off if the templates are managed elsewhere)", err)
	}
	s.installed.Store(true)
	return nil
}

func (s *esSink) Deliver(ctx context.Context, recs []ecs.Record) (Outcome, error) {
	if err := s.installTemplates(ctx); err != nil {
		return Outcome{}, err
	}
	out := s.d.Deliver(ctx, recs)
	o := Outcome{Written: out.Created, Duplicates: out.Duplicates, DeadLettered: out.DeadLettered}
	if out.Status != deliver.OK {
		return o, out.Err
	}
	return o, nil
}

func (s *esSink) DeadLetter(ctx context.Context, letters []DeadLetter) error {
	if err := s.installTemplates(ctx); err != nil {
		return err
	}
	return s.letters.Write(ctx, letters)
}

func (s *esSink) Close(ctx context.Context) error {
	return errors.Join(s.d.Close(ctx), s.client.Close(ctx))
}
