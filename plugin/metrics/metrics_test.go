package metrics_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/metrics"
	"github.com/siemscore/siemscore/processors/ecs"
)

func TestCountersAndEndpoint(t *testing.T) {
	m := metrics.New()
	m.Swapped("20261123T100000Z.0000", time.Now().Add(-time.Hour))
	m.Swapped("20261123T110000Z.0000", time.Now().Add(-90*time.Second))
	m.Rejected()
	m.Restarted()
	m.Restarted()
	for _, s := range []string{ecs.ModelScored, ecs.ModelScored, ecs.ModelScored, ecs.ModelUntrained, ecs.ModelNoModel} {
		m.Record(s)
	}
	s := m.Snapshot()
	if s.Version != "20261123T110000Z.0000" || s.Swaps != 2 || s.Rejected != 1 || s.Restarts != 2 ||
		s.Scored != 3 || s.Untrained != 1 || s.Unsupported != 1 || s.Age < 90*time.Second || s.Age > 10*time.Minute {
		t.Fatalf("snapshot %+v", s)
	}

	srv, err := m.Serve("127.0.0.1:0", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := http.Get("http://" + srv.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`siemscore_model_info{version="20261123T110000Z.0000"} 1`,
		"siemscore_model_swaps_total 2",
		"siemscore_model_bundles_rejected_total 1",
		"siemscore_companion_restarts_total 2",
		"siemscore_records_scored_total 3",
		`siemscore_records_unscored_total{reason="untrained"} 1`,
		`siemscore_records_unscored_total{reason="unsupported"} 1`,
		"siemscore_model_age_seconds 9",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), `version="20261123T100000Z.0000"`) {
		t.Error("the replaced version is still exported")
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + srv.Addr().String() + "/metrics"); err == nil {
		t.Error("the endpoint still answers after Close")
	}
}
