// Package smallbundle trains, once per test binary, a small model bundle with every section the
// scorer uses (IP, Kerberos, periodicity) from synthetic CloudTrail and Zeek records, for tests
// that need records really scored rather than marked untrained or section-missing.
package smallbundle

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/input"
	"github.com/siemscore/siemscore/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/synth/kerberos"
	"github.com/siemscore/siemscore/train"
)

var (
	once   sync.Once
	result *bundle.Bundle
	err    error
)

// Get returns the bundle, training it on the first call. Its sections are IPIN, KRBH and APIP.
func Get(tb testing.TB) *bundle.Bundle {
	tb.Helper()
	once.Do(func() { result, err = build() })
	if err != nil {
		tb.Fatal(err)
	}
	return result
}

func build() (*bundle.Bundle, error) {
	org := ipnet.DefaultOrgConfig()
	org.Orgs, org.Members = 2, 6
	ds, err := ipnet.Org(org)
	if err != nil {
		return nil, err
	}
	var cloudtrail, zeek bytes.Buffer
	if err := ipnet.WriteCloudTrail(&cloudtrail, 1, ds.Train); err != nil {
		return nil, err
	}
	kd, err := synthkrb.Generate(synthkrb.Config{Seed: 1, Workstations: 30})
	if err != nil {
		return nil, err
	}
	if err := synthkrb.WriteZeekTSV(&zeek, kd.Records, kd.Records[0].Time); err != nil {
		return nil, err
	}
	col := train.NewCollector()
	for _, text := range []*bytes.Buffer{&cloudtrail, &zeek} {
		if err := collect(col, text); err != nil {
			return nil, err
		}
	}
	cfg := train.DefaultConfig()
	cfg.IP.Epochs, cfg.IP.VectorDim = 1, 8
	cfg.Kerberos.K = 3
	cfg.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	res, err := train.Train(context.Background(), col, cfg)
	if err != nil {
		return nil, fmt.Errorf("smallbundle: %w", err)
	}
	if len(res.Skipped) > 0 {
		return nil, fmt.Errorf("smallbundle: models left out: %v", res.Skipped)
	}
	return res.Bundle, nil
}

// collect parses one file's worth of records as the CLI does and adds them to col.
func collect(col *train.Collector, text *bytes.Buffer) error {
	proc, err := processors.New(processors.Options{})
	if err != nil {
		return err
	}
	rd, err := input.NewReader(text, "smallbundle")
	if err != nil {
		return err
	}
	var recs []processors.Record
	for it := range rd.All() {
		if it.Err != nil {
			return it.Err
		}
		recs = proc.Append(recs[:0], it.Body, time.Unix(0, 0))
		for i := range recs {
			col.Add(&recs[i])
		}
	}
	return nil
}
