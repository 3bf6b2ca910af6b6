package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/processors/identity"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/models/score"
	"github.com/siemscore/siemscore/models/synth/apicalls"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	synthkrb "github.com/siemscore/siemscore/models/synth/kerberos"
	"github.com/siemscore/siemscore/models/train"
	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
)

// workload is what the flush benchmarks run: a chunk of records as a production plugin sees
// them, and a scorer holding a bundle trained on the history those records continue, so that
// every part does its full work (the IP model, GuardDuty fusion, the Kerberos host windows and
// clusters, the API day counts and periodicity), not the early return of a missing section.
//
// The chunk holds, per 20 records, 10 CloudTrail events, 6 Zeek Kerberos rows, 3 generic
// container log lines and 1 GuardDuty finding: CloudTrail dominates an AWS estate's volume,
// Kerberos is the busiest protocol log of a Windows domain, and findings are rare (they are
// over-represented here, being the largest bodies). CloudTrail events carry what real ones do
// (request parameters, response elements, resources, TLS details, session context), a size
// taken from real exports (about 1.2 KB of JSON at the median).
type workload struct {
	chunk []byte
	n     int
	// kerberos is a chunk of n Zeek Kerberos rows alone, the same rows as chunk's and those
	// after them: the record that dominates a Windows domain's volume (and make
	// bench-fluentbit's input), measured without the mix's averaging.
	kerberos []byte
	bundle   *bundle.Bundle
	// warm are the records that precede the chunk: scored by a fresh scorer before the
	// benchmark, they fill its Kerberos windows (a window must be complete to be scored) and
	// its API day counts.
	warm []ecs.Record
}

var (
	workloadOnce sync.Once
	theWorkload  *workload
	workloadErr  error
)

// benchWorkload builds the workload once per test binary (training takes seconds).
func benchWorkload(b testing.TB) *workload {
	b.Helper()
	workloadOnce.Do(func() { theWorkload, workloadErr = newWorkload() })
	if workloadErr != nil {
		b.Fatal(workloadErr)
	}
	return theWorkload
}

// scorer returns a fresh scorer with the workload's bundle and warm state, so that each
// benchmark starts from the same state whatever ran before it.
func (w *workload) scorer(b testing.TB) *score.Scorer {
	b.Helper()
	s := score.New()
	if err := s.Load(w.bundle); err != nil {
		b.Fatal(err)
	}
	for i := range w.warm {
		rec := w.warm[i]
		doc := *rec.Doc
		rec.Doc = &doc
		s.Score(&rec)
	}
	return s
}

// checkScored fails the benchmark unless the chunk's records were scored by every part the
// workload is meant to exercise.
func (w *workload) checkScored(b testing.TB, recs []ecs.Record) {
	b.Helper()
	scored := map[string]int{}
	for i := range recs {
		ss := &recs[i].Doc.SiemScore
		for part, st := range map[string]string{"ip": ss.IP.Status, "guardduty": ss.GuardDuty.Status, "kerberos": ss.Kerberos.Status, "api": ss.API.Status} {
			if st == ecs.PartScored {
				scored[part]++
			}
		}
	}
	for _, part := range []string{"ip", "guardduty", "kerberos", "api"} {
		if scored[part] == 0 {
			b.Fatalf("no record of the workload was scored by the %s part (scored: %v)", part, scored)
		}
	}
}

