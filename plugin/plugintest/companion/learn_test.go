package companion

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/models/train/traintest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors/ecs"
)

// probes are two CloudTrail records: the moving person at a never-used address of the new
// network, and an attack on a service role from elsewhere. seq numbers their event IDs.
func probes(t *testing.T, s *traintest.Moving, seq int) flbtest.Chunk {
	t.Helper()
	at := time.Now().UTC().Format(time.RFC3339)
	record := func(id int, typ, principal, ip string) plugintest.Body {
		return plugintest.Body{Kind: ecs.KindCloudTrail, Map: map[string]any{
			"eventVersion": "1.08", "eventTime": at, "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
			"awsRegion": "us-east-1", "sourceIPAddress": ip, "eventID": fmt.Sprintf("ct-%08d", id), "recipientAccountId": s.Account,
			"userIdentity": map[string]any{"type": typ, "principalId": principal, "accountId": s.Account},
		}}
	}
	data, err := plugintest.Chunk([]plugintest.Body{
		record(seq, "IAMUser", s.Person, s.Probe.String()),
		record(seq+1, "AssumedRole", s.Other+":session", s.Attack.String()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return flbtest.Chunk{Tag: "aws.cloudtrail", Data: data}
}

// TestLearnsFromElasticsearch: with the model of a week ago, a person's new network scores as an
// anomaly; `siemscore train --from-es` retrains from the documents in Elasticsearch, where the
// person has used that network for a week, and publishes to the models index; the running
// plugin's companion picks the version up, the plugin swaps it in, and the same network then
// scores as normal for the person while an attack on a service role still scores high.
func TestLearnsFromElasticsearch(t *testing.T) {
	so, cli := binaries(t)
	e := newEnv(t)
	s := traintest.Index(t, e.url)

	// The bundle of a week ago, published as fresh so the companion does not retrain by itself.
	read := train.DefaultESConfig()
	read.CloudTrailIndex, read.KerberosIndex, read.Window = s.CloudTrail, s.Kerberos, 21*24*time.Hour
	weekAgo, _, err := train.ReadES(context.Background(), e.es, read, s.Now.Add(-7*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := train.Train(context.Background(), weekAgo, train.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := bundle.NextVersion(bundle.Version{}, time.Now().Add(-time.Minute))
	b0, err := old.At(v0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := train.Validate(b0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.put(b0, data)

	ns := readertest.Namespace(t, e.url)
	h, log := startHost(t, flbtest.Config{
		Plugin: so, Instances: []flbtest.Instance{{Props: e.props(cli, ns, "a", t.TempDir(), "24h")}},
		RetryLimit: "no_limits", RetryBase: 100 * time.Millisecond, RetryCap: time.Second,
	})
	waitFor(t, time.Minute, "the bundle of a week ago", func() bool { return swappedTo(log, v0.String()) })
	if err := h.Send(probes(t, s, 90000000)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the first probes", func() bool { return len(e.docs(ns)) == 2 })

	out, err := exec.Command(cli, "train", "--from-es", "--es-url", e.url, "--models-index", e.models.Name(),
		"--cloudtrail-index", s.CloudTrail, "--kerberos-index", s.Kerberos, "--window", "504h", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("siemscore train --from-es: %v\n%s", err, out)
	}
	v1 := strings.TrimSpace(string(out))
	if v1 <= v0.String() {
		t.Fatalf("train --from-es published %q, not after %s", v1, v0)
	}
	waitFor(t, time.Minute, "the retrained version", func() bool { return swappedTo(log, v1) })
	if err := h.Send(probes(t, s, 90000002)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the second probes", func() bool { return len(e.docs(ns)) == 4 })

	got := map[int]doc{}
	for _, d := range e.docs(ns) {
		got[d.seq] = d
	}
	before, after, attack := got[90000000], got[90000002], got[90000003]
	t.Logf("person at the new network: %.1f with %s, %.1f with %s; attack on a service role: %.1f (%s was %.1f)",
		before.ipScore, before.version, after.ipScore, after.version, attack.ipScore, attack.version, got[90000001].ipScore)
	switch {
	case before.version != v0.String() || after.version != v1 || attack.version != v1:
		t.Errorf("versions %s, %s, %s; want %s then %s", before.version, after.version, attack.version, v0, v1)
	case before.entity != s.Person || attack.entity != s.Other:
		t.Errorf("entities %q and %q, want %s and %s", before.entity, attack.entity, s.Person, s.Other)
	}
	if before.ipScore < 20 {
		t.Errorf("with the old model the new network scored %.1f: not anomalous", before.ipScore)
	}
	// Normal: below the minor band and a fraction of what it was (models/train's
	// TestRetrainingLearnsFromElasticsearch says why not 0).
	if after.ipScore >= 25 || after.ipScore > before.ipScore/3 {
		t.Errorf("after retraining from Elasticsearch the new network scores %.1f (was %.1f): not normal", after.ipScore, before.ipScore)
	}
	if attack.ipScore < 50 {
		t.Errorf("after retraining the attack scores only %.1f", attack.ipScore)
	}
}
