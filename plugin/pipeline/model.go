package pipeline

import (
	"errors"
	"fmt"
	"runtime/debug"
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
	path  string
	opt   bundle.DecodeOptions
	log   hclog.Logger
	watch *watcher // nil without reloading
}

// openModel loads the bundle at path, read with opt, into a scorer made with scoring; an error
// names the model_bundle key. interval 0 turns reloading off.
func openModel(path string, interval time.Duration, opt bundle.DecodeOptions, scoring []score.Option, log hclog.Logger) (*model, error) {
	m := &model{Scorer: score.New(scoring...), path: path, opt: opt, log: log}
	seen := stamps([]string{path})
	if err := m.load(); err != nil {
		return nil, fmt.Errorf("model_bundle: %w", err)
	}
	if interval > 0 {
		m.watch = watch([]string{path}, seen, interval, m.reload, "bundle watcher", log)
	}
	return m, nil
}

// load reads the file and makes it the current bundle.
func (m *model) load() error {
	b, err := bundle.ReadFile(m.path, m.opt)
	if err != nil {
		return err
	}
	if err := m.Load(b); err != nil {
		return err
	}
	// A bundle is read whole, then decoded: the file's bytes (about the model's size) are
	// garbage once it is decoded, and after a swap so is the previous bundle. Handing that memory
	// back now keeps Fluent Bit's resident set at what the plugin uses, not at this peak.
	debug.FreeOSMemory()
	args := []any{"version", b.VersionString(), "trained_at", b.TrainedAt().Format(time.RFC3339), "sections", b.Tags()}
	if u := b.Unknown(); len(u) > 0 {
		args = append(args, "unknown_sections", u)
	}
	m.log.Info("model bundle loaded", args...)
	return nil
}

func (m *model) reload() {
	switch err := m.load(); {
	case errors.Is(err, score.ErrNotNewer):
		m.log.Debug("model bundle file changed but holds no newer bundle", "error", err)
	case err != nil:
		m.log.Warn("model bundle not reloaded; scoring goes on with the current one", "error", err)
	}
}

// Close stops the reloading.
func (m *model) Close() error {
	if m.watch != nil {
		m.watch.Close()
	}
	return nil
}
