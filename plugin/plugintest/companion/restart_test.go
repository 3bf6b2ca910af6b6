package companion

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/plugin/flblog/flblogtest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/processors/ecs"
)

var swapLine = regexp.MustCompile(`model bundle swapped in version=(\S+) source=(\S+)`)

// swaps lists the versions the plugin's log says were swapped in, with where they came from.
func swaps(log *flblogtest.Buffer) (versions, sources []string) {
	for _, m := range swapLine.FindAllStringSubmatch(log.String(), -1) {
		versions, sources = append(versions, m[1]), append(sources, m[2])
	}
	return versions, sources
}

// TestKill9MidStream kills the companion with SIGKILL while records flow: scoring goes on with
// the installed bundle, the plugin restarts the companion, and the restarted companion's next
// retraining from Elasticsearch publishes a version the plugin swaps in. No record is lost or
// duplicated, and no companion outlives Fluent Bit.
func TestKill9MidStream(t *testing.T) {
	so, cli := binaries(t)
	e := newEnv(t)

	// Training data: two small organisations over the last ten days.
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 2, 12, 10, 9
	cfg.Start = time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
	data, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ipnet.WriteCloudTrail(&buf, 7, data.Train); err != nil {
		t.Fatal(err)
	}
	dataNS := readertest.Namespace(t, e.url)
	readertest.Deliver(t, e.url, dataNS, readertest.Records(t, readertest.JSONLines(t, &buf), nil))

	// The published bundle was trained 40 s ago and the retraining period is a minute, so the
	// next retraining is due 20 s after the start: the first companion is killed long before
	// that, and the one that replaces it is the one to retrain.
	trained := time.Now().UTC().Add(-40 * time.Second).Truncate(time.Second)
	v1 := bundle.Version{Time: trained}
	b1, err := bundle.New(bundle.Header{Version: v1, TrainedAt: trained, WindowStart: trained.AddDate(0, 0, -7), WindowEnd: trained},
		bundle.IPPart(bundletest.Model(t)))
	if err != nil {
		t.Fatal(err)
	}
	e.put(b1, bundletest.Encode(t, b1))

	ns := readertest.Namespace(t, e.url)
	props := e.props(cli, ns, "a", t.TempDir(), "1m",
		"--cloudtrail-index", readertest.Stream(ecs.KindCloudTrail, dataNS),
		"--kerberos-index", readertest.Stream(ecs.KindKerberos, dataNS), "--window", "264h")
	h, log := startHost(t, flbtest.Config{
		Plugin: so, Instances: []flbtest.Instance{{Props: props}},
		Interval: 30 * time.Millisecond, RetryLimit: "no_limits", RetryBase: 100 * time.Millisecond, RetryCap: time.Second,
	})
	f := startFeeder(t, h, 20, 5000)
	var first int
	waitFor(t, time.Minute, "the companion", func() bool {
		if pids := companions(e.models.Name()); len(pids) == 1 {
			first = pids[0]
		}
		return first != 0
	})
	f.waitSent(t, 10, "before the kill")
	if strings.Contains(log.String(), trainingLine) {
		t.Fatalf("the first companion trained before it could be killed (the machine is too slow for a 20 s margin)")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v; companions now %v", first, err, companions(e.models.Name()))
	}
	killed := time.Now()
	waitFor(t, time.Minute, "a new companion", func() bool {
		pids := companions(e.models.Name())
		return len(pids) == 1 && pids[0] != first
	})
	t.Logf("companion back %v after kill -9", time.Since(killed).Round(time.Millisecond))
	var v2 string
	waitFor(t, 2*time.Minute, "a retrained version", func() bool {
		vs, srcs := swaps(log)
		for i := range vs {
			if vs[i] > v1.String() && srcs[i] == "companion" {
				v2 = vs[i]
			}
		}
		return v2 != ""
	})
	t.Logf("retrained version %s swapped in %v after the kill", v2, time.Since(killed).Round(time.Millisecond))
	waitFor(t, time.Minute, "records scored by the retrained version", func() bool { return e.scoredBy(ns, v2) })
	records := f.stop(t)
	if _, err := h.Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "no companion left", func() bool { return len(companions(e.models.Name())) == 0 })

	// The retraining period is a minute: on a slow machine the restarted companion may retrain
	// again before the stream ends. Such later versions are its own, swapped in after v2.
	allowed := []string{v1.String()}
	vs, srcs := swaps(log)
	for i := range vs {
		if vs[i] >= v2 && srcs[i] == "companion" && !slices.Contains(allowed, vs[i]) {
			allowed = append(allowed, vs[i])
		}
	}
	used := e.checkRecords(ns, 0, records, allowed)
	if len(used) < 2 || used[0] != v1.String() || used[1] != v2 {
		t.Errorf("versions in record order %v, want %s then the retrained %s (then only later retrainings %v)", used, v1, v2, allowed[2:])
	}
	restart, training := strings.Index(log.String(), restartLine), strings.Index(log.String(), trainingLine)
	switch {
	case restart < 0:
		t.Error("the restart is not logged")
	case training < restart:
		t.Errorf("the training was not done by the restarted companion (training logged at %d, restart at %d)", training, restart)
	}
	if latest, err := e.models.Latest(t.Context()); err != nil || latest.String() != allowed[len(allowed)-1] {
		t.Errorf("models index latest %v (%v), want the last retrained %s", latest, err, allowed[len(allowed)-1])
	}
}

// The plugin's line about a companion that died, and the companion's at the start of a training.
const (
	restartLine  = "companion stopped; restarting it"
	trainingLine = "training from Elasticsearch"
)
