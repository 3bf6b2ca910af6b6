package pipeline

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/score"
)

// model is the scorer of an instance with a bundle file: it loads the bundle at start-up and,
// every interval, loads it again if the file changed (the trainer publishes a new bundle by
// renaming it into place). A bundle that fails to load is reported and the current one kept.
type model struct {
	*score.Scorer
	path string
	opt  bundle.DecodeOptions
	log  hclog.Logger

	stamp fileStamp // of the file last loaded or refused
	stop  chan struct{}
	done  sync.WaitGroup
}

// fileStamp is what tells a changed bundle file from the one already seen. The trainer
// publishes by renaming a new file into place, which gives a new inode even when the size and
// the (coarse, on some file systems) modification time are the same.
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

// openModel loads the bundle at path, read with opt; an error names the model_bundle key.
// interval 0 turns reloading off.
func openModel(path string, interval time.Duration, opt bundle.DecodeOptions, log hclog.Logger) (*model, error) {
	m := &model{Scorer: score.New(), path: path, opt: opt, log: log, stop: make(chan struct{})}
	if err := m.load(); err != nil {
		return nil, fmt.Errorf("model_bundle: %w", err)
	}
	if interval > 0 {
		m.done.Add(1)
		go m.watch(interval)
	}
	return m, nil
}

// load reads the file and makes it the current bundle.
func (m *model) load() error {
	stamp, err := stampOf(m.path)
	if err != nil {
		return err
	}
	m.stamp = stamp
	b, err := bundle.ReadFile(m.path, m.opt)
	if err != nil {
		return err
	}
	if err := m.Load(b); err != nil {
		return err
	}
	args := []any{"version", b.VersionString(), "trained_at", b.TrainedAt().Format(time.RFC3339), "sections", b.Tags()}
	if u := b.Unknown(); len(u) > 0 {
		args = append(args, "unknown_sections", u)
	}
	m.log.Info("model bundle loaded", args...)
	return nil
}

func (m *model) watch(interval time.Duration) {
	defer m.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		stamp, err := stampOf(m.path)
		if err != nil || stamp.same(m.stamp) {
			continue // a missing file mid-rename shows up again on the next tick
		}
		switch err := m.load(); {
		case errors.Is(err, score.ErrNotNewer):
			m.log.Debug("model bundle file changed but holds no newer bundle", "error", err)
		case err != nil:
			m.log.Warn("model bundle not reloaded; scoring goes on with the current one", "error", err)
		}
	}
}

// Close stops the reloading.
func (m *model) Close() error {
	close(m.stop)
	m.done.Wait()
	return nil
}