func newWorkload() (*workload, error) {
	proc, err := processors.New(processors.Options{})
	if err != nil {
		return nil, err
	}
	col := train.NewCollector()
	cfg := train.DefaultConfig()
	cfg.Models = train.ModelNames()
	cfg.IP.Embedding.Epochs = 1 // fewer epochs train a worse model, not a cheaper one to score
	cfg.Now = func() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }

	// IP: an organisation's people and services over four weeks, three for training.
	oc := ipnet.DefaultOrgConfig()
	oc.Orgs, oc.Members = 4, 25
	org, err := ipnet.Org(oc)
	if err != nil {
		return nil, err
	}
	for i := range org.Train {
		e := &org.Train[i]
		if err := col.AddPair(identity.Record(e.Principal(), "", e.Identity.AccountID), e.IP, e.Time); err != nil {
			return nil, err
		}
	}
	ipEvents := slices.Concat(org.Test, org.Attacks)
	slices.SortStableFunc(ipEvents, func(a, b ipnet.Event) int { return a.Time.Compare(b.Time) })
	ipBodies, err := jsonBodies(func(w *bytes.Buffer) error { return ipnet.WriteCloudTrail(w, oc.Seed, ipEvents) })
	if err != nil {
		return nil, err
	}

	// API: cron-like roles and people over sixteen weeks, twelve for training.
	ac := apicalls.DefaultConfig(1)
	ac.CronRoles, ac.Humans = 12, 12
	api, err := apicalls.Generate(ac)
	if err != nil {
		return nil, err
	}
	cut := api.Day(84)
	held := slices.IndexFunc(api.Events, func(e apicalls.Event) bool { d, _ := periodicity.DayOf(e.Time); return d >= cut })
	for _, e := range api.Events[:held] {
		col.AddCall(e.Call)
	}
	cfg.APIWindow = periodicity.Window{First: api.Day(0), Last: cut - 1}

	// Kerberos: a domain over two days, the first for training; the second has attacks.
	krb, err := synthkrb.Generate(synthkrb.Config{Seed: 1, Duration: 48 * time.Hour, Workstations: 150,
		AppServers: 8, FileServers: 3, TerminalServers: 2, Attacks: synthkrb.StandardAttacks(24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	split := krb.Records[0].Time.Truncate(24 * time.Hour).Add(24 * time.Hour)
	for i := range krb.Records {
		if krb.Records[i].Time.Before(split) {
			col.AddKerberos(krb.Records[i].Request)
		}
	}
	res, err := train.Train(context.Background(), col.Data(), cfg)
	if err != nil {
		return nil, err
	}

	// The chunk's Kerberos rows start mid-morning of the held-out day; everything from an hour
	// and a half before is warm-up.
	const n, perBlock = 2000, 20
	from := slices.IndexFunc(krb.Records, func(r synthkrb.Record) bool { return !r.Time.Before(split.Add(10 * time.Hour)) })
	warmFrom := slices.IndexFunc(krb.Records, func(r synthkrb.Record) bool { return !r.Time.Before(split.Add(8*time.Hour + 30*time.Minute)) })
	krbBodies, err := jsonBodies(func(w *bytes.Buffer) error { return synthkrb.WriteZeekJSON(w, krb.Records[warmFrom:]) })
	if err != nil {
		return nil, err
	}
	krbWarm, krbBodies := krbBodies[:from-warmFrom], krbBodies[from-warmFrom:]

	// The chunk's API calls start at noon of a held-out day; that day's earlier calls are warm-up.
	noon := api.Day(90).Time().Add(12 * time.Hour)
	day := slices.IndexFunc(api.Events, func(e apicalls.Event) bool { return !e.Time.Before(api.Day(90).Time()) })
	at := slices.IndexFunc(api.Events, func(e apicalls.Event) bool { return !e.Time.Before(noon) })
	var apiWarm, apiBodies []map[string]any
	for i := day; i < len(api.Events) && len(apiBodies) < n/4; i++ {
		text, err := api.CloudTrailRecord(i)
		if err != nil {
			return nil, err
		}
		body, err := fluentBitBody(text)
		if err != nil {
			return nil, err
		}
		if i < at {
			apiWarm = append(apiWarm, body)
		} else {
			apiBodies = append(apiBodies, body)
		}
	}

	var bodies []plugintest.Body
	r := rand.New(rand.NewPCG(1, 2))
	ct, k, g := 0, 0, 0
	for i := range n {
		switch slot := i % perBlock; {
		case slot < 10:
			var body map[string]any
			if ct%2 == 0 {
				body = apiBodies[ct/2%len(apiBodies)]
			} else {
				body = ipBodies[ct/2%len(ipBodies)]
			}
			ct++
			bodies = append(bodies, plugintest.Body{Kind: ecs.KindCloudTrail, Map: enrichCloudTrail(r, body)})
		case slot < 16:
			bodies = append(bodies, plugintest.Body{Kind: ecs.KindKerberos, Map: krbBodies[k%len(krbBodies)]})
			k++
		case slot < 19:
			bodies = append(bodies, plugintest.Body{Kind: ecs.KindGeneric, Map: containerLog(r, g)})
			g++
		default:
			e := &ipEvents[(i/perBlock*7919)%len(ipEvents)]
			bodies = append(bodies, plugintest.Body{Kind: ecs.KindGuardDuty, Map: guardDutyFinding(r, e, i)})
		}
	}
	chunk, err := plugintest.Chunk(bodies)
	if err != nil {
		return nil, err
	}
	krbOnly := make([]plugintest.Body, n)
	for i := range krbOnly {
		krbOnly[i] = plugintest.Body{Kind: ecs.KindKerberos, Map: krbBodies[i%len(krbBodies)]}
	}
	kerberos, err := plugintest.Chunk(krbOnly)
	if err != nil {
		return nil, err
	}
	w := &workload{chunk: chunk, n: n, kerberos: kerberos, bundle: res.Bundle}
	for _, body := range slices.Concat(krbWarm, apiWarm) {
		w.warm = proc.Append(w.warm, body, time.Now())
	}
	return w, nil
}

// jsonBodies renders JSON lines with write and reads them back as Fluent Bit's JSON parser
// hands them over.
func jsonBodies(write func(*bytes.Buffer) error) ([]map[string]any, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return nil, err
	}
	var out []map[string]any
	for line := range bytes.Lines(buf.Bytes()) {
		body, err := fluentBitBody(line)
		if err != nil {
			return nil, err
		}
		out = append(out, body)
	}
	return out, nil
}

// fluentBitBody decodes one JSON object with the number types Fluent Bit's JSON parser
// produces: integers as integers, the rest as floats.
func fluentBitBody(text []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return fluentBitValue(v).(map[string]any), nil
}

func fluentBitValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fluentBitValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fluentBitValue(e)
		}
	}
	return v
}

