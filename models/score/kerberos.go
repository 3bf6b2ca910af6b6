package score

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/processors/ecs"
)

// Reasons of siemscore.kerberos.reasons (besides the shared ones: source_missing,
// source_not_ip, model_section_missing). A scored record's reasons are the features that make
// its host unusual, as "<feature>_high" or "<feature>_low" (e.g. "distinct_clients_high",
// "top_server_load_low"), most telling first, then rare_cluster when it applies.
const (
	ReasonWindowIncomplete = "window_incomplete" // the state has run for less than one window (after a restart): its features undercount
	ReasonWindowMismatch   = "window_mismatch"   // the model was trained on windows of another length than the state keeps
	ReasonRareCluster      = "rare_cluster"      // the host's cluster holds under 1% of the training host windows
)

// rareCluster is the cluster share below which ReasonRareCluster is given; reasonDeviation is
// how many of its cluster's spreads a feature must be off to be named as a reason.
const (
	rareCluster     = 0.01
	reasonDeviation = 2.0
)

var (
	reasonWindowIncomplete = []string{ReasonWindowIncomplete}
	reasonWindowMismatch   = []string{ReasonWindowMismatch}
)

// deviationReasons[f][0] is "<f>_low", [1] "<f>_high": interned, so a scored record only
// allocates the list that holds them.
var deviationReasons = func() (r [kerberos.NumFeatures][2]string) {
	for f := range kerberos.NumFeatures {
		name := kerberos.Feature(f).String()
		r[f] = [2]string{name + "_low", name + "_high"}
	}
	return r
}()

// kerberosReasonLists interns the reason lists of scored records, which most records carry:
// list number n is made by the first record that needs it and shared by every later one, so
// scoring does not allocate. n numbers the list by its deviations, most telling first, each as
// 1 + 2·feature + high (in base 2·NumFeatures+1), then whether rare_cluster ends it: 31,250
// numbers (250 KB of pointers), of which 22,226 can occur, the features of a list being distinct.
var kerberosReasonLists [reasonListCount]atomic.Pointer[[]string]

const (
	deviationDigits = 2*kerberos.NumFeatures + 1
	reasonListCount = deviationDigits * deviationDigits * deviationDigits * 2
)

// The lists hold at most three deviations.
const _ = -uint(kerberos.TopDeviations - 3)

// kerberosReasons returns the shared list of top's reasons, then rare_cluster if rare. Its
// capacity equals its length, so a caller's append copies it.
func kerberosReasons(top []kerberos.Deviation, rare bool) []string {
	n := 0
	for _, d := range top {
		n = n*deviationDigits + 1 + 2*int(d.Feature)
		if d.Z > 0 {
			n++
		}
	}
	n *= 2
	if rare {
		n++
	}
	if l := kerberosReasonLists[n].Load(); l != nil {
		return *l
	}
	l := make([]string, 0, len(top)+1)
	for _, d := range top {
		high := 0
		if d.Z > 0 {
			high = 1
		}
		l = append(l, deviationReasons[d.Feature][high])
	}
	if rare {
		l = append(l, ReasonRareCluster)
	}
	l = slices.Clip(l)
	// Two records making the same list at once store equal lists: either may stay.
	kerberosReasonLists[n].Store(&l)
	return l
}

// KerberosRequestOf maps a Zeek Kerberos document to the model's request: source.ip is the
// host the features belong to, destination.ip its responder; the client is zeek.kerberos.client
// (or user.name/user.domain), success is zeek.kerberos.success (or event.outcome). reason is
// non-empty when the document has no usable source address.
func KerberosRequestOf(doc *ecs.Document) (req kerberos.Request, reason string) {
	switch {
	case doc.Source == nil || (!doc.Source.IP.IsValid() && doc.Source.Address == ""):
		return req, ReasonSourceMissing
	case !doc.Source.IP.IsValid():
		return req, ReasonSourceNotIP
	}
	req.Time = doc.Timestamp
	req.Source = doc.Source.IP
	if doc.Destination != nil {
		req.Dest = doc.Destination.IP
	}
	req.RequestType = doc.Event.Action
	req.Success = doc.Event.Outcome == "success"
	if doc.Zeek != nil && doc.Zeek.Kerberos != nil {
		k := doc.Zeek.Kerberos
		req.Client, req.Service, req.Cipher, req.ErrorMsg = k.Client, k.Service, k.Cipher, k.Error.Msg
		if k.RequestType != "" {
			req.RequestType = k.RequestType
		}
		if k.Success.Set {
			req.Success = k.Success.V
		}
	}
	if req.Client == "" && doc.User != nil && doc.User.Name != "" {
		req.Client = doc.User.Name
		if doc.User.Domain != "" {
			req.Client += "/" + doc.User.Domain
		}
	}
	return req, ""
}

