package companion

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/reader/readertest"
	"github.com/siemscore/siemscore/models/synth/ipnet"
	"github.com/siemscore/siemscore/processors/ecs"
)

// envRetrainDocs turns BenchmarkRetrainFromElasticsearch on: the number of CloudTrail documents
// to index and retrain from (1000000 for the figures in ../README.md). Indexing them takes
// minutes and gigabytes, so neither `make test` nor a plain -bench run does it.
const envRetrainDocs = "SIEMSCORE_RETRAIN_DOCS"

// The training's log lines (text log of `siemscore train`) with the documents read and the
// summary.
var (
	readLine = regexp.MustCompile(`read CloudTrail \(principal, IP\) pairs.* documents=(\d+)`)
	doneLine = regexp.MustCompile(`training done.* read=(\S+) train=(\S+) peak_heap_mib=(\d+)`)
)

// BenchmarkRetrainFromElasticsearch indexes $SIEMSCORE_RETRAIN_DOCS CloudTrail documents of
// synthetic organisations over 30 days, then times `siemscore train --from-es` on them, the
// trainer the companion runs, as a process of its own: reading (scan of the data stream) and
// training, as the trainer logs them, and the process's peak resident memory (its rusage
// maxrss, the kernel's VmHWM) next to the Go heap peak the trainer reports.
func BenchmarkRetrainFromElasticsearch(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv(envRetrainDocs))
	if testing.Short() || n <= 0 {
		b.Skipf("set %s to the number of documents (e.g. 1000000) to index and retrain from; not under -short", envRetrainDocs)
	}
	_, cli := binaries(b)
	e := newEnv(b)
	ns := readertest.Namespace(b, e.url)
	const days = 30
	start := time.Now()
	indexOrgs(b, e.url, ns, n, days)
	b.Logf("indexed %d CloudTrail documents in %v", n, time.Since(start).Round(time.Second))

	var read, train time.Duration
	var rssKiB int64
	var heapMiB float64
	for b.Loop() {
		cmd := exec.Command(cli, "train", "--from-es", "--es-url", e.url, "--models-index", e.models.Name(),
			"--cloudtrail-index", readertest.Stream(ecs.KindCloudTrail, ns),
			"--kerberos-index", readertest.Stream(ecs.KindKerberos, ns), "--window", strconv.Itoa((days+1)*24)+"h")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			b.Fatalf("siemscore train --from-es: %v\n%s\n%s", err, out, stderr.String())
		}
		if m := readLine.FindStringSubmatch(stderr.String()); m == nil || m[1] != strconv.Itoa(n) {
			b.Fatalf("the training did not read the %d documents indexed:\n%s", n, stderr.String())
		}
		m := doneLine.FindStringSubmatch(stderr.String())
		if m == nil {
			b.Fatalf("no training summary in the log:\n%s", stderr.String())
		}
		r, err1 := time.ParseDuration(m[1])
		t, err2 := time.ParseDuration(m[2])
		if err1 != nil || err2 != nil {
			b.Fatalf("training summary %q: %v %v", m[0], err1, err2)
		}
		read, train = read+r, train+t
		heapMiB, _ = strconv.ParseFloat(m[3], 64)
		rssKiB = max(rssKiB, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	b.ReportMetric(read.Seconds()/float64(b.N), "read-s")
	b.ReportMetric(train.Seconds()/float64(b.N), "train-s")
	b.ReportMetric(float64(rssKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(heapMiB, "peak-heap-MiB")
}

// indexOrgs writes the first n events of synthetic organisations active over the last days days
// into namespace ns, through the plugin's processors and delivery, a batch at a time so that the
// benchmark never holds a million documents.
func indexOrgs(b *testing.B, url, ns string, n, days int) {
	cfg := ipnet.DefaultOrgConfig()
	// About 17,000 events per organisation of 100 people over 30 days.
	cfg.Orgs, cfg.Members, cfg.Days, cfg.TrainDays = n/15000+1, 100, days, days-1
	cfg.Start = time.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour).Truncate(24 * time.Hour)
	data, err := ipnet.Org(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var events []ipnet.Event
	for _, e := range append(data.Train, data.Test...) {
		if e.Time.Before(time.Now()) {
			events = append(events, e)
		}
	}
	if len(events) < n {
		b.Fatalf("%d organisations make %d events, fewer than %d", cfg.Orgs, len(events), n)
	}
	const batch = 20000
	for i := 0; i < n; i += batch {
		var buf bytes.Buffer
		// The seed numbers the batch: event IDs derive from it and the index in the batch.
		if err := ipnet.WriteCloudTrail(&buf, uint64(1000+i/batch), events[i:min(i+batch, n)]); err != nil {
			b.Fatal(err)
		}
		readertest.Deliver(b, url, ns, readertest.Records(b, readertest.JSONLines(b, &buf), nil))
	}
}