// enrichCloudTrail returns a copy of a generated event with the free-form parts real events
// of its kind carry, which the generators leave out.
func enrichCloudTrail(r *rand.Rand, ev map[string]any) map[string]any {
	out := make(map[string]any, len(ev)+6)
	for k, v := range ev {
		out[k] = v
	}
	name, _ := ev["eventName"].(string)
	source, _ := ev["eventSource"].(string)
	account, _ := ev["recipientAccountId"].(string)
	host := strings.TrimSuffix(source, ".amazonaws.com") + ".us-east-1.amazonaws.com"
	out["tlsDetails"] = map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
	out["sessionCredentialFromConsole"] = "true"
	switch {
	case name == "AssumeRole":
		role := fmt.Sprintf("arn:aws:iam::%s:role/deploy-%d", account, r.IntN(20))
		out["requestParameters"] = map[string]any{"roleArn": role, "roleSessionName": fmt.Sprintf("session-%d", r.IntN(1e6)), "durationSeconds": int64(3600)}
		out["responseElements"] = map[string]any{
			"credentials":     map[string]any{"accessKeyId": "ASIA" + strings.Repeat("X", 16), "sessionToken": strings.Repeat("IQoJb3JpZ2luX2VjE", 24), "expiration": "Mar 3, 2025, 11:00:00 AM"},
			"assumedRoleUser": map[string]any{"assumedRoleId": "AROAEXAMPLE:session", "arn": role},
		}
		out["resources"] = []any{map[string]any{"ARN": role, "accountId": account, "type": "AWS::IAM::Role"}}
	case strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List"):
		out["requestParameters"] = map[string]any{
			"filterSet":  map[string]any{"items": []any{map[string]any{"name": "instance-state-name", "valueSet": map[string]any{"items": []any{map[string]any{"value": "running"}}}}}},
			"maxResults": int64(100), "nextToken": fmt.Sprintf("eyJ2IjoxLCJjIjoi%08x", r.Uint32()),
		}
		out["responseElements"] = nil
	case strings.HasPrefix(name, "Get"):
		bucket := fmt.Sprintf("logs-%s", account)
		out["requestParameters"] = map[string]any{"bucketName": bucket, "Host": bucket + ".s3.us-east-1.amazonaws.com", "key": fmt.Sprintf("app/2025/03/%02d/part-%05d.json.gz", r.IntN(28)+1, r.IntN(1e5))}
		out["additionalEventData"] = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": int64(0),
			"AuthenticationMethod": "AuthHeader", "x-amz-id-2": "Xz" + strings.Repeat("a1B2", 14), "bytesTransferredOut": int64(r.IntN(1 << 20))}
		out["resources"] = []any{
			map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + bucket + "/app/part.json.gz"},
			map[string]any{"accountId": account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + bucket},
		}
	default:
		out["requestParameters"] = map[string]any{"resourceId": fmt.Sprintf("res-%08x", r.Uint32()), "tags": []any{map[string]any{"key": "team", "value": "platform"}}}
		out["responseElements"] = map[string]any{"requestId": fmt.Sprintf("%08x-%04x", r.Uint32(), r.Uint32()&0xffff), "return": true}
	}
	return out
}

