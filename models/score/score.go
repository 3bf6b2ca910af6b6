// Package score is the scorer the plugin and the CLI use: it holds the current model bundle and
// fills a record's siemscore.* fields and event.risk_score(_norm).
//
// # Swapping models
//
// The bundle sits behind an atomic.Pointer: loading a new one is a single pointer store, with no
// lock on the scoring path. Score loads the pointer exactly once per record and passes that
// bundle to every part, so a record is always scored by one bundle version, even when a swap
// happens mid-record; siemscore.model.version names it.
//
// # Parts
//
// Each siemscore.* namespace is filled by one part (one file: ip.go, guardduty.go, …), listed
// per record kind in parts.go. A part reads its section of the bundle; when the bundle has no
// such section the part reports status "unscored" with reason model_section_missing.
//
// # Risk
//
// event.risk_score_norm is the maximum score_norm of the parts that contribute to the record's
// risk, so any one anomalous aspect (an unusual IP, an unusual Kerberos host, an unusual API
// rhythm) is enough to raise it, and no part can hide another. event.risk_score is the same
// value on our 0–100 scale, except for GuardDuty findings, which keep GuardDuty's own severity
// there (ECS: "use your system's original value"). On a GuardDuty finding the IP part is an input
// of the fused GuardDuty score, not a separate contribution. When no part contributes, both
// fields are left as the processor set them.
package score

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/jsonw"
)

// Scorer scores records with the current bundle. It is safe for concurrent use.
type Scorer struct {
	cur atomic.Pointer[bundle.Bundle]
	// kerberos is the Kerberos part bound to this scorer's host-window state, which belongs to
	// the scorer rather than to a bundle so that a model swap keeps every host's window.
	kerberos []part
	// cloudtrail is the IP part and the API part bound to this scorer's per-pair day counts,
	// which likewise outlive bundles.
	cloudtrail []part
}

// MaxStateBytes bounds the heap of a Scorer's streaming state, the Kerberos host windows and the
// API pair counts, whatever the records it scores: each table's cap times its per-entry bound
// (137 MiB; a typical full state is nearer 65 MiB). Nothing else in a Scorer grows with the
// records: the IP and GuardDuty parts only read the bundle.
const MaxStateBytes = kerberos.DefaultMaxHosts*kerberos.StateBytesPerHost +
	kerberos.DefaultMaxServers*kerberos.StateBytesPerServer +
	periodicity.DefaultStateCapacity*periodicity.StateBytesPerPair

// New returns a Scorer with no bundle: records are marked untrained until Load.
func New(opts ...Option) *Scorer {
	return NewWithKerberos(kerberos.DefaultState(), opts...)
}

// NewWithKerberos returns a Scorer whose Kerberos part keeps its host windows in st (for a
// window or caps other than the defaults New uses). The state outlives every bundle loaded.
func NewWithKerberos(st *kerberos.State, opts ...Option) *Scorer {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Scorer{
		kerberos:   []part{kerberosPart{state: st, features: o.kerberosFeatures}},
		cloudtrail: []part{ipPart{}, apiPart{state: periodicity.NewState(0)}},
	}
}

// Option configures a Scorer.
type Option func(*options)

type options struct {
	kerberosFeatures KerberosFeatures
}

// WithKerberosFeatures says which Kerberos records carry their host's window features.
func WithKerberosFeatures(k KerberosFeatures) Option {
	return func(o *options) { o.kerberosFeatures = k }
}

// ErrNotNewer is returned by Load for a bundle whose version is not newer than the current one.
var ErrNotNewer = errors.New("score: bundle is not newer than the loaded one")

// Load makes b the current bundle. Versions never go backwards: a bundle that is not newer
// than the current one is refused with ErrNotNewer (reloading an unchanged file is harmless).
func (s *Scorer) Load(b *bundle.Bundle) error {
	if b == nil {
		return errors.New("score: nil bundle")
	}
	for {
		cur := s.cur.Load()
		if cur != nil && b.Version().Compare(cur.Version()) <= 0 {
			return fmt.Errorf("%w (%s, loaded %s)", ErrNotNewer, b.VersionString(), cur.VersionString())
		}
		if s.cur.CompareAndSwap(cur, b) {
			return nil
		}
	}
}

// Bundle returns the current bundle, or nil.
func (s *Scorer) Bundle() *bundle.Bundle { return s.cur.Load() }

// Score fills rec.Doc's siemscore.* fields and risk scores. It never fails: a record that
// cannot be scored says why in its status and reasons.
func (s *Scorer) Score(rec *ecs.Record) {
	if rec == nil || rec.Doc == nil {
		return
	}
	doc := rec.Doc
	parts := s.parts(rec.Kind)
	if len(parts) == 0 {
		doc.SiemScore.Model = ecs.ModelInfo{Status: ecs.ModelNoModel}
		return
	}
	b := s.cur.Load() // once: the whole record is scored by this bundle
	if b == nil {
		doc.SiemScore.Model = ecs.ModelInfo{Status: ecs.ModelUntrained}
		return
	}
	doc.SiemScore.Model = ecs.ModelInfo{Version: b.VersionString(), Status: ecs.ModelScored, TrainedAt: ecs.Time(b.TrainedAt())}
	var r risk
	for _, p := range parts {
		r = p.score(b, rec, r)
	}
	r.apply(&doc.Event)
}

// risk collects the parts' contributions to event.risk_score(_norm).
type risk struct {
	norm     float64
	set      bool
	original ecs.OptFloat // the source system's own risk value, if a part has one
}

// contribute adds a part's 0–100 score.
func (r *risk) contribute(norm float64) {
	if !r.set || norm > r.norm {
		r.norm, r.set = norm, true
	}
}

// apply sets event.risk_score_norm, and event.risk_score when the source system has a risk of
// its own: ECS keeps the original value there, and repeating the normalised one under a second
// name would only take room.
func (r *risk) apply(ev *ecs.Event) {
	if !r.set {
		return
	}
	ev.RiskScoreNorm = roundFloat(r.norm)
	if r.original.Set {
		ev.RiskScore = r.original
	}
}

// Digits is how many significant digits the numbers the scorer writes carry: more would be
// noise in a score or a window statistic, and each costs document bytes and encoding time.
const Digits = jsonw.ShortDigits

// round rounds v to Digits significant digits.
func round(v float64) float64 { return jsonw.Round(v) }

// roundFloat is a set ecs.OptFloat of v rounded to Digits significant digits.
func roundFloat(v float64) ecs.OptFloat { return ecs.Float(round(v)) }
