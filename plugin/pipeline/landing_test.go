package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/template"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
	"github.com/siemscore/siemscore/plugin/config"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
)

// The integration landing, against the real Elasticsearch. Every test here writes to the real
// integration data streams (logs-aws.cloudtrail-*, ...) in namespaces of its own; no other
// package writes there, and these tests run one after another.

// es is a tiny JSON client for checking Elasticsearch from the outside.
type es struct {
	t   *testing.T
	url string
}

func (c es) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if res.StatusCode >= 300 && out == nil {
		c.t.Fatalf("%s %s: HTTP %d: %s", method, path, res.StatusCode, data)
	}
	return res.StatusCode
}

// onThisServer replaces the field types the test server lacks with the ones its README names:
// constant_keyword → keyword, match_only_text → text.
func onThisServer(m any) any {
	switch x := m.(type) {
	case map[string]any:
		for k, v := range x {
			switch v {
			case "constant_keyword":
				x[k] = "keyword"
			case "match_only_text":
				x[k] = "text"
			default:
				x[k] = onThisServer(v)
			}
		}
	case []any:
		for i := range x {
			x[i] = onThisServer(x[i])
		}
	}
	return m
}

// installElastics installs, for namespace ns, what Fleet installs for an integration's data
// stream when a policy sets a namespace: an index template logs-<dataset>-<ns> (priority 250)
// composing the integration's mappings (testdata/integration: the types of its fields/*.yml)
// and the dataset's @custom component template, with a default pipeline that expects the raw
// event in `message` (here one that does not exist, so a document that went through it would
// fail) and a final pipeline (an empty one, whose runs Elasticsearch counts).
func installElastics(c es, dataset, ns, final string) {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "integration", dataset+".json"))
	if err != nil {
		c.t.Fatal(err)
	}
	var fixture struct {
		Mappings map[string]any `json:"mappings"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		c.t.Fatal(err)
	}
	pkg := "sstest-" + ns + "-" + dataset + "@package"
	c.do(http.MethodPut, "/_component_template/"+pkg, map[string]any{"template": map[string]any{
		"settings": map[string]any{
			"index.default_pipeline":   "logs-" + dataset + "-0.0.0-absent",
			"index.final_pipeline":     final,
			"index.number_of_replicas": 0,
		},
		"mappings": onThisServer(fixture.Mappings),
	}}, nil)
	c.do(http.MethodPut, "/_index_template/logs-"+dataset+"-"+ns, map[string]any{
		"index_patterns":                     []string{"logs-" + dataset + "-" + ns + "*"},
		"priority":                           250,
		"data_stream":                        map[string]any{},
		"composed_of":                        []string{pkg, template.CustomFor(dataset)},
		"ignore_missing_component_templates": []string{template.CustomFor(dataset)},
		"_meta":                              map[string]any{"managed_by": "fleet", "description": "stands for Elastic's integration template in a test"},
	}, nil)
}

// pipelineBytes returns how many bytes of documents the ingest pipeline id has taken in as the
// first pipeline they went through. (Its document count stays 0 on the test server: a pipeline
// without processors, the only kind it can hold, is not counted; its bytes are.)
func pipelineBytes(c es, id string) int {
	c.t.Helper()
	var st struct {
		Nodes map[string]struct {
			Ingest struct {
				Pipelines map[string]struct {
					Bytes int `json:"ingested_as_first_pipeline_in_bytes"`
				} `json:"pipelines"`
			} `json:"ingest"`
		} `json:"nodes"`
	}
	c.do(http.MethodGet, "/_nodes/stats/ingest", nil, &st)
	n := 0
	for _, node := range st.Nodes {
		n += node.Ingest.Pipelines[id].Bytes
	}
	return n
}

func ctEvent(id, name, source, userType, user, errorCode string, extra map[string]any) map[string]any {
	ev := map[string]any{
		"eventVersion": "1.08", "eventTime": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "eventSource": source, "eventName": name,
		"eventID": id, "awsRegion": "eu-west-1", "sourceIPAddress": "89.160.20.156", "recipientAccountId": "111122223333",
		"userAgent": "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0",
		"userIdentity": map[string]any{"type": userType, "principalId": "AIDA" + user, "arn": "arn:aws:iam::111122223333:" + strings.ToLower(userType) + "/" + user,
			"accountId": "111122223333", "userName": user},
	}
	if errorCode != "" {
		ev["errorCode"], ev["errorMessage"] = errorCode, "denied"
	}
	for k, v := range extra {
		ev[k] = v
	}
	return ev
}

// TestIntegrationLanding sends CloudTrail, GuardDuty and Kerberos records with
// es_data_streams integration, once where Elastic's integration templates are installed and once
// where they are not, plus siemscore's own data streams, and checks what Elastic's content would
// see: queries equivalent to three prebuilt detection rules find exactly the matching records,
// scored; a logs-* data view over all of it has no field with two types; the integration's
// default pipeline was skipped and its final pipeline ran.
func TestIntegrationLanding(t *testing.T) {
	url := estest.URL(t)
	c := es{t, url}
	withElastic := estest.Namespace(t)
	standIn := estest.Namespace(t)
	for _, ns := range []string{withElastic, standIn} {
		t.Cleanup(func() {
			for _, ds := range []string{"aws.cloudtrail", "aws.guardduty", "zeek.kerberos"} {
				estest.DeleteDataStream(t, "logs-"+ds+"-"+ns)
			}
		})
	}
	final := "sstest-" + withElastic + "-final"
	c.do(http.MethodPut, "/_ingest/pipeline/"+final, `{"description":"stands for Fleet's final pipeline","processors":[]}`, nil)
	t.Cleanup(func() { c.do(http.MethodDelete, "/_ingest/pipeline/"+final, nil, &map[string]any{}) })
	for _, ds := range []string{"aws.cloudtrail", "aws.guardduty", "zeek.kerberos"} {
		installElastics(c, ds, withElastic, final)
		t.Cleanup(func() {
			c.do(http.MethodDelete, "/_index_template/logs-"+ds+"-"+withElastic, nil, &map[string]any{})
		})
	}

	dir := t.TempDir()
	bundlePath := filepath.Join(dir, "model.bundle")
	if err := bundle.Publish(bundlePath, bundletest.Full(t), bundle.DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	city, asn := geoiptest.WriteCity(t, dir), geoiptest.WriteASN(t, dir)

	// The records: three that Elastic's rules must find, and near misses they must not.
	run := strings.ReplaceAll(withElastic, "_", "")
	id := func(s string) string { return run + "-" + s }
	events := []map[string]any{
		ctEvent(id("deletetrail"), "DeleteTrail", "cloudtrail.amazonaws.com", "IAMUser", "mallory", "", map[string]any{"requestParameters": map[string]any{"name": "org-trail"}}),
		ctEvent(id("deletetrail-denied"), "DeleteTrail", "cloudtrail.amazonaws.com", "IAMUser", "mallory", "AccessDenied", nil),
		ctEvent(id("root-login"), "ConsoleLogin", "signin.amazonaws.com", "Root", "root", "", map[string]any{"responseElements": map[string]any{"ConsoleLogin": "Success"}}),
		ctEvent(id("root-login-failed"), "ConsoleLogin", "signin.amazonaws.com", "Root", "root", "", map[string]any{"responseElements": map[string]any{"ConsoleLogin": "Failure"}}),
		ctEvent(id("user-login"), "ConsoleLogin", "signin.amazonaws.com", "IAMUser", "alice", "", map[string]any{"responseElements": map[string]any{"ConsoleLogin": "Success"}}),
		ctEvent(id("add-to-group"), "AddUserToGroup", "iam.amazonaws.com", "IAMUser", "Alice", "", map[string]any{"requestParameters": map[string]any{"userName": "Bob", "groupName": "admin"}}),
		ctEvent(id("remove-from-group"), "RemoveUserFromGroup", "iam.amazonaws.com", "IAMUser", "Alice", "", map[string]any{"requestParameters": map[string]any{"userName": "Bob", "groupName": "admin"}}),
	}
	var bodies []plugintest.Body
	for _, ev := range events {
		bodies = append(bodies, plugintest.Body{Kind: ecs.KindCloudTrail, Map: ev})
	}
	gd := plugintest.GuardDuty(1)
	gd["id"] = id("finding")
	kr := plugintest.Kerberos(2)
	kr["uid"] = id("krb")
	kr["id.resp_h"] = "2a02:cf40::4"
	bodies = append(bodies, plugintest.Body{Kind: ecs.KindGuardDuty, Map: gd}, plugintest.Body{Kind: ecs.KindKerberos, Map: kr},
		plugintest.Body{Kind: ecs.KindGeneric, Map: plugintest.Generic(3)})
	chunk, err := plugintest.Chunk(bodies)
	if err != nil {
		t.Fatal(err)
	}
	finalBefore := pipelineBytes(c, final)
	for _, tc := range []struct{ ns, landing string }{{withElastic, "integration"}, {standIn, "integration"}, {withElastic, "siemscore"}} {
		in := openFor(t, config.Map{"es_hosts": url, "es_namespace": tc.ns, "es_data_streams": tc.landing, "model_bundle": bundlePath,
			"geo_city_db": city, "geo_asn_db": asn})
		if code := in.Flush(chunk, tag); code != deliver.OK {
			t.Fatalf("%s %s: flush %v", tc.ns, tc.landing, code)
		}
		st := in.Stats()
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		// (The generic record goes to siemscore's data stream in both landings: the third run
		// finds it there already.)
		if st.DeadLettered != 0 || st.Written+st.Duplicates != int64(len(bodies)) {
			t.Fatalf("%s %s: %+v: every record must be written, none refused (a default pipeline run would have failed them)", tc.ns, tc.landing, st)
		}
	}
	c.do(http.MethodPost, "/logs-*-"+withElastic+",logs-*-"+standIn+"/_refresh", nil, nil)

	// Which template mapped what: Elastic's stand-in where it is installed, siemscore's elsewhere.
	var resolved struct {
		DataStreams []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		} `json:"data_streams"`
	}
	c.do(http.MethodGet, "/_resolve/index/logs-*-"+withElastic+",logs-*-"+standIn, nil, &resolved)
	streams := map[string]bool{}
	for _, ds := range resolved.DataStreams {
		streams[ds.Name] = true
	}
	for _, want := range []string{"logs-aws.cloudtrail-" + withElastic, "logs-aws.guardduty-" + standIn, "logs-zeek.kerberos-" + withElastic,
		"logs-siemscore.cloudtrail-" + withElastic, "logs-siemscore.generic-" + standIn} {
		if !streams[want] {
			t.Errorf("no data stream %s among %v", want, streams)
		}
	}
	// The integration's default pipeline was skipped (it does not exist: a record sent through it
	// would have been refused), its final pipeline ran.
	if n := pipelineBytes(c, final) - finalBefore; n <= 0 {
		t.Errorf("the final pipeline took in %d bytes: it must run on records that skip the default one", n)
	}

	// A document as the integration itself writes it (its AddUserToGroup pipeline test's
	// expected output), into the data stream Elastic's template maps.
	integrationDoc := map[string]any{
		"@timestamp": "2014-03-25T21:08:14.000Z", "ecs": map[string]any{"version": "8.11.0"},
		"aws": map[string]any{"cloudtrail": map[string]any{"event_version": "1.0",
			"flattened":          map[string]any{"request_parameters": map[string]any{"groupName": "admin", "userName": "Bob"}},
			"request_parameters": "{groupName=admin, userName=Bob}",
			"user_identity": map[string]any{"access_key_id": "EXAMPLE_KEY_ID", "arn": "arn:aws:iam::123456789012:user/Alice",
				"session_context": map[string]any{"creation_date": "2014-03-25T18:45:11.000Z", "mfa_authenticated": "false"}, "type": "IAMUser"}}},
		"cloud":       map[string]any{"account": map[string]any{"id": "123456789012"}, "region": "us-east-2"},
		"event":       map[string]any{"action": "AddUserToGroup", "category": []string{"iam"}, "created": "2021-11-11T01:02:03.123456789Z", "kind": "event", "outcome": "success", "provider": "iam.amazonaws.com", "type": []string{"group", "change"}, "dataset": "aws.cloudtrail", "module": "aws", "ingested": time.Now().UTC().Format(time.RFC3339)},
		"group":       map[string]any{"name": "admin"},
		"related":     map[string]any{"user": []string{"Alice", "Bob"}, "entity": []string{"Alice", "Bob", "EX_PRINCIPAL_ID", "arn:aws:iam::123456789012:user/Alice"}},
		"source":      map[string]any{"address": "127.0.0.1", "ip": "127.0.0.1"},
		"user":        map[string]any{"id": "EX_PRINCIPAL_ID", "name": "Alice", "target": map[string]any{"name": "Bob"}},
		"user_agent":  map[string]any{"device": map[string]any{"name": "Other"}, "name": "Other", "original": "AWSConsole"},
		"data_stream": map[string]any{"type": "logs", "dataset": "aws.cloudtrail", "namespace": withElastic},
	}
	var created struct {
		Result string `json:"result"`
	}
	c.do(http.MethodPost, "/logs-aws.cloudtrail-"+withElastic+"/_doc?pipeline=_none&refresh=true", integrationDoc, &created)
	if created.Result != "created" {
		t.Fatalf("the integration's own document was not indexed: %+v", created)
	}

	// No field of the logs-* data view has two types.
	var caps struct {
		Indices []string                             `json:"indices"`
		Fields  map[string]map[string]map[string]any `json:"fields"`
	}
	c.do(http.MethodGet, "/logs-*-"+withElastic+",logs-*-"+standIn+"/_field_caps?fields=*", nil, &caps)
	var conflicts []string
	checked := 0
	for field, types := range caps.Fields {
		if strings.HasPrefix(field, "_") {
			continue
		}
		var ts []string
		for typ := range types {
			if typ != "object" && typ != "nested" {
				ts = append(ts, typ)
			}
		}
		if len(ts) == 0 {
			continue
		}
		checked++
		if len(ts) > 1 {
			sort.Strings(ts)
			conflicts = append(conflicts, fmt.Sprintf("%s: %v", field, ts))
		}
	}
	sort.Strings(conflicts)
	t.Logf("field caps over %d indices: %d fields, %d with more than one type", len(caps.Indices), checked, len(conflicts))
	if len(conflicts) > 0 || checked < 150 || len(caps.Indices) < 8 {
		t.Errorf("field conflicts in a logs-* data view (%d indices, %d fields):\n%s", len(caps.Indices), checked, strings.Join(conflicts, "\n"))
	}

	// Queries equivalent to Elastic's prebuilt rules, on their index patterns, their time field
	// (timestamp_override event.ingested, from now-6m) and their fields.
	rules := []struct {
		name  string
		match map[string]string
		want  []string
	}{
		{"AWS CloudTrail Log Deleted", map[string]string{"event.dataset": "aws.cloudtrail", "event.provider": "cloudtrail.amazonaws.com", "event.action": "DeleteTrail", "event.outcome": "success"}, []string{id("deletetrail")}},
		{"AWS Management Console Root Login", map[string]string{"event.dataset": "aws.cloudtrail", "event.provider": "signin.amazonaws.com", "event.action": "ConsoleLogin", "aws.cloudtrail.user_identity.type": "Root", "event.outcome": "success"}, []string{id("root-login")}},
		{"AWS IAM User Addition to Group", map[string]string{"event.dataset": "aws.cloudtrail", "event.provider": "iam.amazonaws.com", "event.action": "AddUserToGroup", "event.outcome": "success"}, []string{id("add-to-group")}},
	}
	var ours []string
	for _, ev := range events {
		ours = append(ours, ev["eventID"].(string))
	}
	for _, r := range rules {
		filter := []any{
			map[string]any{"range": map[string]any{"event.ingested": map[string]any{"gte": "now-6m"}}},
			map[string]any{"terms": map[string]any{"event.id": ours}}, // this run's records only
		}
		for f, v := range r.match {
			filter = append(filter, map[string]any{"match": map[string]any{f: v}})
		}
		var found struct {
			Hits struct {
				Hits []struct {
					Index  string `json:"_index"`
					Source struct {
						Event struct {
							ID            string   `json:"id"`
							RiskScoreNorm *float64 `json:"risk_score_norm"`
						} `json:"event"`
						DataStream ecs.DataStream `json:"data_stream"`
						SiemScore  struct {
							Model struct {
								Status string `json:"status"`
							} `json:"model"`
							IP struct {
								Status string `json:"status"`
							} `json:"ip"`
						} `json:"siemscore"`
						Source    ecs.Endpoint  `json:"source"`
						UserAgent ecs.UserAgent `json:"user_agent"`
					} `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		c.do(http.MethodPost, "/filebeat-*,logs-aws.cloudtrail-*/_search", map[string]any{"size": 100, "query": map[string]any{"bool": map[string]any{"filter": filter}}}, &found)
		got := map[string]int{}
		for _, h := range found.Hits.Hits {
			s := h.Source
			got[s.Event.ID]++
			if s.SiemScore.Model.Status != ecs.ModelScored || s.SiemScore.IP.Status != ecs.PartScored || s.Event.RiskScoreNorm == nil {
				t.Errorf("%s: %s in %s is not scored: %+v", r.name, s.Event.ID, h.Index, s.SiemScore)
			}
			if s.DataStream.Dataset != "aws.cloudtrail" || !strings.HasPrefix(h.Index, ".ds-logs-aws.cloudtrail-") {
				t.Errorf("%s: %s landed in %s with data_stream %+v", r.name, s.Event.ID, h.Index, s.DataStream)
			}
			if s.Source.Geo == nil || s.Source.Geo.CityName != "Linköping" || s.Source.AS == nil || s.Source.AS.Number != 29518 || s.UserAgent.Name != "Firefox" || s.UserAgent.OS.Name != "Windows" {
				t.Errorf("%s: %s: enrichment source %+v user_agent %+v", r.name, s.Event.ID, s.Source, s.UserAgent)
			}
		}
		// Each matching record once per integration namespace (Elastic's template, siemscore's
		// stand-in); siemscore's own data streams are outside the rule's index patterns.
		var wantCounts []string
		for _, w := range r.want {
			wantCounts = append(wantCounts, w+"=2")
		}
		var gotCounts []string
		for k, n := range got {
			gotCounts = append(gotCounts, fmt.Sprintf("%s=%d", k, n))
		}
		slices.Sort(gotCounts)
		if !slices.Equal(gotCounts, wantCounts) {
			t.Errorf("rule %q found %v, want %v", r.name, gotCounts, wantCounts)
		}
	}
}

