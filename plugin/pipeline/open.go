package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/geoip"
)

// Open starts an instance from a validated configuration: the processors, the scorer with the
// configured model bundle, the Elasticsearch client and the delivery engine. Any error names the
// property it comes from.
func Open(cfg config.Config, log hclog.Logger) (*Instance, error) {
	if !cfg.HostsSet {
		log.Warn("es_hosts is not set: writing to " + strings.Join(cfg.Hosts, ",") + ". Fluent Bit keeps Host, Port and tls* for its core " +
			"and never passes them to a Go plugin: set es_hosts (https:// for TLS) and es_ca_file / es_tls_verify instead")
	}
	geo, err := openGeo(cfg, log.Named("geo"))
	if err != nil {
		return nil, err
	}
	var closers []io.Closer
	if geo != nil {
		closers = append(closers, geo)
	}
	closeAll := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	popts := processors.Options{Type: cfg.RecordType, EventKeys: cfg.EventKeys, PreserveOriginal: cfg.PreserveOriginal}
	if geo != nil {
		popts.Geo = geo.Enricher
	}
	proc, err := processors.New(popts)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("record_type/event_keys: %w", err)
	}
	// While Fluent Bit starts its inputs, not in the first flush. A panic here would take Fluent
	// Bit down; recovered, the first record that needs the rules tries again (and its flush
	// recovers).
	go func() {
		defer func() {
			if r := recover(); r != nil {
				log.Error("preparing the record parsers failed; the first record that needs them will try again", "panic", fmt.Sprint(r))
			}
		}()
		proc.Warm()
	}()
	client, err := esclient.New(cfg.ESClient(), log.Named("esclient"))
	if err != nil {
		closeAll()
		return nil, config.KeyError(err)
	}
	scorer, err := openScorer(cfg, client, log.Named("model"))
	if err != nil {
		closeAll()
		_ = client.Close(context.Background())
		return nil, err
	}
	d, err := deliver.New(client, cfg.Deliver(), log.Named("deliver"))
	if err != nil {
		if c, ok := scorer.(io.Closer); ok {
			_ = c.Close() // stops a bundle watcher or releases the companion
		}
		closeAll()
		_ = client.Close(context.Background())
		return nil, config.KeyError(err)
	}
	return New(Options{
		Processor: proc,
		Scorer:    scorer,
		Sink:      esSink{d, client},
		// The retry budget bounds re-sending refused items; one more request timeout lets the
		// last request in flight finish rather than be cut off.
		Budget:       cfg.RetryBudget + cfg.Timeout,
		BatchRecords: cfg.BulkMaxRecords,
		Grace:        cfg.ShutdownGrace,
		Log:          log,
		Closers:      closers,
	})
}

// geoDBs are an instance's geo and ASN databases and the watcher that reloads them.
type geoDBs struct {
	*geoip.Enricher
	watch *watcher
}

func (g *geoDBs) Close() error {
	if g.watch != nil {
		g.watch.Close()
	}
	return nil
}

// openGeo opens the configured geo and ASN databases (nil when there are none); an error names
// the key of the file at fault.
func openGeo(cfg config.Config, log hclog.Logger) (*geoDBs, error) {
	gc := cfg.Geo()
	if !gc.Enabled() {
		return nil, nil
	}
	files := gc.Files()
	seen := stamps(files)
	db, err := geoip.Open(gc)
	if err != nil {
		return nil, config.KeyError(err)
	}
	log.Info("geo and ASN databases loaded", "source", db.Source)
	g := &geoDBs{Enricher: geoip.NewEnricher(db)}
	if cfg.GeoReload > 0 {
		g.watch = watch(files, seen, cfg.GeoReload, func() {
			db, err := geoip.Open(gc)
			if err != nil {
				log.Warn("geo and ASN databases not reloaded; going on with the current ones", "error", err)
				return
			}
			g.Swap(db)
			log.Info("geo and ASN databases reloaded", "source", db.Source)
		}, "geo database watcher", log)
	}
	return g, nil
}

func openScorer(cfg config.Config, es *esclient.Client, log hclog.Logger) (Scorer, error) {
	scoring := scoreOptions(cfg)
	if cfg.CompanionPath != "" {
		return openCompanion(cfg, es, scoring, log)
	}
	if cfg.ModelBundle == "" {
		return score.New(scoring...), nil // records ship marked untrained
	}
	return openModel(cfg.ModelBundle, cfg.ModelReload, bundle.DecodeOptions{Key: cfg.BundleKey}, scoring, log)
}

// scoreOptions are what the configuration asks of the scorer.
func scoreOptions(cfg config.Config) []score.Option {
	return []score.Option{score.WithKerberosFeatures(cfg.KerberosFeatures)}
}

// esSink is the Deliverer with the client it writes through, which it closes after itself.
type esSink struct {
	*deliver.Deliverer
	client *esclient.Client
}

func (s esSink) Close(ctx context.Context) error {
	return errors.Join(s.Deliverer.Close(ctx), s.client.Close(ctx))
}
