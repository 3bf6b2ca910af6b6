package reader_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/reader"
	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/processors/ecs"
)

func ipnetBodies(t *testing.T) ([]map[string]any, *ipnet.Dataset) {
	t.Helper()
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Services, cfg.Days, cfg.TrainDays = 2, 6, 2, 6, 5
	ds, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ipnet.WriteCloudTrail(&buf, 1, append(append([]ipnet.Event(nil), ds.Train...), ds.Test...)); err != nil {
		t.Fatal(err)
	}
	return readertest.JSONLines(t, &buf), ds
}

// TestReadIPPairs checks that the scan finds exactly the pairs the scorer would extract from the
// records in the window, whatever the number of slices, and that a bounded sample is a
// deterministic subset of them.
func TestReadIPPairs(t *testing.T) {
	url := estest.URL(t)
	es := readertest.Client(t, url)
	ns := readertest.Namespace(t, url)
	bodies, ds := ipnetBodies(t)
	// A call made by an AWS service on the principal's behalf has no pair.
	bodies = append(bodies, map[string]any{
		"eventVersion": "1.08", "eventTime": ds.Train[0].Time.Format(time.RFC3339), "eventSource": "s3.amazonaws.com",
		"eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "s3.amazonaws.com", "eventID": "svc-1",
		"userIdentity": map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLE:svc", "accountId": "123456789012"},
	})
	recs := readertest.Records(t, bodies, nil)
	readertest.Deliver(t, url, ns, recs)

	start := ds.Train[0].Time.Truncate(24 * time.Hour).Add(24 * time.Hour)
	w := reader.Window{Start: start, End: start.Add(3 * 24 * time.Hour)}
	want := map[score.IPPair]int{}
	inWindow := 0
	for i := range recs {
		d := recs[i].Doc
		if recs[i].Kind != ecs.KindCloudTrail || d.Timestamp.Before(w.Start) || !d.Timestamp.Before(w.End) {
			continue
		}
		inWindow++
		if p, reason := score.IPPairOf(recs[i].Kind, d); reason == "" {
			want[p]++
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d distinct pairs in the window: the scenario is too small to test anything", len(want))
	}

	index := readertest.Stream(ecs.KindCloudTrail, ns)
	for _, slices := range []int{1, 3} {
		got, err := reader.ReadIPPairs(context.Background(), es, reader.IPOptions{
			Index: index, Window: w, MaxPairs: 1 << 20, Slices: slices, PageSize: 97,
		})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[score.IPPair]int{}
		for _, p := range got.Pairs {
			counts[p]++
		}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("slices %d: %d pairs (%d distinct), want %d distinct", slices, len(got.Pairs), len(counts), len(want))
		}
		if got.Docs != int64(len(got.Pairs))+got.Skipped || got.Docs > int64(inWindow) {
			t.Errorf("slices %d: docs %d, pairs %d, skipped %d; %d CloudTrail records in the window", slices, got.Docs, len(got.Pairs), got.Skipped, inWindow)
		}
	}

	var samples [][]score.IPPair
	for _, slices := range []int{1, 2, 4} {
		got, err := reader.ReadIPPairs(context.Background(), es, reader.IPOptions{
			Index: index, Window: w, MaxPairs: 50, Seed: 7, Slices: slices, PageSize: 40,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Pairs) != 50 {
			t.Fatalf("slices %d: sample of %d pairs, want 50", slices, len(got.Pairs))
		}
		for _, p := range got.Pairs {
			if want[p] == 0 {
				t.Errorf("sampled pair %v is not in the data", p)
			}
		}
		samples = append(samples, got.Pairs)
	}
	if !slices.Equal(samples[0], samples[1]) || !slices.Equal(samples[0], samples[2]) {
		t.Error("the bounded sample depends on the number of slices")
	}
}

type dayKey struct {
	pair periodicity.Pair
	day  periodicity.Day
}

// TestReadAPICounts checks the daily counts against the scorer's own extraction of the calls,
// including principals without an ARN, and that a bounded read keeps whole pairs.
func TestReadAPICounts(t *testing.T) {
	url := estest.URL(t)
	es := readertest.Client(t, url)
	ns := readertest.Namespace(t, url)
	cfg := apicalls.DefaultConfig(3)
	cfg.Days, cfg.CronRoles, cfg.Humans, cfg.Burst = 20, 8, 8, apicalls.Burst{}
	ds, err := apicalls.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ds.WriteCloudTrail(&buf); err != nil {
		t.Fatal(err)
	}
	bodies := readertest.JSONLines(t, &buf)
	first := ds.Events[0].Time.Truncate(24 * time.Hour)
	for i := range 30 { // an identity without an ARN counts under its principal ID
		bodies = append(bodies, map[string]any{
			"eventVersion": "1.08", "eventTime": first.Add(time.Duration(i) * 11 * time.Hour).Format(time.RFC3339),
			"eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity", "awsRegion": "us-east-1",
			"sourceIPAddress": "192.0.2.10", "eventID": fmt.Sprintf("noarn-%d", i),
			"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDANOARN", "accountId": "123456789012"},
		})
	}
	recs := readertest.Records(t, bodies, nil)
	readertest.Deliver(t, url, ns, recs)

	w := reader.Window{Start: first.Add(24 * time.Hour), End: first.Add(15 * 24 * time.Hour)}
	want := map[dayKey]int64{}
	for i := range recs {
		call, reason := score.APICallOf(recs[i].Doc, false)
		if recs[i].Kind != ecs.KindCloudTrail || reason != "" || call.Time.Before(w.Start) || !call.Time.Before(w.End) {
			continue
		}
		d, _ := periodicity.DayOf(call.Time)
		want[dayKey{periodicity.Pair{Principal: call.Principal, API: call.API}, d}]++
	}
	if want[dayKey{periodicity.Pair{Principal: "AIDANOARN", API: "GetCallerIdentity"}, periodicity.Day(w.Start.Unix() / 86400)}] == 0 {
		t.Fatal("the principal without an ARN is missing from the expectation")
	}
	index := readertest.Stream(ecs.KindCloudTrail, ns)
	got, err := reader.ReadAPICounts(context.Background(), es, reader.APIOptions{Index: index, Window: w, MaxPairs: 1 << 20, PageSize: 33})
	if err != nil {
		t.Fatal(err)
	}
	have := map[dayKey]int64{}
	pairs := map[periodicity.Pair]bool{}
	for _, c := range got.Counts {
		k := dayKey{periodicity.Pair{Principal: c.Principal, API: c.API}, c.Day}
		if _, dup := have[k]; dup {
			t.Errorf("day %v counted twice", k)
		}
		have[k] = c.Count
		pairs[k.pair] = true
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("read %d day counts, want %d", len(have), len(want))
	}
	if got.Pairs != len(pairs) || int64(got.Pairs) != got.Seen {
		t.Errorf("pairs %d, seen %d; %d distinct pairs read", got.Pairs, got.Seen, len(pairs))
	}

	small, err := reader.ReadAPICounts(context.Background(), es, reader.APIOptions{Index: index, Window: w, MaxPairs: 5, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[periodicity.Pair]int{}
	for _, c := range small.Counts {
		kept[periodicity.Pair{Principal: c.Principal, API: c.API}]++
		if want[dayKey{periodicity.Pair{Principal: c.Principal, API: c.API}, c.Day}] != c.Count {
			t.Errorf("bounded read: %+v does not match the data", c)
		}
	}
	for p, days := range kept {
		n := 0
		for k := range want {
			if k.pair == p {
				n++
			}
		}
		if days != n {
			t.Errorf("bounded read kept %d of pair %v's %d days", days, p, n)
		}
	}
	if small.Pairs != 5 || len(kept) != 5 || small.Seen != got.Seen {
		t.Errorf("bounded read: %d pairs kept (%d distinct) of %d seen, want 5 of %d", small.Pairs, len(kept), small.Seen, got.Seen)
	}
}

type hostWindow struct {
	host netip.Addr
	end  time.Time
}

// TestReadKerberosFeatures checks the aggregated host-window features against the streaming
// state's own tumbling-window features on the same records (kerberos.WindowFeatures), which is
// what the definitions promise: the same numbers, exact wherever the state is exact.
func TestReadKerberosFeatures(t *testing.T) {
	url := estest.URL(t)
	es := readertest.Client(t, url)
	ns := readertest.Namespace(t, url)
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	gen, err := synthkrb.Generate(synthkrb.Config{
		Seed: 5, Start: start, Duration: 24 * time.Hour, Workstations: 60, AppServers: 4, FileServers: 2,
		TerminalServers: 1, DCs: 3, Attacks: synthkrb.StandardAttacks(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := synthkrb.WriteZeekJSON(&buf, gen.Records); err != nil {
		t.Fatal(err)
	}
	recs := readertest.Records(t, readertest.JSONLines(t, &buf), nil)
	readertest.Deliver(t, url, ns, recs)

	var reqs []kerberos.Request
	for i := range recs {
		if r, reason := score.KerberosRequestOf(recs[i].Doc); reason == "" && recs[i].Kind == ecs.KindKerberos {
			reqs = append(reqs, r)
		}
	}
	// Per host window, each responder's requests; per window, each responder's load: a tie for
	// the top responder may be broken either way.
	type dest struct {
		hostWindow
		server netip.Addr
	}
	uses, loads := map[dest]int{}, map[dest]int{}
	for _, r := range reqs {
		end := r.Time.Truncate(time.Hour).Add(time.Hour)
		uses[dest{hostWindow{r.Source, end}, r.Dest}]++
		loads[dest{hostWindow{end: end}, r.Dest}]++
	}
	tiedLoad := func(w kerberos.HostWindow, load float64) bool {
		top := math.Round(w.Features[kerberos.TopServerShare] * w.Features[kerberos.Requests])
		for d, n := range uses {
			if d.hostWindow == (hostWindow{w.Host, w.End}) && float64(n) == top && float64(loads[dest{hostWindow{end: w.End}, d.server}]) == load {
				return true
			}
		}
		return false
	}
	windows, err := kerberos.WindowFeatures(reqs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reader.ReadKerberosFeatures(context.Background(), es, reader.KerberosOptions{
		Index: readertest.Stream(ecs.KindKerberos, ns), MaxSamples: 1 << 20, PageSize: 50,
		// A window that does not start on the hour is cut down to whole hours.
		Window: reader.Window{Start: start.Add(-30 * time.Minute), End: start.Add(25*time.Hour + 10*time.Minute)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Window.Start.Equal(start) || !got.Window.End.Equal(start.Add(25*time.Hour)) {
		t.Errorf("whole-hour window %v, want %v .. +25h", got.Window, start)
	}
	byKey := map[hostWindow]kerberos.Features{}
	for _, s := range got.Samples {
		byKey[hostWindow{s.Host, s.End}] = s.Features
	}
	if len(windows) < 100 {
		t.Fatalf("only %d streaming host windows: the scenario is too small", len(windows))
	}
	exact := 0
	for _, w := range windows {
		f, ok := byKey[hostWindow{w.Host, w.End}]
		if !ok {
			t.Errorf("host %s window ending %s: not read", w.Host, w.End)
			continue
		}
		// Distinct counts are estimated by the streaming state once a host has had more than 8
		// values in a window (its set stays a sketch until the host goes idle), and the top
		// responder is approximate beyond 4 responders.
		sketched := w.Features[kerberos.DistinctServers] > 4
		for i := range kerberos.NumFeatures {
			a, b := f[i], w.Features[i]
			tol := 1e-9
			switch kerberos.Feature(i) {
			case kerberos.DistinctServers, kerberos.DistinctClients, kerberos.DistinctServices, kerberos.WeakCipherServices:
				if a != b {
					sketched = true
					tol = 0.1 * math.Max(b, 1)
				}
			case kerberos.TopServerShare, kerberos.TopServerLoad:
				if w.Features[kerberos.DistinctServers] > 4 {
					tol = 0.2 * math.Max(b, 1)
				}
				if kerberos.Feature(i) == kerberos.TopServerLoad && a != b && tiedLoad(w, a) {
					tol = math.Inf(1)
				}
			}
			if math.Abs(a-b) > tol {
				t.Errorf("host %s window ending %s: %s = %v, streaming state %v", w.Host, w.End, kerberos.Feature(i), a, b)
			}
		}
		if !sketched {
			exact++
		}
	}
	if exact < len(windows)/2 {
		t.Errorf("only %d of %d host windows compared exactly", exact, len(windows))
	}
	// Every host window of the data is read: the streaming reference drops none inside the
	// range but the partial first and last ones, of which the data has none.
	if len(got.Samples) != len(windows) {
		t.Errorf("read %d host windows, the streaming state has %d", len(got.Samples), len(windows))
	}

	small, err := reader.ReadKerberosFeatures(context.Background(), es, reader.KerberosOptions{
		Index: readertest.Stream(ecs.KindKerberos, ns), MaxSamples: 40,
		Window: reader.Window{Start: start, End: start.Add(25 * time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(small.Samples) != 40 || small.Seen != int64(len(got.Samples)) {
		t.Errorf("bounded read: %d samples of %d seen, want 40 of %d", len(small.Samples), small.Seen, len(got.Samples))
	}
	for _, s := range small.Samples {
		if byKey[hostWindow{s.Host, s.End}] != s.Features {
			t.Errorf("bounded read: host %s window %s differs from the full read", s.Host, s.End)
		}
	}
}
