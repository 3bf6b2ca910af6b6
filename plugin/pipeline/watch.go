package pipeline

import (
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/plugin/safe"
)

// fileStamp is what tells a changed file from the one already seen. The trainer and database
// updaters (geoipupdate, npm) publish by renaming a new file into place, which gives a new inode
// even when the size and the (coarse, on some file systems) modification time are the same.
type fileStamp struct {
	info os.FileInfo
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi}, nil
}

func (s fileStamp) same(o fileStamp) bool {
	return s.info != nil && o.info != nil && os.SameFile(s.info, o.info) &&
		s.info.ModTime().Equal(o.info.ModTime()) && s.info.Size() == o.info.Size()
}

// stamps takes the stamps of every path; a file that is missing (mid-rename) has the zero stamp.
func stamps(paths []string) []fileStamp {
	out := make([]fileStamp, len(paths))
	for i, p := range paths {
		out[i], _ = stampOf(p)
	}
	return out
}

func sameStamps(a, b []fileStamp) bool {
	return slices.EqualFunc(a, b, func(x, y fileStamp) bool { return x.same(y) })
}

// watcher calls reload every interval in which one of its files changed and all of them are
// present (a file missing mid-rename shows up on a later tick). What it saw last is what it
// compares with next, so a broken file is reported once, not on every tick.
type watcher struct {
	paths  []string
	seen   []fileStamp
	reload func()
	what   string // names the watcher in a panic's log line
	log    hclog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
}

// watch starts a watcher of paths, whose stamps were seen (taken before their content was
// loaded, so that a change during the load is not missed). A reload that panics is logged, as
// what, and the next change is reloaded as usual; what was loaded before stays in use.
func watch(paths []string, seen []fileStamp, interval time.Duration, reload func(), what string, log hclog.Logger) *watcher {
	w := &watcher{paths: paths, seen: seen, reload: reload, what: what, log: log, stop: make(chan struct{})}
	w.done.Add(1)
	safe.Go(log, what, func() { w.run(interval) })
	return w
}

func (w *watcher) run(interval time.Duration) {
	defer w.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		now := stamps(w.paths)
		if sameStamps(now, w.seen) || slices.ContainsFunc(now, func(s fileStamp) bool { return s.info == nil }) {
			continue
		}
		w.seen = now
		_ = safe.Do(w.log, w.what, w.reload)
	}
}

// Close stops the watcher and waits for a reload in progress.
func (w *watcher) Close() {
	close(w.stop)
	w.done.Wait()
}
