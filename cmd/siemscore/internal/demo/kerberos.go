package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	krb "github.com/siemscore/siemscore/models/kerberos"

	"github.com/siemscore/siemscore/cmd/siemscore/internal/report"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/processors/ecs"
)

// KerberosSummary is what the Kerberos host model did on the held-out day.
type KerberosSummary struct {
	TrainRequests, Windows, K int
	Silhouette                float64
	// Hosts is the number of source hosts scored on the held-out day; TopLimit is 2% of them,
	// the rank every planted host must reach (the model's acceptance test).
	Hosts, TopLimit int
	Planted         []PlantedHost
	// BenignCritical is the number of hosts without a planted attack whose peak is critical.
	BenignCritical int
}

// PlantedHost is a host that ran a planted attack, and how the model ranked it.
type PlantedHost struct {
	Kind      string
	Host      netip.Addr
	Requests  int // the attack's requests
	Rank      int // 1 = the most anomalous host of the day
	ScoreNorm float64
	Reasons   []string
}

// hostPeak is a host's most anomalous record of the held-out day and its features then.
type hostPeak struct {
	scoreNorm, distance float64
	cluster             int
	requests, servers   float64
	reasons             []string
}

// kerberosScenario is the Active Directory domain's Zeek kerberos.log (models/synth/kerberos): day one
// trains the model, day two, with a spray, a kerberoast and a brute force, is scored after day
// one has warmed the Scorer's host windows.
type kerberosScenario struct {
	ds    *synthkrb.Dataset
	split time.Time
	peaks map[netip.Addr]*hostPeak
	model *krb.Model
}

func newKerberosScenario(cfg Config) (*kerberosScenario, error) {
	kc := synthkrb.Config{
		Seed:            cfg.Seed,
		Duration:        48 * time.Hour,
		Attacks:         synthkrb.StandardAttacks(24 * time.Hour),
		Workstations:    scaled(600, cfg.Scale, 30),
		AppServers:      scaled(24, cfg.Scale, 4),
		FileServers:     scaled(6, cfg.Scale, 2),
		TerminalServers: scaled(3, cfg.Scale, 1),
	}
	ds, err := synthkrb.Generate(kc)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if len(ds.Records) == 0 {
		return nil, fmt.Errorf("demo: the Kerberos generator produced no records")
	}
	split := ds.Records[0].Time.Truncate(24 * time.Hour).Add(24 * time.Hour)
	return &kerberosScenario{ds: ds, split: split, peaks: map[netip.Addr]*hostPeak{}}, nil
}

func (s *kerberosScenario) collect(col *train.Collector) {
	for i := range s.ds.Records {
		if s.ds.Records[i].Time.Before(s.split) {
			col.AddKerberos(s.ds.Records[i].Request)
		}
	}
}

func (s *kerberosScenario) evaluate(ctx context.Context, r *run, res *train.Result) (KerberosSummary, error) {
	m := res.Kerberos
	s.model = m
	sum := KerberosSummary{Windows: m.Samples(), K: m.K(), Silhouette: m.Silhouette()}
	for i := range s.ds.Records {
		if s.ds.Records[i].Time.Before(s.split) {
			sum.TrainRequests++
		}
	}
	unscored := 0
	err := r.stream(ctx, "kerberos", func(w io.Writer) error { return synthkrb.WriteZeekJSON(w, s.ds.Records) },
		func(_ int, rec *ecs.Record) {
			if rec.Kind != ecs.KindKerberos || rec.Doc.Timestamp.Before(s.split) {
				return // day one only warms the host windows up
			}
			k := &rec.Doc.SiemScore.Kerberos
			if k.Status != ecs.PartScored || rec.Doc.Source == nil || k.Features == (ecs.KerberosFeatures{}) {
				unscored++
				return
			}
			host := rec.Doc.Source.IP
			p := s.peaks[host]
			if p == nil {
				p = &hostPeak{scoreNorm: -1}
				s.peaks[host] = p
			}
			if k.ScoreNorm.V > p.scoreNorm || k.ScoreNorm.V == p.scoreNorm && k.Distance.V > p.distance {
				*p = hostPeak{scoreNorm: k.ScoreNorm.V, distance: k.Distance.V, cluster: int(k.Cluster.V),
					requests: k.Features.Requests, servers: k.Features.DistinctServers, reasons: k.Reasons}
			}
		})
	if err != nil {
		return sum, err
	}
	if unscored > 0 {
		return sum, fmt.Errorf("demo: kerberos: %d held-out records were not scored", unscored)
	}
	hosts := s.ranked()
	sum.Hosts = len(hosts)
	sum.TopLimit = int(math.Ceil(0.02 * float64(len(hosts))))
	planted := map[netip.Addr]bool{}
	for _, pl := range s.ds.Planted {
		if pl.Start.Before(s.split) {
			continue
		}
		planted[pl.Host] = true
		ph := PlantedHost{Kind: pl.Kind.String(), Host: pl.Host, Requests: pl.Requests, Rank: slices.Index(hosts, pl.Host) + 1}
		if p := s.peaks[pl.Host]; p != nil {
			ph.ScoreNorm, ph.Reasons = p.scoreNorm, p.reasons
		}
		sum.Planted = append(sum.Planted, ph)
	}
	for h, p := range s.peaks {
		if !planted[h] && p.scoreNorm >= 75 {
			sum.BenignCritical++
		}
	}
	return sum, nil
}

