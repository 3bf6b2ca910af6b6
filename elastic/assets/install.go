package assets

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
)

// Outcome is what installing one artifact did.
type Outcome string

// Outcomes.
const (
	Created Outcome = "created" // it did not exist
	Updated Outcome = "updated" // it existed and was replaced
	// Installed: imported with overwrite; the API does not say whether it existed.
	Installed Outcome = "installed"
	Skipped   Outcome = "skipped" // not installed: no connection to its target, or no API for it
	Failed    Outcome = "failed"
)

// Result reports one artifact.
type Result struct {
	Artifact Artifact
	Outcome  Outcome
	// Detail says what was written, or why the artifact was skipped.
	Detail string
	// Err is set when Outcome is Failed. Credentials are redacted from it.
	Err error
}

// Installer installs artifacts. Installing is idempotent: saved objects and detection rules
// are imported with overwrite, the alerting rule and the watch keep fixed IDs and are
// replaced, so running it again updates what an earlier run installed instead of duplicating it.
type Installer struct {
	// ES receives the Elasticsearch artifacts (the watch); nil skips them.
	ES *esclient.Client
	// Kibana receives the Kibana artifacts; nil skips them.
	Kibana *Kibana
	// Log gets one line per artifact; nil discards them.
	Log hclog.Logger
}

// Install installs arts in order, or every artifact when none is given. It goes on after a
// failure and returns one Result per artifact, with every failure joined in the error.
func (in *Installer) Install(ctx context.Context, arts ...Artifact) ([]Result, error) {
	if len(arts) == 0 {
		arts = List()
	}
	log := in.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	results := make([]Result, 0, len(arts))
	var errs []error
	for _, a := range arts {
		r := in.install(ctx, a)
		results = append(results, r)
		if r.Err != nil {
			errs = append(errs, r.Err)
			log.Error("install failed", "artifact", a.Name, "target", a.Target, "error", r.Err)
			continue
		}
		log.Info("install", "artifact", a.Name, "target", a.Target, "outcome", r.Outcome, "detail", r.Detail)
	}
	return results, errors.Join(errs...)
}

func (in *Installer) install(ctx context.Context, a Artifact) Result {
	r := Result{Artifact: a}
	content, err := a.Content()
	if err != nil {
		r.Outcome, r.Err = Failed, err
		return r
	}
	switch {
	case a.Target == TargetElastAlert:
		r.Outcome = Skipped
		r.Detail = "ElastAlert 2 reads rules from files: save `siemscore assets print " + a.Name + "` as " + a.FileName + " in its rules_folder"
		return r
	case a.Target == TargetKibana && in.Kibana == nil:
		r.Outcome, r.Detail = Skipped, "no Kibana connection given"
		return r
	case a.Target == TargetElasticsearch && in.ES == nil:
		r.Outcome, r.Detail = Skipped, "no Elasticsearch connection given"
		return r
	}
	switch a.Kind {
	case KindSavedObjects:
		r.Outcome, r.Detail, err = in.Kibana.installSavedObjects(ctx, a, content)
	case KindAlertingRule:
		r.Outcome, r.Detail, err = in.Kibana.installAlertingRule(ctx, a, content)
	case KindDetectionRules:
		r.Outcome, r.Detail, err = in.Kibana.installDetectionRules(ctx, a, content)
	case KindWatch:
		r.Outcome, r.Detail, err = installWatch(ctx, in.ES, a, content)
	default:
		err = fmt.Errorf("no installer for kind %q", a.Kind)
	}
	if err != nil {
		r.Outcome, r.Err = Failed, fmt.Errorf("assets: %s: %w", a.Name, err)
	}
	return r
}
