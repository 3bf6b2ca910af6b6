package plugintest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/esfault"
	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// The acceptance test of issue 14: the real Fluent Bit 5.1.1, a tail input with filesystem
// storage and retry_limit no_limits, the plugin, the real Elasticsearch. The test writes its own
// lines (distinct ones, each with a marker of its choosing, and runs of byte-identical lines
// written at different times) and checks from its own side, by those markers and, for the
// identical lines, by how many documents hold that very line, that every line is in
// Elasticsearch exactly once or in the dead letter whole. Each fault of the matrix is one run;
// the table of what happened is printed at the end.

// The two runs of identical lines, the example: three of the first, four of the second,
// written at different times.
const (
	failedLine = "sshd[811]: Failed password for root from 203.0.113.9 port 22 ssh2"
	downLine   = "kernel: eth0 link down"
)

// feed writes the test's input lines and remembers what each must become.
type feed struct {
	t      *testing.T
	f      *os.File
	prefix string
	next   int
	// want counts the documents each unit must give (1 for a distinct line, the number of
	// occurrences for an identical one); line is its text, to check a dead letter is whole.
	want map[string]int
	line map[string]string
}

func newFeed(t *testing.T, dir, prefix string) *feed {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "input"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "input", "app.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &feed{t: t, f: f, prefix: prefix, want: map[string]int{}, line: map[string]string{}}
}

// put writes one line, whole, in one write, as a logger does.
func (fd *feed) put(key, text string) {
	fd.t.Helper()
	if _, err := fd.f.WriteString(text + "\n"); err != nil {
		fd.t.Fatal(err)
	}
	fd.want[key]++
	fd.line[key] = text
}

// distinct writes n distinct lines: CloudTrail events (marker: eventID), JSON objects no
// processor knows (marker: a field of their own), plain text (marker in the text). shape, if
// not nil, gives the JSON objects a "shape" field (a mapping conflict when its type changes).
func (fd *feed) distinct(n int, shape func(i int) any) {
	for range n {
		i := fd.next
		fd.next++
		m := fmt.Sprintf("%s-%05d", fd.prefix, i)
		switch i % 3 {
		case 0:
			ev := plugintest.CloudTrail(i)
			ev["eventID"] = m
			fd.put("ct:"+m, mustJSON(fd.t, ev))
		case 1:
			obj := map[string]any{"marker": m, "n": i, "msg": "GET /api/items/" + fmt.Sprint(i) + " 200"}
			if shape != nil {
				obj["shape"] = shape(i)
			}
			fd.put("m:"+m, mustJSON(fd.t, obj))
		default:
			text := fmt.Sprintf("%s worker[%d]: job done marker=%s", plugintest.Base.Format(time.RFC3339), i, m)
			fd.put("t:"+text, text)
		}
	}
}

// identical writes one occurrence of each identical line; runs has the second one twice in a
// row (likely the same chunk).
func (fd *feed) identical(twice bool) {
	fd.put("t:"+failedLine, failedLine)
	fd.put("t:"+downLine, downLine)
	if twice {
		fd.put("t:"+downLine, downLine)
	}
}