// ranked returns the held-out day's hosts, most anomalous first: by peak score_norm, ties
// (the calibrated scale caps at 100) broken by the distance to the cluster, then by address.
func (s *kerberosScenario) ranked() []netip.Addr {
	hosts := make([]netip.Addr, 0, len(s.peaks))
	for h := range s.peaks {
		hosts = append(hosts, h)
	}
	slices.SortFunc(hosts, func(a, b netip.Addr) int {
		pa, pb := s.peaks[a], s.peaks[b]
		return cmp.Or(cmp.Compare(pb.scoreNorm, pa.scoreNorm), cmp.Compare(pb.distance, pa.distance), a.Compare(b))
	})
	return hosts
}

func (s *kerberosScenario) section(sum *Summary) (report.Section, error) {
	k := sum.Kerberos
	sec := report.Section{
		ID:    "kerberos",
		Title: "Kerberos host model (Zeek kerberos.log)",
		Text: fmt.Sprintf(`A Windows domain's Kerberos traffic over two days: workstations, application, file and terminal servers and domain controllers. The model clustered day one's hosts hour by hour (%d host windows, k = %d chosen by silhouette %.3f); day two, with a password spray, a kerberoast and a brute force planted on three workstations, streamed through the Scorer after day one had filled its sliding windows.

The notebook plotted hosts by distinct responders against request count, coloured by k-means cluster; here each host is drawn at its most anomalous moment of day two, ringed if it ran a planted attack.`,
			k.Windows, k.K, k.Silhouette),
		Facts: []report.Fact{
			{Name: "Training requests", Value: fmt.Sprint(k.TrainRequests)},
			{Name: "Hosts scored on day two", Value: fmt.Sprintf("%d (top 2%% = rank ≤ %d)", k.Hosts, k.TopLimit)},
			{Name: "Other hosts reaching critical", Value: fmt.Sprint(k.BenignCritical)},
		},
	}
	byCluster := map[int][]report.Point{}
	type agg struct {
		hosts, critical   int
		requests, servers float64
	}
	stats := map[int]*agg{}
	for h, p := range s.peaks {
		byCluster[p.cluster] = append(byCluster[p.cluster], report.Point{X: p.servers + jitter(h), Y: p.requests})
		a := stats[p.cluster]
		if a == nil {
			a = &agg{}
			stats[p.cluster] = a
		}
		a.hosts++
		a.requests += p.requests
		a.servers += p.servers
		if p.scoreNorm >= 75 {
			a.critical++
		}
	}
	clusters := make([]int, 0, len(byCluster))
	for c := range byCluster {
		clusters = append(clusters, c)
	}
	slices.Sort(clusters)
	var groups []report.Group
	ct := report.Table{Caption: "Clusters on day two (as the notebook's groupby: mean and count)", Header: []string{"cluster", "share of training windows", "hosts", "mean requests", "mean distinct servers", "critical hosts"}}
	for _, c := range clusters {
		groups = append(groups, report.Group{Name: fmt.Sprintf("cluster %d", c), Points: byCluster[c]})
		a := stats[c]
		ct.Rows = append(ct.Rows, []string{fmt.Sprint(c), fmt.Sprintf("%.1f%%", 100*s.model.ClusterFraction(c)), fmt.Sprint(a.hosts),
			fmt.Sprintf("%.1f", a.requests/float64(a.hosts)), fmt.Sprintf("%.1f", a.servers/float64(a.hosts)), fmt.Sprint(a.critical)})
	}
	var highlights []report.Label
	pt := report.Table{Caption: "Planted attackers", Header: []string{"attack", "host", "attack requests", "rank", "peak score_norm", "reasons"}}
	for _, p := range k.Planted {
		if pk := s.peaks[p.Host]; pk != nil {
			highlights = append(highlights, report.Label{Text: p.Kind, X: pk.servers + jitter(p.Host), Y: pk.requests})
		}
		pt.Rows = append(pt.Rows, []string{p.Kind, p.Host.String(), fmt.Sprint(p.Requests), fmt.Sprintf("%d of %d", p.Rank, k.Hosts),
			fmt.Sprintf("%.1f", p.ScoreNorm), strings.Join(p.Reasons, ", ")})
	}
	fig, err := report.Scatter(report.ScatterSpec{
		ID: "kerberos-clusters", Title: "Kerberos hosts by cluster (day two, each at its most anomalous window)",
		XLabel: "distinct responders (id.resp_h) in the window", YLabel: "requests in the window", LogY: true,
		Caption:    "Distinct responders against requests per source host, coloured by the cluster that explains the host best; the planted attackers are ringed. Responder counts are whole numbers: points are spread by up to ±0.2 so that hosts with equal values stay visible.",
		Groups:     groups,
		Highlights: highlights,
	})
	if err != nil {
		return sec, err
	}
	sec.Figures = []report.Figure{fig}
	sec.Tables = []report.Table{pt, ct}
	return sec, nil
}

// jitter spreads hosts with equal (whole) responder counts apart in the scatter plot, by a
// fixed amount per host so the figure is the same on every run.
func jitter(h netip.Addr) float64 {
	b := h.As16()
	return (float64(xxhash.Sum64(b[:])%1000)/999 - 0.5) * 0.4
}
