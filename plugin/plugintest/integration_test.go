package plugintest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// stoppedLine is the line the plugin logs when an instance exits, with its totals.
var stoppedLine = regexp.MustCompile(`\[output:siemscore:([^\]]+)\] stopped flushes=(\d+) retries=(\d+) records=(\d+) written=(\d+) duplicates=(\d+) dead_lettered=(\d+) group_markers_skipped=(\d+) build_ms=(\d+) deliver_ms=(\d+)`)

// totals parses the stop line of instance name from the host's stderr.
func totals(t testing.TB, stderr, name string) map[string]int {
	t.Helper()
	for _, m := range stoppedLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] != name {
			continue
		}
		out := map[string]int{}
		for i, k := range []string{"flushes", "retries", "records", "written", "duplicates", "dead_lettered", "group_markers", "build_ms", "deliver_ms"} {
			out[k], _ = strconv.Atoi(m[i+2])
		}
		return out
	}
	t.Fatalf("no stop line for %s in:\n%s", name, stderr)
	return nil
}

// TestMixedRecordsExactlyOnce sends 100,000 generated records of the four kinds plus every real
// record of the shared data, in chunks with OpenTelemetry group markers, through 4 concurrent
// flush threads, and checks that Elasticsearch ends up with every record exactly once, with its
// fields, and with no group marker.
func TestMixedRecordsExactlyOnce(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ns := estest.Namespace(t)

	bodies := plugintest.Mixed(100_000)
	real, err := plugintest.RealBodies()
	switch {
	case errors.Is(err, plugintest.ErrNoRealData):
		t.Logf("the real-data part is skipped: %v", err)
	case err != nil:
		t.Fatal(err)
	default:
		t.Logf("adding %d real records from ../shared/data", len(real))
		bodies = append(bodies, real...)
	}
	want := expectedDocs(t, bodies)
	chunks := chunking(t, bodies, 500, 3, "aws.mixed")

	var stderr strings.Builder
	sum, err := flbtest.Run(context.Background(), flbtest.Config{
		Plugin:     so,
		Instances:  []flbtest.Instance{{Props: map[string]string{"es_hosts": db.url, "es_namespace": ns}}},
		Workers:    4,
		RetryLimit: "no_limits",
		RetryBase:  200 * time.Millisecond,
		RetryCap:   2 * time.Second,
		Stderr:     &stderr,
	}, chunks...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != uint64(len(chunks)) || sum.Dropped != 0 || sum.MaxAttempts > 1 {
		t.Errorf("host: %d of %d chunks delivered, %d dropped, max attempts %d", sum.Delivered, len(chunks), sum.Dropped, sum.MaxAttempts)
	}
	if ins := sum.Instances[0]; ins.MaxConcurrent < 2 {
		t.Errorf("flushes never overlapped (max concurrent %d): the test does not exercise workers", ins.MaxConcurrent)
	}
	tot := totals(t, stderr.String(), "siemscore.0")
	if tot["group_markers"] != 2*((len(chunks)+2)/3) || tot["records"] != len(bodies) {
		t.Errorf("plugin totals %v; want %d records and %d group markers skipped", tot, len(bodies), 2*((len(chunks)+2)/3))
	}
	checkExactlyOnce(t, db, ns, want)

	// Sample documents of each kind carry their fields.
	// Sample documents, found by the markers of the first body of each kind (plugintest.Mixed).
	ct := db.byMarker(target.DataStream("cloudtrail", ns), "event.id", plugintest.CloudTrail(0)["eventID"])
	gd := db.byMarker(target.DataStream("guardduty", ns), "aws.guardduty.id", plugintest.GuardDuty(1)["id"])
	krb := db.byMarker(target.DataStream("kerberos", ns), "event.id", plugintest.Kerberos(2)["uid"])
	gen := db.byMarker(target.DataStream("generic", ns), "seq", plugintest.Generic(3)["seq"])
	for name, check := range map[string]struct {
		doc    map[string]any
		fields []string
	}{
		"cloudtrail": {ct, []string{"@timestamp", "event.action", "event.provider", "cloud.region", "user.name"}},
		"guardduty":  {gd, []string{"@timestamp", "rule.name", "event.kind", "cloud.account.id"}},
		"kerberos":   {krb, []string{"@timestamp", "source.ip", "destination.ip", "event.action"}},
		"generic":    {gen, []string{"@timestamp", "ecs.version"}},
	} {
		for _, f := range check.fields {
			if field(check.doc, f) == nil {
				t.Errorf("%s document lacks %s: %v", name, f, check.doc)
			}
		}
		if got := field(check.doc, "data_stream.dataset"); got != "siemscore."+name {
			t.Errorf("%s document: data_stream.dataset %v", name, got)
		}
		// Without a bundle the scored kinds are "untrained"; generic records have no model.
		status := "untrained"
		if name == "generic" {
			status = "unsupported"
		}
		if got := field(check.doc, "siemscore.model.status"); got != status {
			t.Errorf("%s document: siemscore.model.status %v, want %s (no bundle configured)", name, got, status)
		}
	}
	// A generated CloudTrail record carries exactly the values it was made from.
	hits := db.search(target.DataStream("cloudtrail", ns), `event.id:"ct-00000004"`, 2)
	if len(hits) != 1 {
		t.Fatalf("event ct-00000004: %d documents", len(hits))
	}
	src := plugintest.CloudTrail(4)
	for path, want := range map[string]any{
		"event.action": src["eventName"], "source.ip": src["sourceIPAddress"], "cloud.region": "eu-west-1",
		"user.name": "user4", "@timestamp": "2026-11-23T10:00:04Z",
	} {
		if got := field(hits[0], path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ct-00000004: %s = %v, want %v", path, got, want)
		}
	}
	// Group markers would have become generic documents; none did.
	if n := len(db.search(target.DataStream("generic", ns), `resource.service.name:collector OR schema:otlp`, 1)); n != 0 {
		t.Error("a group marker was shipped")
	}
}

// TestBadConfigurationFailsInit checks that Fluent Bit would not start with a bad value or a
// mistaken key, that the message names the key and what it accepts, and that the instances
// that did start are shut down cleanly (ExitCtx, also for the ones never started).
func TestBadConfigurationFailsInit(t *testing.T) {
	so := plugin(t)
	corrupt := filepath.Join(t.TempDir(), "model.bundle")
	if err := os.WriteFile(corrupt, []byte("a model bundle, honest"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(t.TempDir(), "unsigned.bundle")
	if _, err := plugintest.PublishBundle(unsigned, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), nil); err != nil {
		t.Fatal(err)
	}
	const bundleKey = "Bundle-Key-Secret-31337"
	for _, tc := range []struct {
		name  string
		props map[string]string
		says  []string
	}{
		{"bad value", map[string]string{"es_timeout": "soon"}, []string{`es_timeout: invalid value "soon": accepted: a number of seconds`}},
		// HTTP_User and HTTP_Passwd are read as es_user/es_password (TestESSectionUnderSiemscore);
		// es output keys with no counterpart still stop Init.
		{"es output key", map[string]string{"logstash_format": "on", "suppress_type_name": "on"}, []string{"logstash_format: not a siemscore key; use es_namespace", "suppress_type_name: not a siemscore key; use nothing"}},
		{"plural slip", map[string]string{"es_host": "http://127.0.0.1:9200"}, []string{"es_host: not a siemscore key; use es_hosts"}},
		// Found by probing every name one edit away through FLBPluginConfigKey, case-insensitively.
		{"typo", map[string]string{"ES_HOTS": "http://es:9200", "dead-letter-path": "/tmp/x"}, []string{"es_hots: not a siemscore key; did you mean es_hosts?", "dead-letter-path: not a siemscore key; did you mean dead_letter_path?"}},
		{"record type", map[string]string{"record_type": "vpcflow"}, []string{"record_type: \"vpcflow\": accepted: auto, generic, cloudtrail, guardduty, kerberos"}},
		{"missing bundle", map[string]string{"model_bundle": "/nonexistent/model.bundle"}, []string{"model_bundle: stat /nonexistent/model.bundle: no such file or directory"}},
		{"corrupt bundle", map[string]string{"model_bundle": corrupt}, []string{`start failed; Fluent Bit will not start error="model_bundle: ` + corrupt + `: bundle: not a siemscore bundle (bad magic)"`}},
		{"unsigned bundle with a key", map[string]string{"model_bundle": unsigned, "model_bundle_key": bundleKey}, []string{`start failed; Fluent Bit will not start error="model_bundle: ` + unsigned + `: bundle signature missing: unsigned bundles are rejected when a key is configured"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := map[string]string{"es_hosts": "http://127.0.0.1:1", "es_template_install": "off"}
			_, err := flbtest.Run(context.Background(), flbtest.Config{
				Plugin:    so,
				Instances: []flbtest.Instance{{Props: good}, {Props: tc.props}, {Props: good}},
			})
			var ee *flbtest.ExitError
			if !errors.As(err, &ee) || ee.Code != 3 {
				t.Fatalf("host: %v, want exit code 3 (Init failed)", err)
			}
			if ee.Summary.FailedInstance != "siemscore.1" {
				t.Errorf("failed instance %q, want siemscore.1", ee.Summary.FailedInstance)
			}
			for _, want := range tc.says {
				if !strings.Contains(ee.Stderr, "[error] [output:siemscore:siemscore.1] ") || !strings.Contains(ee.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, ee.Stderr)
				}
			}
			if strings.Contains(ee.Stderr, "changeme") || strings.Contains(ee.Stderr, bundleKey) {
				t.Errorf("stderr shows a password:\n%s", ee.Stderr)
			}
			// The first instance started and was stopped; the third never started.
			if !strings.Contains(ee.Stderr, "[output:siemscore:siemscore.0] stopped") {
				t.Errorf("instance 0 was not stopped:\n%s", ee.Stderr)
			}
		})
	}
}

// malformedChunks are inputs a broken or hostile sender could produce. None may crash the host;
// the good records among them must be delivered and the rest dead-lettered with the reason.
func malformedChunks(t *testing.T) (chunks []flbtest.Chunk, good []plugintest.Body, bad int) {
	t.Helper()
	add := func(build func(e *decodetest.Encoder)) {
		var e decodetest.Encoder
		build(&e)
		data, err := e.Chunk()
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, flbtest.Chunk{Tag: "bad", Data: data})
	}
	next := func() plugintest.Body {
		b := plugintest.Mixed(len(good) + 1)[len(good)]
		good = append(good, b)
		return b
	}
	ts := decodetest.EventTime(plugintest.Base)
	add(func(e *decodetest.Encoder) { e.Raw([]byte("\xc1 is never used in msgpack")); bad++ })
	add(func(e *decodetest.Encoder) {
		e.V2(ts, nil, next().Map)
		e.Raw([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}) // map32 declaring 4G entries, then nothing
		bad++
	})
	add(func(e *decodetest.Encoder) {
		e.Value("a string, not an event")
		e.Value([]any{1, 2, 3})
		e.Value([]any{ts, "body is a string"})
		e.Value([]any{[]any{ts}, map[string]any{}})                      // v2 header without metadata
		e.Value([]any{decodetest.FloatSeconds(1e300), map[string]any{}}) // timestamp out of range
		bad += 5
		e.V1(ts, next().Map)
	})
	add(func(e *decodetest.Encoder) {
		deep := map[string]any{"x": 1}
		for range 100 {
			deep = map[string]any{"n": deep}
		}
		e.V2(ts, nil, deep) // nesting too deep
		bad++
		e.V2(ts, nil, next().Map)
	})
	add(func(e *decodetest.Encoder) {}) // empty chunk
	add(func(e *decodetest.Encoder) {
		e.V2(ts, nil, next().Map)
		e.Raw([]byte{0x92, 0xd7, 0x00, 1, 2}) // truncated in the timestamp
		bad++
	})
	return chunks, good, bad
}

// TestMalformedChunksNeverCrashTheHost also runs two instances with different settings side by
// side: one writing per-type data streams, one writing everything as generic records into one
// index.
func TestMalformedChunksAndTwoInstances(t *testing.T) {
	db := newES(t)
	so := plugin(t)
	ns := estest.Namespace(t)
	index := "logs-siemscore.flat-" + ns // covered by the plugin's templates
	t.Cleanup(func() { estest.DeleteDataStream(t, index) })
	chunks, good, bad := malformedChunks(t)
	bundlePath := filepath.Join(t.TempDir(), "model.bundle")
	model, err := plugintest.PublishBundle(bundlePath, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}

	var stderr strings.Builder
	sum, err := flbtest.Run(context.Background(), flbtest.Config{
		Plugin: so,
		Instances: []flbtest.Instance{
			{Props: map[string]string{"es_hosts": db.url, "es_namespace": ns, "model_bundle": bundlePath}},
			{Props: map[string]string{"es_hosts": db.url, "es_index": index, "es_namespace": ns, "record_type": "generic", "plugin_alias": "flat"}},
		},
		Workers:    2,
		Stack:      flbtest.StackCoro,
		RetryLimit: "3",
		RetryBase:  100 * time.Millisecond,
		Stderr:     &stderr,
	}, chunks...)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != uint64(2*len(chunks)) || sum.Dropped != 0 {
		t.Errorf("host: %d of %d routes delivered, %d dropped\n%s", sum.Delivered, 2*len(chunks), sum.Dropped, stderr.String())
	}
	want := expectedDocs(t, good)
	checkExactlyOnce(t, db, ns, want)
	// The first instance scores with the bundle; its parts have no model section to use.
	ct := db.byMarker(target.DataStream("cloudtrail", ns), "event.id", plugintest.CloudTrail(0)["eventID"])
	if field(ct, "siemscore.model.status") != "scored" || field(ct, "siemscore.model.version") != model.VersionString() {
		t.Errorf("CloudTrail document scored as %v by %v, want scored by %s", field(ct, "siemscore.model.status"), field(ct, "siemscore.model.version"), model.VersionString())
	}
	if tot := totals(t, stderr.String(), "siemscore.0"); tot["dead_lettered"] != bad || tot["records"] != len(good) || tot["written"] != len(good) {
		t.Errorf("siemscore.0 totals %v; want %d records written and %d dead-lettered", tot, len(good), bad)
	}
	// The second instance writes every body as it is into one index, where fields of the same
	// name but different types (GuardDuty's service object, Zeek's service string) collide:
	// Elasticsearch refuses the later one, and it is dead-lettered with the reason.
	flat := totals(t, stderr.String(), "flat")
	refused := flat["dead_lettered"] - bad
	if flat["records"] != len(good) || refused < 0 || flat["written"]+refused != len(good) {
		t.Errorf("flat totals %v; want %d records, written or refused, and %d undecodable dead-lettered", flat, len(good), bad)
	}
	if got := db.ids(index); len(got) != flat["written"] {
		t.Errorf("index %s holds %d documents, want %d", index, len(got), flat["written"])
	}
	// Undecodable input gets the same dead-letter _id from both instances: one document each.
	letters := db.search(target.DeadLetter(ns), "*", 100)
	if len(letters) != bad+refused {
		t.Errorf("%d dead letters, want %d undecodable + %d refused", len(letters), bad, refused)
	}
	var decodeErrors int
	for _, l := range letters {
		msg, _ := field(l, "error.message").(string)
		orig, _ := field(l, "siemscore.deadletter.original").(string)
		if msg == "" || orig == "" {
			t.Errorf("dead letter without a reason or the original: %v", l)
		}
		switch field(l, "error.type") {
		case "decode_error":
			decodeErrors++
		default:
			if fmt.Sprint(field(l, "siemscore.deadletter.status")) != "400" || field(l, "siemscore.deadletter.index") != index {
				t.Errorf("refused record's dead letter: %v", l)
			}
		}
	}
	if decodeErrors != bad {
		t.Errorf("%d decode_error dead letters, want %d", decodeErrors, bad)
	}
}