func (fd *feed) total() int {
	n := 0
	for _, c := range fd.want {
		n += c
	}
	return n
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unitOf tells which input unit a document stands for, from the document's own fields: the
// CloudTrail event.id, the JSON object's marker, or the text line.
func unitOf(doc map[string]any) string {
	if id, ok := field(doc, "event.id").(string); ok && field(doc, "data_stream.dataset") == "siemscore.cloudtrail" {
		return "ct:" + id
	}
	if m, ok := doc["marker"].(string); ok {
		return "m:" + m
	}
	if l, ok := doc["log"].(string); ok {
		return "t:" + l
	}
	return ""
}

// tally is what one run ended with, per input unit.
type tally struct {
	in, written, deadLettered, duplicates, lost int
	// unexplained documents match no input line; notWhole dead letters lack part of their line.
	unexplained, notWhole int
	dupUnits              []string
	toFile                int
	versions              int // distinct model versions among the CloudTrail documents
}

// count reads back everything the run produced: the documents of the namespace, the dead
// letters of its data stream and of its dead-letter directory.
func count(t *testing.T, db es, ns, dlq string, fd *feed) tally {
	t.Helper()
	var tl tally
	docs := map[string]int{}
	versions := map[any]bool{}
	db.scroll(target.DataStream("cloudtrail", ns)+","+target.DataStream("generic", ns), nil, func(doc map[string]any) {
		u := unitOf(doc)
		if fd.want[u] == 0 {
			tl.unexplained++
			return
		}
		docs[u]++
		if v := field(doc, "siemscore.model.version"); v != nil {
			versions[v] = true
		}
	})
	tl.versions = len(versions)
	dead := map[string]int{}
	letter := func(original string) {
		var doc map[string]any
		if err := json.Unmarshal([]byte(original), &doc); err != nil {
			tl.notWhole++
			return
		}
		u := unitOf(doc)
		if fd.want[u] == 0 {
			tl.unexplained++
			return
		}
		dead[u]++
		// Whole: the event as received (preserve_original) is the line, byte for byte.
		orig, _ := field(doc, "event.original").(string)
		if line := fd.line[u]; orig != line && orig != mustJSON(t, map[string]any{"log": line}) {
			tl.notWhole++
		}
	}
	db.scroll(target.DeadLetter(ns), nil, func(doc map[string]any) {
		o, _ := field(doc, "siemscore.deadletter.original").(string)
		letter(o)
	})
	files, _ := filepath.Glob(filepath.Join(dlq, "*.ndjson"))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(f)
		for {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				var doc map[string]any
				if json.Unmarshal(b, &doc) != nil {
					tl.notWhole++
				} else {
					o, _ := field(doc, "siemscore.deadletter.original").(string)
					letter(o)
					tl.toFile++
				}
			}
			if err != nil {
				break
			}
		}
		f.Close()
	}
	for u, want := range fd.want {
		tl.in += want
		es, dl := docs[u], dead[u]
		w := min(es, want)
		d := min(dl, want-w)
		tl.written += w
		tl.deadLettered += d
		if extra := es + dl - want; extra > 0 {
			tl.duplicates += extra
			tl.dupUnits = append(tl.dupUnits, u)
		}
		tl.lost += want - w - d
	}
	slices.Sort(tl.dupUnits)
	return tl
}

// run is one row of the matrix: a Fluent Bit with the plugin, fed by the test.
type run struct {
	t     *testing.T
	db    es
	ns    string
	dir   string
	feed  *feed
	fb    *flbtest.FluentBit
	proxy *esfault.Proxy
	// tooLarge counts the requests the proxy answered 413.
	tooLarge atomic.Int64
}

// deliveryConfig is the Fluent Bit configuration of a run: tail with filesystem storage,
// unlimited retries, short scheduler backoff so that a run takes seconds, the plugin with its
// dead-letter directory and preserve_original (so that a dead letter can be checked whole).
const deliveryConfig = `[SERVICE]
    Flush                 0.5
    Grace                 5
    Log_Level             info
    storage.path          {{dir}}/storage
    storage.sync          normal
    storage.backlog.mem_limit 16M
    scheduler.base        1
    scheduler.cap         3

[INPUT]
    Name               tail
    Path               {{dir}}/input/*.log
    Tag                app
    DB                 {{dir}}/tail.db
    Read_from_Head     On
    Refresh_Interval   1
    Buffer_Chunk_Size  64k
    Buffer_Max_Size    1M
    storage.type       filesystem

[OUTPUT]
    Name                 siemscore
    Match                *
    Workers              2
    Retry_Limit          no_limits
    es_hosts             %s
    es_namespace         %s
    shutdown_grace       2s
    preserve_original    on
    dead_letter_path     {{dir}}/dlq
%s`

// quick are the retry settings of the matrix's runs: a flush gives up after seconds, so that a
// run takes seconds.
const quick = "    es_retry_budget      2s\n    es_timeout           10s\n"

