package assets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip"
	"github.com/siemscore/siemscore/processors/identity"
)

// Labels of the fixture's documents: what each scenario planted, and the normal traffic around
// it that the rules must leave alone.
const (
	ctAttack      = "cloudtrail-attack"       // a known principal calling from a random address
	ctStaleAttack = "cloudtrail-stale-attack" // the same, half an hour before the rules' windows
	ctNormal      = "cloudtrail-normal"       // principals at their office or service NAT addresses
	gdPlanted     = "guardduty-planted"       // a medium finding whose remote IP is foreign to its principal
	gdNormal      = "guardduty-normal"        // the same finding from the principal's own address
	krbSpray      = "kerberos-spray"          // the spraying host once its spray started
	krbNormal     = "kerberos-normal"
	apiBurst      = "api-burst" // the burst pair on its burst day
	apiNormal     = "api-normal"
)

func isNormal(label string) bool { return strings.HasSuffix(label, "-normal") }

// fixtureDoc is one enriched document as indexed.
type fixtureDoc struct {
	kind  ecs.Kind
	id    string
	label string
	doc   *ecs.Document
}

func (d fixtureDoc) risk() (float64, bool) {
	r := d.doc.Event.RiskScoreNorm
	return r.V, r.Set
}

// fixture is the data the Elasticsearch tests run the artifacts against.
type fixture struct {
	es       *elasticsearch.Client
	ns       string // the data streams' namespace, unique to the run
	docs     []fixtureDoc
	byID     map[string]fixtureDoc
	model    *bundle.Bundle
	ctAnchor time.Time // "now" of a rule run right after the CloudTrail attacks and GuardDuty findings
	// krbAnchor is right after the spray; krbQuiet is just before it.
	krbAnchor, krbQuiet time.Time
	sprayHost           netip.Addr
	apiAnchor           time.Time
	burstUser           string
	burstAction         string
}

// buildFixture generates the scenarios, runs them through the real processors (and, for the
// CloudTrail and GuardDuty records, the real scorer with a trained IP model), and indexes them
// into logs-siemscore.<kind>-<ns> data streams that carry siemscore's template mapping.
//
// models/score has no Kerberos or API periodicity part yet: those documents get known scores
// here, in the fields and bands the parts will write (see kerberosScores, apiScores). When the
// parts land, score them with the scorer instead.
func buildFixture(t *testing.T) *fixture {
	t.Helper()
	es := estest.Client(t)
	name := estest.UniqueName(t, "ns")
	f := &fixture{es: es, ns: strings.TrimPrefix(name, "ns-"), byID: map[string]fixtureDoc{}}
	if err := target.ValidateNamespace(f.ns); err != nil {
		t.Fatalf("namespace %q: %v", f.ns, err)
	}
	f.addCloudTrailAndGuardDuty(t)
	f.addKerberos(t)
	f.addAPICalls(t)
	f.index(t)
	return f
}

func (f *fixture) add(t *testing.T, label string, rec ecs.Record) {
	t.Helper()
	if rec.Doc == nil || rec.ID == "" {
		t.Fatalf("%s: processor gave no document or ID: %+v", label, rec)
	}
	if rec.Doc.Event.Kind == "pipeline_error" {
		t.Fatalf("%s: processor failed: %+v", label, rec.Doc.Error)
	}
	rec.Doc.DataStream = ecs.DataStream{Type: "logs", Dataset: target.DatasetPrefix + rec.Kind.String(), Namespace: f.ns}
	d := fixtureDoc{kind: rec.Kind, id: rec.ID, label: label, doc: rec.Doc}
	if _, dup := f.byID[d.id]; dup {
		t.Fatalf("%s: duplicate document ID %s", label, d.id)
	}
	f.byID[d.id] = d
	f.docs = append(f.docs, d)
}

// process runs JSON records through a processor of the given type, with an ASN table that
// names an owner for every address (as geo_asn_csv would), so the dashboard's network owner
// column is filled.
func process(t *testing.T, typ string, lines [][]byte) []ecs.Record {
	t.Helper()
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "asn-ipv4.csv"), filepath.Join(dir, "asn-ipv6.csv")
	os.WriteFile(v4, []byte("0.0.0.0,127.255.255.255,64500,Example Networks Low\n128.0.0.0,255.255.255.255,64501,Example Networks High\n"), 0o644)
	os.WriteFile(v6, []byte("::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,64502,Example Networks Six\n"), 0o644)
	db, err := geoip.Open(geoip.Config{ASNRanges: []string{v4, v6}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := processors.New(processors.Options{Type: typ, Geo: db})
	if err != nil {
		t.Fatal(err)
	}
	var out []ecs.Record
	for _, line := range lines {
		var body map[string]any
		if err := json.Unmarshal(line, &body); err != nil {
			t.Fatalf("%s record %s: %v", typ, line, err)
		}
		n := len(out)
		out = p.Append(out, body, time.Time{})
		if len(out) != n+1 {
			t.Fatalf("%s record gave %d documents", typ, len(out)-n)
		}
	}
	return out
}

func jsonLines(t *testing.T, write func(io.Writer) error) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
}

