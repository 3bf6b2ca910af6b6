package score

import (
	"context"
	"testing"

	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/identity"
)

// BenchmarkScoreCloudTrail scores parsed CloudTrail records (user.id and source.* as the
// processor fills them) through the Scorer, whose bundle holds the IP model trained on the
// organisation scenario (and no periodicity section, so the API part only
// reports it missing); it cycles through 4096 test-window records so the model's tables are not
// all in cache.
func BenchmarkScoreCloudTrail(b *testing.B) {
	data, err := ipnet.Org(ipnet.DefaultOrgConfig())
	if err != nil {
		b.Fatal(err)
	}
	ds := ipanomaly.NewDataset()
	for i := range data.Train {
		e := &data.Train[i]
		ds.Add(identity.Principal{ID: e.Identity.PrincipalID, Account: e.Identity.AccountID}, e.IP, e.Time)
	}
	m, err := ipanomaly.Train(context.Background(), ds, ipanomaly.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := New()
	if err := s.Load(newBundle(b, m, 1)); err != nil {
		b.Fatal(err)
	}
	events := append(data.Test, data.Attacks...)
	recs := make([]*ecs.Record, 4096)
	for i := range recs {
		e := &events[(i*7919)%len(events)]
		recs[i] = &ecs.Record{Kind: ecs.KindCloudTrail, Doc: &ecs.Document{
			User:   &ecs.User{ID: e.Principal(), Name: e.Identity.Name},
			Source: &ecs.Endpoint{Address: e.IP.String(), IP: e.IP},
		}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Score(recs[i%len(recs)])
	}
}
