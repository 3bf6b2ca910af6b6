package zeek_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/internal/fuzzbody"
	"github.com/siemscore/siemscore/processors/realdatatest"
	"github.com/siemscore/siemscore/processors/zeek"
)

// FuzzZeekJSON feeds kerberos.log rows as JSON to Parse and to a router fixed to Kerberos.
func FuzzZeekJSON(f *testing.F) {
	for _, b := range realdatatest.Seeds(f, realdatatest.KerberosJSON, realdatatest.KerberosTSV) {
		js, err := json.Marshal(b.Map)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js, fuzzbody.Ints)
	}
	p, err := processors.New(processors.Options{Type: "kerberos", PreserveOriginal: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		parse := func(row body.Value, fallback time.Time) (*ecs.Document, error) {
			d, _, err := new(zeek.Parser).Parse(row, fallback)
			return d, err
		}
		fuzzbody.CheckParser(t, p, parse, data, mode)
	})
}

// FuzzZeekTSV feeds whole TSV logs line by line to the TSV parser, and every row it yields to
// the router. Invariants: no panic; each row maps to at least one record with a valid
// document.
func FuzzZeekTSV(f *testing.F) {
	if dir := realdatatest.Dir(); dir != "" {
		for _, g := range realdatatest.KerberosTSV {
			files, _ := filepath.Glob(filepath.Join(dir, g))
			for _, file := range files {
				if data, err := os.ReadFile(file); err == nil {
					f.Add(data)
				}
			}
		}
	}
	p, err := processors.New(processors.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tsv := zeek.NewTSV()
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			row, err := tsv.Row(line)
			if err != nil || row == nil {
				continue
			}
			fuzzbody.CheckRecords(t, p.Append(nil, row, fuzzbody.Fallback))
		}
	})
}