// fixtureEpoch is when the IP model was trained; the bundle version derives from it.
var fixtureEpoch = time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC)

// trainIPModel trains the IP model on the training days of a small generated organisation and
// loads it into a scorer; the CloudTrail and GuardDuty scenarios use that organisation's test days.
func (f *fixture) trainIPModel(t *testing.T, org *ipnet.Dataset) *score.Scorer {
	t.Helper()
	ds := ipanomaly.NewDataset()
	for _, e := range org.Train {
		if err := ds.Add(identity.Record(e.Principal(), "", e.Identity.AccountID), e.IP, e.Time); err != nil {
			t.Fatal(err)
		}
	}
	m, err := ipanomaly.Train(context.Background(), ds, ipanomaly.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.New(bundle.Header{
		Version:   bundle.Version{Time: fixtureEpoch, Seq: 1},
		TrainedAt: fixtureEpoch.Add(-time.Hour), WindowStart: org.Train[0].Time, WindowEnd: org.Split,
	}, bundle.IPPart(m))
	if err != nil {
		t.Fatal(err)
	}
	s := score.New()
	if err := s.Load(b); err != nil {
		t.Fatal(err)
	}
	f.model = b
	return s
}

// addCloudTrailAndGuardDuty plants, in the five minutes before ctAnchor, calls by known
// principals from random addresses among calls from their office and service addresses, and
// two GuardDuty findings about one attacked principal: from the attacker's address and from the
// principal's own. The real scorer scores them all.
//
// The planted calls are the random-address attacks the model scores major or above (50, the
// detection rule's threshold); how many attacks the model catches is the IP model's acceptance
// test's business, not this one's. The normal calls must all stay below 50.
func (f *fixture) addCloudTrailAndGuardDuty(t *testing.T) {
	t.Helper()
	cfg := ipnet.DefaultOrgConfig()
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = 4, 15, 15, 14
	org, err := ipnet.Org(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scorer := f.trainIPModel(t, org)
	familiar := map[string]map[netip.Addr]int{} // principal ID -> address -> training events
	for _, e := range org.Train {
		if familiar[e.Identity.PrincipalID] == nil {
			familiar[e.Identity.PrincipalID] = map[netip.Addr]int{}
		}
		familiar[e.Identity.PrincipalID][e.IP]++
	}
	scoreEvents := func(events []ipnet.Event) []ecs.Record {
		recs := process(t, "cloudtrail", jsonLines(t, func(w io.Writer) error { return ipnet.WriteCloudTrail(w, 11, events) }))
		for i := range recs {
			scorer.Score(&recs[i])
		}
		return recs
	}

	var candidates []ipnet.Event
	for _, e := range org.Attacks {
		if e.Source == ipnet.SourceAttackRandom && familiar[e.Identity.PrincipalID] != nil {
			candidates = append(candidates, e)
		}
	}
	var events []ipnet.Event
	var labels []string
	for i, rec := range scoreEvents(candidates) {
		if rec.Doc.SiemScore.IP.ScoreNorm.V >= 50 && len(events) < 6 {
			label := ctAttack
			if len(events) == 0 {
				label = ctStaleAttack
			}
			events, labels = append(events, candidates[i]), append(labels, label)
		}
	}
	if len(events) < 6 {
		t.Fatalf("the IP model scores %d of %d random-address attacks 50 or more; the fixture needs 6", len(events), len(candidates))
	}
	for _, e := range org.Test {
		if (e.Source == ipnet.SourceWork || e.Source == ipnet.SourceService) && len(events) < 156 {
			events, labels = append(events, e), append(labels, ctNormal)
		}
	}
	f.ctAnchor = time.Date(2025, 3, 18, 10, 0, 0, 0, time.UTC)
	window := 5 * time.Minute
	for i := range events {
		events[i].Time = f.ctAnchor.Add(-window + time.Duration(i)*window/time.Duration(len(events)))
		if labels[i] == ctStaleAttack {
			events[i].Time = f.ctAnchor.Add(-30 * time.Minute)
		}
	}
	for i, rec := range scoreEvents(events) {
		if labels[i] == ctNormal && rec.Doc.SiemScore.IP.ScoreNorm.V >= 50 {
			t.Fatalf("normal call of %s from its usual %v scores %.1f %v: the IP model no longer separates it from the attacks at 50",
				rec.Doc.User.ID, rec.Doc.Source.IP, rec.Doc.SiemScore.IP.ScoreNorm.V, rec.Doc.SiemScore.IP.Reasons)
		}
		f.add(t, labels[i], rec)
	}

	// GuardDuty: the last attacked principal, the attacker's address and the principal's most
	// used one.
	attacked := events[5]
	var usual netip.Addr
	for ip, n := range familiar[attacked.Identity.PrincipalID] {
		if !usual.IsValid() || n > familiar[attacked.Identity.PrincipalID][usual] || n == familiar[attacked.Identity.PrincipalID][usual] && ip.Less(usual) {
			usual = ip
		}
	}
	var findings [][]byte
	for i, remote := range []netip.Addr{attacked.IP, usual} {
		findings = append(findings, guardDutyFinding(t, i, attacked, remote, f.ctAnchor.Add(-time.Duration(2-i)*time.Minute)))
	}
	for i, rec := range process(t, "guardduty", findings) {
		scorer.Score(&rec)
		label := []string{gdPlanted, gdNormal}[i]
		if ip := rec.Doc.SiemScore.IP; ip.Status != ecs.PartScored || (label == gdPlanted) != (ip.ScoreNorm.V >= 50) {
			t.Fatalf("%s: IP part %+v: the finding's remote IP must score as the same pair in CloudTrail", label, ip)
		}
		f.add(t, label, rec)
	}
}

// guardDutyFinding renders a medium AWS API call finding about the principal of e, with
// remote as its remote IP.
func guardDutyFinding(t *testing.T, n int, e ipnet.Event, remote netip.Addr, at time.Time) []byte {
	t.Helper()
	when := at.UTC().Format(time.RFC3339Nano)
	id := fmt.Sprintf("5ac6b0f2d1e94c7f8a3b%012d", n)
	finding := map[string]any{
		"schemaVersion": "2.0", "accountId": e.Identity.AccountID, "region": "us-east-1", "partition": "aws",
		"id": id, "arn": "arn:aws:guardduty:us-east-1:" + e.Identity.AccountID + ":detector/12abc34d567e8fa901bc2d34e56789f0/finding/" + id,
		"type":        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
		"title":       "Credentials for instance role " + e.Identity.Name + " used from external IP address.",
		"description": "Credentials created exclusively for an EC2 instance using instance role " + e.Identity.Name + " have been used from external IP address " + remote.String() + ".",
		"severity":    5, "confidence": 5, "createdAt": when, "updatedAt": when,
		"resource": map[string]any{
			"resourceType": "AccessKey",
			"accessKeyDetails": map[string]any{
				"accessKeyId": "ASIAFIXTUREKEY" + fmt.Sprint(n), "principalId": e.Principal(),
				"userName": e.Identity.Name, "userType": "AssumedRole",
			},
		},
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": "12abc34d567e8fa901bc2d34e56789f0", "archived": false, "count": 1,
			"eventFirstSeen": when, "eventLastSeen": when, "resourceRole": "TARGET",
			"action": map[string]any{
				"actionType": "AWS_API_CALL",
				"awsApiCallAction": map[string]any{
					"api": "DescribeInstances", "serviceName": "ec2.amazonaws.com", "callerType": "Remote IP",
					"remoteIpDetails": map[string]any{"ipAddressV4": remote.String(), "organization": map[string]any{"asn": "64500", "asnOrg": "Example Hosting"}},
				},
			},
		},
	}
	b, err := json.Marshal(finding)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// modelInfo is what the scorer writes for the fixture's bundle.
func (f *fixture) modelInfo() ecs.ModelInfo {
	return ecs.ModelInfo{Version: f.model.VersionString(), Status: ecs.ModelScored, TrainedAt: ecs.Time(f.model.TrainedAt())}
}

// addKerberos takes generated domain traffic around a planted password spray, runs it through
// the Zeek Kerberos processor, and gives the documents known host-model scores: the spraying
// host critical from the spray's start, every other host low.
func (f *fixture) addKerberos(t *testing.T) {
	t.Helper()
	data, err := synthkrb.Generate(synthkrb.Config{
		Seed: 7, Workstations: 40, AppServers: 4, FileServers: 2, TerminalServers: 1, DCs: 2, Duration: 24 * time.Hour,
		Attacks: []synthkrb.Attack{{Kind: synthkrb.Spray, Start: 10*time.Hour + 20*time.Minute, Size: 40}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spray := data.Planted[0]
	f.sprayHost = spray.Host
	f.krbAnchor = spray.End.Add(30 * time.Second).Truncate(time.Second)
	f.krbQuiet = spray.Start.Add(-time.Second)
	var recs []synthkrb.Record
	for _, r := range data.Records {
		if !r.Time.Before(spray.Start.Add(-20*time.Minute)) && !r.Time.After(spray.End.Add(5*time.Minute)) {
			recs = append(recs, r)
		}
	}
	for _, rec := range process(t, "kerberos", jsonLines(t, func(w io.Writer) error { return synthkrb.WriteZeekJSON(w, recs) })) {
		src := rec.Doc.Source.IP
		planted := src == spray.Host && !rec.Doc.Timestamp.Before(spray.Start)
		rec.Doc.SiemScore.Model = f.modelInfo()
		rec.Doc.SiemScore.Kerberos = kerberosScores(src, planted)
		setRisk(rec.Doc, rec.Doc.SiemScore.Kerberos.ScoreNorm.V)
		label := krbNormal
		if planted {
			label = krbSpray
		}
		f.add(t, label, rec)
	}
}

// kerberosScores are the known host-model outputs: the sprayer far from its workstation
// cluster with many clients, unknown principals and pre-authentication failures; every other
// host a typical member of one of three clusters.
func kerberosScores(host netip.Addr, sprayer bool) ecs.KerberosScore {
	if sprayer {
		return ecs.KerberosScore{
			Status: ecs.PartScored, Cluster: ecs.Int(1), ClusterSizeFraction: ecs.Float(0.62), Distance: ecs.Float(8.7),
			ScoreNorm: ecs.Float(96), Severity: ecs.SeverityBand(96),
			Reasons: []string{"distinct_clients", "principal_unknown", "preauth_failures"},
			Features: ecs.KerberosFeatures{Requests: 41, DistinctServers: 1, TopServerShare: 1, TopServerLoad: 900, Failures: 41,
				FailureRatio: 0.976, DistinctClients: 38, DistinctServices: 1, PreauthFailures: 30, PrincipalUnknown: 11},
		}
	}
	b := host.As16()[15]
	s := float64(b % 17)
	return ecs.KerberosScore{
		Status: ecs.PartScored, Cluster: ecs.Int(int64(b % 3)), ClusterSizeFraction: ecs.Float(0.3), Distance: ecs.Float(0.5 + s/20),
		ScoreNorm: ecs.Float(s), Severity: ecs.SeverityBand(s),
		Features: ecs.KerberosFeatures{Requests: 6 + s, DistinctServers: 2, TopServerShare: 0.8, TopServerLoad: 400, Failures: float64(b % 2),
			FailureRatio: float64(b%2) / (7 + s), DistinctClients: 1, DistinctServices: 3, PreauthFailures: float64(b % 2)},
	}
}

// setRisk sets the risk as the scorer does for records whose source has no risk of its own.
func setRisk(d *ecs.Document, norm float64) {
	d.Event.RiskScoreNorm = ecs.Float(norm)
}

// addAPICalls takes the burst day of generated CloudTrail API activity (cron roles and humans,
// one automated pair making ten times its calls), runs it through the CloudTrail processor and
// gives the documents known periodicity-model scores: the burst pair's calls on the burst day
// volume_high, everything else (that pair on the day before included) ordinary.
func (f *fixture) addAPICalls(t *testing.T) {
	t.Helper()
	ds, err := apicalls.Generate(apicalls.Config{
		Seed: 3, Start: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), Days: 21, CronRoles: 8, Humans: 8,
		Burst: apicalls.Burst{Day: 20, Factor: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The burst day and the ordinary day before it, when the burst pair made its usual calls.
	type key struct {
		pair periodicity.Pair
		day  periodicity.Day
	}
	var lines [][]byte
	var keys []key
	total := map[key]int{}
	for i, e := range ds.Events {
		d, _ := periodicity.DayOf(e.Time)
		if d != ds.BurstDay && d != ds.BurstDay-1 {
			continue
		}
		b, err := ds.CloudTrailRecord(i)
		if err != nil {
			t.Fatal(err)
		}
		k := key{periodicity.Pair{Principal: e.Call.Principal, API: e.API}, d}
		lines, keys = append(lines, b), append(keys, k)
		total[k]++
	}
	count := map[key]int{}
	var burstTimes []time.Time
	for i, rec := range process(t, "cloudtrail", lines) {
		k := keys[i]
		count[k]++
		burst := k.pair == ds.BurstPair && k.day == ds.BurstDay
		rec.Doc.SiemScore.Model = f.modelInfo()
		rec.Doc.SiemScore.API = apiScores(ds.Automated(k.pair), burst, count[k], total[k], ds.BurstCalls[0])
		setRisk(rec.Doc, rec.Doc.SiemScore.API.ScoreNorm.V)
		label := apiNormal
		if burst {
			label = apiBurst
			f.burstUser, f.burstAction = rec.Doc.User.Name, rec.Doc.Event.Action
			burstTimes = append(burstTimes, rec.Doc.Timestamp)
		}
		f.add(t, label, rec)
	}
	if len(burstTimes) == 0 {
		t.Fatal("no burst on the burst day")
	}
	f.apiAnchor = burstTimes[len(burstTimes)/2].Add(time.Minute).Truncate(time.Second)
}

// apiScores are the known periodicity-model outputs for a pair's n-th call of the day.
func apiScores(automated, burst bool, n, dayTotal, usual int) ecs.APIScore {
	s := ecs.APIScore{Status: ecs.PartScored, Automated: ecs.Bool(automated), DayCount: ecs.Int(int64(n))}
	reasons := periodicity.Reasons(0)
	if automated {
		s.Periodicity, s.BestLag = ecs.Float(0.91), ecs.Int(1)
		reasons |= periodicity.ReasonPeriodic
	} else {
		s.Periodicity, s.BestLag = ecs.Float(0.12), ecs.Int(7)
	}
	if burst {
		s.Expected, s.VolumeZ, s.ScoreNorm = ecs.Float(float64(usual)), ecs.Float(9.5), ecs.Float(88)
		reasons |= periodicity.ReasonVolumeHigh
	} else {
		s.Expected, s.VolumeZ, s.ScoreNorm = ecs.Float(float64(dayTotal)), ecs.Float(0.3), ecs.Float(4)
	}
	s.Severity = ecs.SeverityBand(s.ScoreNorm.V)
	s.Reasons = reasons.Codes()
	return s
}

// index creates the data streams through an index template carrying siemscore's mapping and
// bulk-creates every document, as the plugin does (op_type create, deterministic _id).
func (f *fixture) index(t *testing.T) {
	t.Helper()
	mapping, err := os.ReadFile(mappingFile)
	if err != nil {
		t.Fatal(err)
	}
	tmplName := "siemscore-assets-" + f.ns
	tmpl := fmt.Sprintf(`{"index_patterns":[%q],"data_stream":{},"priority":10000,
		"template":{"settings":{"number_of_replicas":0,"index.mapping.ignore_malformed":true},"mappings":%s}}`,
		"logs-siemscore.*-"+f.ns, mapping)
	res, err := f.es.Indices.PutIndexTemplate(tmplName, strings.NewReader(tmpl))
	checkResponse(t, "put index template", res, err)
	t.Cleanup(func() {
		gone := true
		for _, k := range siemscoreKinds {
			gone = estest.DeleteDataStream(t, target.DataStream(k.String(), f.ns)) && gone
		}
		if !gone {
			return // the retired data streams still use the template
		}
		res, err := f.es.Indices.DeleteIndexTemplate(tmplName)
		if err != nil {
			t.Errorf("delete index template %s: %v", tmplName, err)
			return
		}
		res.Body.Close()
	})

	var body bytes.Buffer
	for _, d := range f.docs {
		meta, _ := json.Marshal(map[string]any{"create": map[string]any{"_index": target.DataStream(d.kind.String(), f.ns), "_id": d.id}})
		doc, err := d.doc.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		body.Write(meta)
		body.WriteByte('\n')
		body.Write(doc)
		body.WriteByte('\n')
	}
	res, err = f.es.Bulk(&body, f.es.Bulk.WithRefresh("true"))
	b := checkResponse(t, "bulk", res, err)
	var bulk struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &bulk); err != nil || len(bulk.Items) != len(f.docs) {
		t.Fatalf("bulk: %d items for %d documents (%v)", len(bulk.Items), len(f.docs), err)
	}
	for i, item := range bulk.Items {
		if r := item["create"]; r.Status != http.StatusCreated {
			t.Fatalf("bulk item %d (%s): HTTP %d %s", i, f.docs[i].label, r.Status, r.Error)
		}
	}
}

// checkResponse reads an API answer and fails the test on a transport error or an error status.
func checkResponse(t *testing.T, what string, res *esapi.Response, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if res.IsError() {
		t.Fatalf("%s: HTTP %d %s", what, res.StatusCode, b)
	}
	return b
}
