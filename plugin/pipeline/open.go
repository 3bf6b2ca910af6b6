package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/processors"
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
	client, err := esclient.New(cfg.ESClient(), log.Named("esclient"))
	if err != nil {
		return nil, config.KeyError(err)
	}
	scorer, err := openScorer(cfg, client, log.Named("model"))
	if err != nil {
		_ = client.Close(context.Background())
		return nil, err
	}
	d, err := deliver.New(client, cfg.Deliver(), log.Named("deliver"))
	if err != nil {
		if c, ok := scorer.(io.Closer); ok {
			_ = c.Close() // stops a bundle watcher or releases the companion
		}
		_ = client.Close(context.Background())
		return nil, config.KeyError(err)
	}
	return New(Options{
		Processor: proc,
		Scorer:    scorer,
		Sink:      esSink{d, client},
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

// esSink is the Deliverer with the client it writes through, which it closes after itself.
type esSink struct {
	*deliver.Deliverer
	client *esclient.Client
}

func (s esSink) Close(ctx context.Context) error {
	return errors.Join(s.Deliverer.Close(ctx), s.client.Close(ctx))
}