// kerberosPart scores siemscore.kerberos.* of Kerberos records: every record updates its source
// host's sliding window in the scorer's state (whatever the bundle holds, so a model swap finds
// the windows warm) and is scored from the host's current features. Its score contributes to the
// record's risk.
type kerberosPart struct {
	state    *kerberos.State
	features KerberosFeatures
}

// KerberosFeatures says which Kerberos records carry their source host's window features
// (siemscore.kerberos.features).
type KerberosFeatures uint8

const (
	// FeaturesUnusual ships them with the records whose host scores above 0 (score_norm > 0:
	// by calibration about a tenth of ordinary records, and every anomaly), the ones an analyst
	// opens to ask why. The other nine tenths would carry twelve numbers (about a fifth of a
	// Kerberos document) that nobody reads, in every document stored.
	FeaturesUnusual KerberosFeatures = iota
	// FeaturesAll ships them with every record, scored or not: to chart every host's
	// statistics, or to train elsewhere on the documents.
	FeaturesAll
)

// ParseKerberosFeatures reads "unusual" or "all" (any case).
func ParseKerberosFeatures(s string) (KerberosFeatures, error) {
	switch strings.ToLower(s) {
	case "unusual":
		return FeaturesUnusual, nil
	case "all":
		return FeaturesAll, nil
	}
	return 0, errors.New("accepted: unusual, all")
}

func (p kerberosPart) score(b *bundle.Bundle, rec *ecs.Record, r risk) risk {
	out := &rec.Doc.SiemScore.Kerberos
	*out = ecs.KerberosScore{Status: ecs.PartUnscored}
	req, reason := KerberosRequestOf(rec.Doc)
	if reason != "" {
		out.Reasons = reasonList(reason)
		return r
	}
	obs, err := p.state.Observe(&req)
	if err != nil { // KerberosRequestOf only returns requests with a source
		out.Reasons = reasonSourceMissing
		return r
	}
	if p.features == FeaturesAll {
		out.Features = ecsFeatures(&obs.Features)
	}
	m := b.Kerberos()
	switch {
	case m == nil:
		out.Reasons = reasonModelSectionAbsent
		return r
	case m.Window() != p.state.Window():
		out.Reasons = reasonWindowMismatch
		return r
	case !obs.Complete:
		out.Reasons = reasonWindowIncomplete
		return r
	}
	sc, err := m.Score(&obs.Features)
	if err != nil { // the state's features are always valid
		out.Reasons = reasonNotApplicable
		return r
	}
	out.Status = ecs.PartScored
	out.Cluster = ecs.Int(int64(sc.Cluster))
	out.ClusterSizeFraction = roundFloat(sc.SizeFraction)
	out.Distance = roundFloat(sc.Distance)
	out.ScoreNorm = roundFloat(sc.ScoreNorm)
	out.Severity = ecs.SeverityBand(sc.ScoreNorm)
	if p.features == FeaturesUnusual && out.ScoreNorm.V > 0 {
		out.Features = ecsFeatures(&obs.Features)
	}
	// Most records have no reason: the list is only made for those that do.
	top := sc.Top[:sc.NTop]
	for i, d := range top {
		if math.Abs(d.Z) < reasonDeviation {
			top = top[:i] // the rest are smaller still
			break
		}
	}
	if rare := sc.SizeFraction < rareCluster; len(top) > 0 || rare {
		out.Reasons = kerberosReasons(top, rare)
	}
	r.contribute(sc.ScoreNorm)
	return r
}

func ecsFeatures(f *kerberos.Features) ecs.KerberosFeatures {
	return ecs.KerberosFeatures{
		Requests:           round(f[kerberos.Requests]),
		DistinctServers:    round(f[kerberos.DistinctServers]),
		TopServerShare:     round(f[kerberos.TopServerShare]),
		TopServerLoad:      round(f[kerberos.TopServerLoad]),
		Failures:           round(f[kerberos.Failures]),
		FailureRatio:       round(f[kerberos.FailureRatio]),
		DistinctClients:    round(f[kerberos.DistinctClients]),
		DistinctServices:   round(f[kerberos.DistinctServices]),
		PreauthFailures:    round(f[kerberos.PreauthFailures]),
		PrincipalUnknown:   round(f[kerberos.PrincipalUnknown]),
		TGSShare:           round(f[kerberos.TGSShare]),
		WeakCipherServices: round(f[kerberos.WeakCipherServices]),
	}
}

// parts returns the parts that score kind k: the package's stateless parts, and for Kerberos
// and CloudTrail records the parts bound to this scorer's state.
func (s *Scorer) parts(k ecs.Kind) []part {
	switch k {
	case ecs.KindKerberos:
		return s.kerberos
	case ecs.KindCloudTrail:
		return s.cloudtrail
	}
	return partsOf(k)
}