// guardDutyFinding is an IAM finding about the principal of e, seen from e's address, shaped
// as GuardDuty writes one.
func guardDutyFinding(r *rand.Rand, e *ipnet.Event, i int) map[string]any {
	at := e.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	detector := "3ab4a4be46389973d8f5f33bc86a29ea"
	id := fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
	return map[string]any{
		"schemaVersion": "2.0", "accountId": e.Identity.AccountID, "region": "us-east-1", "partition": "aws", "id": id,
		"arn":      fmt.Sprintf("arn:aws:guardduty:us-east-1:%s:detector/%s/finding/%s", e.Identity.AccountID, detector, id),
		"type":     "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
		"severity": float64(2+r.IntN(7)) + 0.5, "confidence": 7.5,
		"title":       "Credentials for an EC2 instance role were used from a remote AWS account.",
		"description": "Credentials created exclusively for an EC2 instance were used from an external IP address.",
		"createdAt":   at, "updatedAt": at,
		"resource": map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
			"accessKeyId": "ASIA" + strings.Repeat("Q", 16), "principalId": e.Principal(), "userType": e.Identity.Type, "userName": e.Identity.Name,
		}},
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": detector, "archived": false, "count": int64(1 + r.IntN(20)),
			"eventFirstSeen": at, "eventLastSeen": at, "resourceRole": "TARGET",
			"action": map[string]any{"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{
				"api": "ListBuckets", "serviceName": "s3.amazonaws.com", "callerType": "Remote IP", "affectedResources": map[string]any{},
				"remoteIpDetails": map[string]any{
					"ipAddressV4":  e.IP.String(),
					"organization": map[string]any{"asn": "16509", "asnOrg": "AMAZON-02", "isp": "Amazon.com", "org": "Amazon.com"},
					"country":      map[string]any{"countryName": "United States"}, "city": map[string]any{"cityName": "Ashburn"},
					"geoLocation": map[string]any{"lat": 39.0481, "lon": -77.4728},
				},
			}},
			"additionalInfo": map[string]any{"value": `{"userAgent":{"fullUserAgent":"aws-cli/2.15.30","userAgentCategory":"CLI"}}`, "type": "default"},
		},
	}
}

// containerLog is a line of an application's output as Fluent Bit's tail input and
// Kubernetes filter hand it over: the text under "log", and the pod's metadata.
func containerLog(r *rand.Rand, i int) map[string]any {
	app := []string{"checkout", "catalog", "payments", "gateway"}[i%4]
	return map[string]any{
		"log":    fmt.Sprintf("2025-03-24T10:%02d:%02d.%03dZ INFO [http] GET /api/v1/items/%d 200 %dms", i/60%60, i%60, r.IntN(1000), r.IntN(1e5), 1+r.IntN(300)),
		"stream": "stdout", "time": "2025-03-24T10:00:00.000000000Z",
		"kubernetes": map[string]any{
			"pod_name": fmt.Sprintf("%s-7d9f8b6c5-%05d", app, i%7), "namespace_name": "shop", "pod_id": fmt.Sprintf("5b7c2a1e-%04d-4c3b-9a8d-1f2e3d4c5b6a", i%7),
			"labels":         map[string]any{"app": app, "pod-template-hash": "7d9f8b6c5"},
			"annotations":    map[string]any{"kubectl.kubernetes.io/restartedAt": "2025-03-20T08:00:00Z"},
			"host":           fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i%4, 10+i%7),
			"container_name": app, "docker_id": strings.Repeat("4f3c2b1a", 8),
			"container_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + app + ":1.42.0",
		},
	}
}
