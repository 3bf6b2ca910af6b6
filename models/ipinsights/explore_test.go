package ipinsights

import (
	"os"
	"strconv"
	"testing"

	"github.com/siemscore/siemscore/synth/ipnet"
)

func envCfg() Config {
	c := DefaultConfig()
	if v, err := strconv.Atoi(os.Getenv("X_DIM")); err == nil {
		c.VectorDim = v
	}
	if v, err := strconv.Atoi(os.Getenv("X_EPOCHS")); err == nil {
		c.Epochs = v
	}
	if v, err := strconv.Atoi(os.Getenv("X_BATCH")); err == nil {
		c.BatchSize = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("X_LR"), 64); err == nil {
		c.LearningRate = v
	}
	if v, err := strconv.Atoi(os.Getenv("X_RAND")); err == nil {
		c.RandomNegatives = v
	}
	if v, err := strconv.Atoi(os.Getenv("X_SHUF")); err == nil {
		c.ShuffledNegatives = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("X_NOV"), 64); err == nil {
		c.MaxNovelty = v
	}
	return c
}

func TestExplore(t *testing.T) {
	if os.Getenv("X_RUN") == "" {
		t.Skip()
	}
	cfg := envCfg()
	if os.Getenv("X_RUN") == "tut" || os.Getenv("X_RUN") == "both" {
		tc := ipnet.DefaultTutorialConfig()
		tc.Users = 500
		ds, _, _ := ipnet.Tutorial(tc)
		m := trainOn(t, ds.Train, cfg)
		es := newEvalSet(ds)
		mn, ma := scoreAll(m, es.normal), scoreAll(m, es.attacks)
		b := newLCPBaseline(ds.Train)
		var bn, ba []float64
		for i := range es.normal {
			bn = append(bn, b.score(&es.normal[i]))
		}
		for i := range es.attacks {
			ba = append(ba, b.score(&es.attacks[i]))
		}
		t.Logf("TUT model %.4f base %.4f", auc(mn, ma), auc(bn, ba))
		bySrc := map[ipnet.Source][2][]float64{}
		for i, e := range es.normal {
			v := bySrc[e.Source]
			v[0], v[1] = append(v[0], mn[i]), append(v[1], bn[i])
			bySrc[e.Source] = v
		}
		for s, v := range bySrc {
			t.Logf("  normal %-13s n=%5d model AUC %.4f baseline AUC %.4f", s, len(v[0]), auc(v[0], ma), auc(v[1], ba))
		}
	}
	if os.Getenv("X_RUN") == "org" || os.Getenv("X_RUN") == "both" {
		ds, _ := ipnet.Org(ipnet.DefaultOrgConfig())
		m := trainOn(t, ds.Train, cfg)
		es := newEvalSet(ds)
		mn, ma := scoreAll(m, es.normal), scoreAll(m, es.attacks)
		b := newLCPBaseline(ds.Train)
		var bn, ba []float64
		for i := range es.normal {
			bn = append(bn, b.score(&es.normal[i]))
		}
		for i := range es.attacks {
			ba = append(ba, b.score(&es.attacks[i]))
		}
		t.Logf("ORG model %.4f base %.4f", auc(mn, ma), auc(bn, ba))
		bySrc := map[ipnet.Source][2][]float64{}
		for i, e := range es.normal {
			v := bySrc[e.Source]
			v[0], v[1] = append(v[0], mn[i]), append(v[1], bn[i])
			bySrc[e.Source] = v
		}
		for s, v := range bySrc {
			t.Logf("  normal %-13s n=%5d model AUC %.4f baseline AUC %.4f", s, len(v[0]), auc(v[0], ma), auc(v[1], ba))
		}
		ab := map[ipnet.Source][2][]float64{}
		for i, e := range es.attacks {
			v := ab[e.Source]
			v[0], v[1] = append(v[0], ma[i]), append(v[1], ba[i])
			ab[e.Source] = v
		}
		for s, v := range ab {
			t.Logf("  attack %-16s n=%5d model AUC %.4f baseline AUC %.4f", s, len(v[0]), auc(mn, v[0]), auc(bn, v[1]))
		}
	}
}
