package deliver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// verdict is what an item's answer means for its record: whose fault a refusal is decides
// between sending it again and dead-lettering it.
type verdict uint8

const (
	// written: created, or already there (409 on create: an earlier attempt got it through).
	vCreated verdict = iota + 1
	vDuplicate
	// vOverload: the cluster is busy or failing (429, 5xx, 408); the same request will succeed
	// later. Re-sent after a backoff.
	vOverload
	// vCluster: the cluster or its configuration refuses every record of the index (closed,
	// blocked, missing pipeline or privileges). Re-sent like vOverload, and the cause is logged
	// once: a healthy record is never dead-lettered for it.
	vCluster
	// vRecord: the record itself is refused (mapping conflict, unparseable value, too many
	// fields); it would be refused forever. Dead-lettered.
	vRecord
)

// ErrUnavailable marks a RETRY caused by a condition of the cluster or of the way to it
// (unreachable, refusing writes to an index), which is logged once when it starts and once when
// it clears, rather than with every chunk it holds back.
var ErrUnavailable = errors.New("Elasticsearch does not accept writes")

// clusterTypes are error types that say nothing about the record: every record of the index
// would get them.
var clusterTypes = map[string]bool{
	"index_closed_exception":              true, // closed index (400)
	"cluster_block_exception":             true, // read-only, write block, flood stage (403, 429)
	"security_exception":                  true, // credentials (401) or privileges (403)
	"authorization_exception":             true,
	"index_not_found_exception":           true, // no such index and auto-creation does not cover it (404)
	"invalid_index_name_exception":        true, // es_index names something Elasticsearch refuses
	"resource_not_found_exception":        true,
	"illegal_state_exception":             true, // e.g. no ingest node to run a pipeline
	"no_shard_available_action_exception": true,
}

// clusterReasons are reasons of illegal_argument_exception that concern the index's
// configuration, not the record (the type alone is used for both).
var clusterReasons = []string{
	"pipeline with id [",                       // index.default_pipeline / final_pipeline names a missing pipeline
	"no write index is defined",                // es_index is an alias without a write index
	"only write ops with an op_type of create", // es_index is a data stream written with index
}

// classify judges one item's answer. rej may be nil.
func classify(status int, rej *rejection) verdict {
	switch {
	case status == http.StatusOK || status == http.StatusCreated:
		return vCreated
	case status == http.StatusConflict:
		return vDuplicate
	case rej != nil && clusterTypes[rej.Type]:
		return vCluster
	case rej != nil && rej.Type == "illegal_argument_exception" && hasAny(rej.Reason, clusterReasons):
		return vCluster
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound:
		return vCluster
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500 || status < 400:
		return vOverload // status < 400: an item without a status, which nothing can be concluded from
	}
	return vRecord
}

func hasAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// conditions logs each cluster-level cause of refusals once when it appears and once when it
// clears, however many chunks it holds back meanwhile.
type conditions struct {
	log    hclog.Logger
	mu     sync.Mutex
	active map[string]string // target → the cause last reported for it
}

func newConditions(log hclog.Logger) *conditions {
	return &conditions{log: log, active: map[string]string{}}
}

// raise reports that target (an index, or the way to Elasticsearch) refuses writes because of
// cause.
func (c *conditions) raise(target, cause string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.active[target]; ok && prev == cause {
		return
	}
	c.active[target] = cause
	c.log.Error("Elasticsearch refuses writes; the records stay in Fluent Bit and are retried until this is fixed, none is dead-lettered for it",
		"target", target, "cause", cause)
}

// clear reports that target accepted a write again.
func (c *conditions) clear(target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cause, ok := c.active[target]
	if !ok {
		return
	}
	delete(c.active, target)
	c.log.Info("Elasticsearch accepts writes again", "target", target, "was", cause)
}

// unavailable wraps err as caused by a condition reported through raise.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