// start runs Fluent Bit against url (the proxy's or the server's) with extra output keys.
func (r *run) start(url, extra string) {
	r.t.Helper()
	fb, err := flbtest.StartFluentBit(flbtest.FluentBitConfig{
		Config:  fmt.Sprintf(deliveryConfig, url, r.ns, extra),
		Plugins: []string{plugin(r.t)},
		Dir:     r.dir,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.fb = fb
	r.t.Cleanup(func() {
		if r.t.Failed() {
			r.t.Logf("Fluent Bit log:\n%s", tailLines(fb.Logs(), 60))
		}
		_ = fb.Kill()
	})
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// docs counts the run's documents in its CloudTrail and generic data streams.
func (r *run) docs() int {
	n := 0
	r.db.scroll(target.DataStream("cloudtrail", r.ns)+","+target.DataStream("generic", r.ns), []string{"@timestamp"}, func(map[string]any) { n++ })
	return n
}

// waitDocs waits until the data streams hold at least n documents. When they do not, the run
// goes on: its tally says what is missing.
func (r *run) waitDocs(n int, limit time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := r.fb.WaitFor(ctx, 250*time.Millisecond, func() (bool, error) { return r.docs() >= n, nil }); err != nil {
		r.t.Errorf("%d documents expected by now: %v", n, err)
	}
}

// settle waits until every unit is accounted for (or the limit passes), then a little longer for
// late duplicates, and returns the tally.
func (r *run) settle(limit time.Duration) tally {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		tl := count(r.t, r.db, r.ns, filepath.Join(r.dir, "dlq"), r.feed)
		if tl.lost == 0 || time.Now().After(deadline) {
			break
		}
		if exited, err := r.fb.Exited(); exited {
			r.t.Fatalf("Fluent Bit exited: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a re-send still in flight would land now
	return count(r.t, r.db, r.ns, filepath.Join(r.dir, "dlq"), r.feed)
}

// backing returns the write index of a data stream.
func (r *run) writeIndex(ds string) string {
	r.t.Helper()
	var res struct {
		DataStreams []struct {
			Backing []string `json:"backing_indices"`
		} `json:"data_streams"`
	}
	r.db.call("GET", "/_resolve/index/"+ds, "", &res)
	if len(res.DataStreams) != 1 || len(res.DataStreams[0].Backing) == 0 {
		r.t.Fatalf("data stream %s: %+v", ds, res)
	}
	b := res.DataStreams[0].Backing
	return b[len(b)-1]
}

// apply runs an index API call on the write indices of the given data streams.
func (r *run) apply(method, op, body string, streams ...string) {
	r.t.Helper()
	for _, ds := range streams {
		idx := r.writeIndex(ds)
		if st := r.db.call(method, "/"+idx+"/"+op, body, nil); st != http.StatusOK {
			r.t.Fatalf("%s /%s/%s: HTTP %d", method, idx, op, st)
		}
	}
}

// resentFound adds up the duplicates=N of the plugin's stop lines: records a re-sent chunk found
// already written.
func resentFound(logs string) int {
	n := 0
	for _, m := range stoppedLine.FindAllStringSubmatch(logs, -1) {
		d, _ := strconv.Atoi(m[6])
		n += d
	}
	return n
}

// fault is one row of the matrix.
type fault struct {
	name string
	// direct runs Fluent Bit against the server rather than the proxy.
	direct bool
	extra  string
	// drive writes the input in phases around the fault.
	drive func(r *run)
	// duplicatesWhy, when set, is why Elasticsearch cannot prevent duplicates in this row; the
	// row may then show some, of generic lines only.
	duplicatesWhy string
}

// phases is the common shape: a first batch delivered, the fault on while the second is
// written, the fault off, a third batch.
func phases(on, off func(r *run)) func(r *run) {
	return func(r *run) {
		r.feed.distinct(60, nil)
		r.feed.identical(true)
		r.waitDocs(30, time.Minute)
		on(r)
		r.feed.distinct(60, nil)
		r.feed.identical(false)
		time.Sleep(4 * time.Second) // Fluent Bit flushes into the fault, retries
		off(r)
		r.feed.distinct(60, nil)
		r.feed.identical(false)
	}
}

func TestDeliveryFaultMatrixThroughFluentBit(t *testing.T) {
	flbtest.RequireFluentBit(t)
	db := newES(t)
	plugin(t)
	faults := []fault{
		{name: "Elasticsearch stopped and restarted", direct: true, drive: phases(
			func(r *run) { estest.Stop(r.t) },
			func(r *run) { estest.Start(r.t) })},
		{name: "429 storm", drive: phases(
			func(r *run) { r.proxy.SetItemFault(esfault.Storm(http.StatusTooManyRequests, 0.7, 0)) },
			func(r *run) { r.proxy.SetItemFault(nil) })},
		{name: "5xx", drive: phases(
			func(r *run) {
				r.proxy.SetItemFault(esfault.Storm(http.StatusInternalServerError, 0.5, 0))
				r.proxy.SetRequestFault(func(req *http.Request, n int) esfault.Fault {
					if strings.Contains(req.URL.Path, "_bulk") && n%2 == 0 {
						return esfault.Fault{Status: http.StatusServiceUnavailable}
					}
					return esfault.Fault{}
				})
			},
			func(r *run) { r.proxy.SetItemFault(nil); r.proxy.SetRequestFault(nil) })},
		{name: "closed index then reopened", drive: phases(
			func(r *run) {
				r.apply("POST", "_close", "", target.DataStream("cloudtrail", r.ns), target.DataStream("generic", r.ns))
			},
			func(r *run) {
				r.apply("POST", "_open", "", target.DataStream("cloudtrail", r.ns), target.DataStream("generic", r.ns))
			})},
		{name: "read-only block then lifted", drive: phases(
			func(r *run) {
				r.apply("PUT", "_settings", `{"index.blocks.read_only":true}`, target.DataStream("cloudtrail", r.ns), target.DataStream("generic", r.ns))
			},
			func(r *run) {
				r.apply("PUT", "_settings", `{"index.blocks.read_only":null}`, target.DataStream("cloudtrail", r.ns), target.DataStream("generic", r.ns))
			})},
		{name: "mapping conflict", drive: func(r *run) {
			r.feed.distinct(60, func(i int) any { return map[string]any{"a": i} })
			r.feed.identical(true)
			r.waitDocs(30, time.Minute)
			r.feed.distinct(60, func(i int) any { return fmt.Sprintf("flat-%d", i) }) // refused: dead letter
			r.feed.identical(false)
			r.feed.distinct(60, func(i int) any { return map[string]any{"a": i} })
			r.feed.identical(false)
		}},
		{name: "proxy answering 413 to big batches", drive: func(r *run) {
			const limit = 24 << 10
			r.proxy.SetRequestFault(func(req *http.Request, _ int) esfault.Fault {
				if strings.Contains(req.URL.Path, "_bulk") && req.ContentLength > limit {
					r.tooLarge.Add(1)
					return esfault.Fault{Status: http.StatusRequestEntityTooLarge}
				}
				return esfault.Fault{}
			})
			r.feed.distinct(60, nil)
			r.feed.identical(true)
			big := fmt.Sprintf(`{"marker":"%s-big","blob":"%s"}`, r.feed.prefix, strings.Repeat("z", 3*limit))
			r.feed.put("m:"+r.feed.prefix+"-big", big) // alone above the limit: the dead-letter file, whole
			r.feed.distinct(60, nil)
			r.feed.identical(false)
			r.feed.distinct(60, nil)
			r.feed.identical(false)
		}},
		{name: "dead-letter target unavailable", drive: func(r *run) {
			r.feed.distinct(60, func(i int) any { return map[string]any{"a": i} })
			r.feed.identical(true)
			r.feed.distinct(3, func(i int) any { return "flat" }) // creates the dead-letter data stream
			r.waitDocs(30, time.Minute)
			waitUntil(r.t, time.Minute, "the dead-letter data stream", func() bool {
				return r.db.call("GET", "/_resolve/index/"+target.DeadLetter(r.ns), "", nil) == http.StatusOK && len(r.db.search(target.DeadLetter(r.ns), "*", 1)) > 0
			})
			r.apply("POST", "_close", "", target.DeadLetter(r.ns))
			r.feed.distinct(60, func(i int) any { return fmt.Sprintf("flat-%d", i) })
			r.feed.identical(false)
			time.Sleep(4 * time.Second)
			r.apply("POST", "_open", "", target.DeadLetter(r.ns))
			r.feed.distinct(60, func(i int) any { return map[string]any{"a": i} })
			r.feed.identical(false)
		}},
		{name: "Fluent Bit kill -9 and restart on the same storage", drive: func(r *run) {
			r.feed.distinct(60, nil)
			r.feed.identical(true)
			r.waitDocs(30, time.Minute)
			// Elasticsearch writes the next chunks but their answers are held back: Fluent Bit
			// dies before it learns they got through, and sends them again after the restart.
			before := r.proxy.Stats().Forwarded
			r.proxy.SetRequestFault(func(req *http.Request, _ int) esfault.Fault {
				if strings.Contains(req.URL.Path, "_bulk") {
					return esfault.Fault{HoldAnswer: time.Minute}
				}
				return esfault.Fault{}
			})
			r.feed.distinct(90, nil)
			r.feed.identical(false)
			waitUntil(r.t, time.Minute, "chunks written but not acknowledged", func() bool { return r.proxy.Stats().Forwarded > before })
			time.Sleep(time.Second)
			if err := r.fb.Kill(); err != nil {
				r.t.Fatal(err)
			}
			r.proxy.SetRequestFault(nil)
			r.feed.distinct(60, nil) // written while Fluent Bit is down
			r.feed.identical(false)
			if err := r.fb.Restart(); err != nil {
				r.t.Fatal(err)
			}
			r.feed.distinct(30, nil)
		}, duplicatesWhy: "a line read again after the restart gets a new Fluent Bit timestamp, so a generic line that was sent but whose offset tail had not yet stored is a new event to the _id rule"},
		{name: "5 model swaps during the stream", direct: true,
			extra: "    model_bundle          {{dir}}/model.bundle\n    model_reload_interval 1s\n",
			drive: func(r *run) {
				for i := range 5 {
					r.feed.distinct(40, nil)
					r.feed.identical(i == 0)
					time.Sleep(1500 * time.Millisecond)
					if _, err := plugintest.PublishBundle(filepath.Join(r.dir, "model.bundle"), time.Date(2026, 11, 20, 1+i, 0, 0, 0, time.UTC), nil); err != nil {
						r.t.Fatal(err)
					}
				}
				r.feed.distinct(40, nil)
			}},
	}

	var rows []string
	var mu sync.Mutex
	start := time.Now()
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			began := time.Now()
			r := &run{t: t, db: es{t, db.url}, ns: estest.Namespace(t), dir: t.TempDir()}
			r.feed = newFeed(t, r.dir, fmt.Sprintf("r%d", i))
			url := db.url
			if !f.direct {
				r.proxy = esfault.New(t, db.url)
				url = r.proxy.URL()
			}
			if strings.Contains(f.extra, "model.bundle") {
				if _, err := plugintest.PublishBundle(filepath.Join(r.dir, "model.bundle"), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), nil); err != nil {
					t.Fatal(err)
				}
			}
			r.start(url, quick+strings.ReplaceAll(f.extra, "{{dir}}", r.dir))
			f.drive(r)
			tl := r.settle(2 * time.Minute)
			stopped := time.Now()
			if err := r.fb.Stop(30 * time.Second); err != nil {
				t.Errorf("stop: %v", err)
			}
			stopTook := time.Since(stopped)

			retries := strings.Count(r.fb.Logs(), "retry in")
			note := ""
			if r.proxy != nil && len(r.proxy.Stats().Faked) > 0 {
				note = fmt.Sprintf("proxy answered items %v; ", r.proxy.Stats().Faked)
			}
			if tl.duplicates > 0 {
				note += "duplicates: " + strings.Join(tl.dupUnits, ", ")
			}
			if n := r.tooLarge.Load(); n > 0 {
				note += fmt.Sprintf("%d requests answered 413; ", n)
			}
			if tl.toFile > 0 {
				note += fmt.Sprintf("%d of them in the dead-letter file", tl.toFile)
			}
			if strings.Contains(f.extra, "model.bundle") {
				note += fmt.Sprintf("%d model versions scored the records", tl.versions)
			}
			if again := resentFound(r.fb.Logs()); again > 0 {
				note += fmt.Sprintf("%d records found already written when re-sent (409)", again)
			}
			mu.Lock()
			rows = append(rows, fmt.Sprintf("| %-48s | %4d | %7d | %13d | %10d | %4d | %10d | %5.1fs | %4.1fs | %s",
				f.name, tl.in, tl.written, tl.deadLettered, tl.duplicates, tl.lost, retries, time.Since(began).Seconds(), stopTook.Seconds(), note))
			mu.Unlock()

			if tl.lost != 0 || tl.unexplained != 0 || tl.notWhole != 0 {
				t.Errorf("%s: %d lost, %d unexplained documents, %d dead letters not whole (of %d lines)", f.name, tl.lost, tl.unexplained, tl.notWhole, tl.in)
			}
			if tl.duplicates > 0 {
				if f.duplicatesWhy == "" {
					t.Errorf("%s: %d duplicates: %v", f.name, tl.duplicates, tl.dupUnits)
				}
				for _, u := range tl.dupUnits {
					if !strings.HasPrefix(u, "t:") && !strings.HasPrefix(u, "m:") {
						t.Errorf("%s: a typed event was duplicated (%s); its _id is its content", f.name, u)
					}
				}
			}
			if stopTook > 15*time.Second {
				t.Errorf("Fluent Bit took %v to stop", stopTook)
			}
		})
	}
	t.Logf("fault matrix through the real Fluent Bit (%s in all):\n| %-48s | %4s | %7s | %13s | %10s | %4s | %10s | %6s | %5s | note\n%s", time.Since(start).Round(time.Second),
		"fault", "in", "written", "dead-lettered", "duplicates", "lost", "FB retries", "run", "stop", strings.Join(rows, "\n"))
}

// TestStopWhileElasticsearchHangs stops the real Fluent Bit while every bulk request hangs, with
// the default es_retry_budget and es_timeout (30 s each): the stop must take Fluent Bit's Grace
// plus shutdown_grace, not a minute, and the chunks cut short must be kept and delivered, each
// line once, after the restart.
func TestStopWhileElasticsearchHangs(t *testing.T) {
	flbtest.RequireFluentBit(t)
	db := newES(t)
	r := &run{t: t, db: db, ns: estest.Namespace(t), dir: t.TempDir()}
	r.feed = newFeed(t, r.dir, "hang")
	r.proxy = esfault.New(t, db.url)
	var hung sync.Once
	entered := make(chan struct{})
	r.proxy.SetRequestFault(func(req *http.Request, _ int) esfault.Fault {
		if strings.Contains(req.URL.Path, "_bulk") {
			hung.Do(func() { close(entered) })
			return esfault.Fault{Delay: 10 * time.Minute}
		}
		return esfault.Fault{}
	})
	// The defaults of es_retry_budget and es_timeout (30 s each), as most deployments run.
	r.start(r.proxy.URL(), "")
	r.feed.distinct(30, nil)
	r.feed.identical(true)
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("no bulk request reached the proxy")
	}
	time.Sleep(time.Second)
	began := time.Now()
	if err := r.fb.Stop(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	// Fluent Bit's Grace (5 s) and shutdown_grace (2 s), plus the time to wind down.
	if took > 12*time.Second {
		t.Errorf("Fluent Bit took %v to stop while a flush hung on Elasticsearch", took)
	}
	if !strings.Contains(r.fb.Logs(), "Fluent Bit is stopping; deliveries still running after shutdown_grace will be cancelled") {
		t.Errorf("the plugin did not see the stop:\n%s", tailLines(r.fb.Logs(), 30))
	}
	t.Logf("stopped in %v with a bulk request hanging", took.Round(10*time.Millisecond))

	r.proxy.SetRequestFault(nil)
	if err := r.fb.Restart(); err != nil {
		t.Fatal(err)
	}
	tl := r.settle(time.Minute)
	if tl.lost != 0 || tl.duplicates != 0 || tl.unexplained != 0 || tl.written != tl.in {
		t.Errorf("after the restart: %+v", tl)
	}
}