// TestESPipeline: records go through the pipeline es_pipeline names, dead letters do not, and a
// pipeline that does not exist stops Init naming the key.
func TestESPipeline(t *testing.T) {
	url := estest.URL(t)
	c := es{t, url}
	ns := estest.Namespace(t)
	id := "sstest-" + ns + "-enrich"
	c.do(http.MethodPut, "/_ingest/pipeline/"+id, `{"description":"a user's pipeline","processors":[]}`, nil)
	t.Cleanup(func() { c.do(http.MethodDelete, "/_ingest/pipeline/"+id, nil, &map[string]any{}) })
	before := pipelineBytes(c, id)
	bodies := plugintest.Mixed(12)
	chunk, err := plugintest.Chunk(bodies)
	if err != nil {
		t.Fatal(err)
	}
	in := openFor(t, config.Map{"es_hosts": url, "es_namespace": ns, "pipeline": id})
	if code := in.Flush(chunk, tag); code != deliver.OK {
		t.Fatalf("flush %v", code)
	}
	afterRecords := pipelineBytes(c, id)
	if afterRecords <= before {
		t.Errorf("the pipeline took in no bytes for %d records", len(bodies))
	}
	// Undecodable input is dead-lettered, and dead letters do not go through the pipeline.
	if code := in.Flush([]byte{0xc1, 0xc1, 0xc1}, tag); code != deliver.OK {
		t.Fatalf("flush of undecodable input %v", code)
	}
	if st := in.Stats(); st.DeadLettered != 1 {
		t.Fatalf("stats %+v: the undecodable input must be dead-lettered", st)
	}
	if n := pipelineBytes(c, id); n != afterRecords {
		t.Errorf("a dead letter went through the pipeline (%d more bytes)", n-afterRecords)
	}
	in.Close()

	cfg, err := config.Load(config.Map{"es_hosts": url, "es_namespace": ns, "es_pipeline": id + "-absent"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg, hclog.NewNullLogger()); err == nil || !strings.Contains(err.Error(), "es_pipeline: ") || !strings.Contains(err.Error(), "no such ingest pipeline") {
		t.Errorf("a missing pipeline: %v", err)
	}
}
