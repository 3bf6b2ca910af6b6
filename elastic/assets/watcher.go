package assets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/siemscore/siemscore/elastic/esclient"
)

var (
	// ErrWatcherNotLicensed: the cluster's licence does not include Watcher (Basic does not).
	ErrWatcherNotLicensed = errors.New("Watcher is not included in this cluster's licence: it needs Gold, Platinum, Enterprise or a trial " +
		"(use the Kibana rule or the ElastAlert 2 rule on a Basic licence)")
	// ErrWatcherUnavailable: the cluster has no Watcher API (disabled with
	// xpack.watcher.enabled: false, or a distribution without it).
	ErrWatcherUnavailable = errors.New("this cluster has no Watcher API (xpack.watcher.enabled is false, or the distribution lacks Watcher)")
)

// installWatch puts the watch under its fixed ID; Elasticsearch replaces an existing one.
func installWatch(ctx context.Context, es *esclient.Client, a Artifact, content []byte) (Outcome, string, error) {
	res, err := esapi.WatcherPutWatchRequest{WatchID: a.ID, Body: bytes.NewReader(content)}.Do(ctx, es)
	if err != nil {
		return Failed, "", es.Redactor().Error(fmt.Errorf("put watch %s: %w", a.ID, err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return Failed, "", es.Redactor().Error(fmt.Errorf("put watch %s: reading the answer: %w", a.ID, err))
	}
	detail := es.Redactor().String(snippet(body))
	if res.IsError() {
		return Failed, "", fmt.Errorf("put watch %s: %w (HTTP %d: %s)", a.ID, watcherError(res.StatusCode, body), res.StatusCode, detail)
	}
	var put struct {
		Created bool `json:"created"`
		Version int  `json:"_version"`
	}
	if err := json.Unmarshal(body, &put); err != nil {
		return Failed, "", fmt.Errorf("put watch %s: unexpected answer (%v): %s", a.ID, err, detail)
	}
	outcome := Updated
	if put.Created {
		outcome = Created
	}
	return outcome, fmt.Sprintf("watch %s version %d", a.ID, put.Version), nil
}

// watcherError classifies a failed put-watch answer: licence, missing API, or anything else.
func watcherError(status int, body []byte) error {
	s := string(body)
	switch {
	case status == http.StatusForbidden && (strings.Contains(s, "non-compliant for [watcher]") || strings.Contains(s, "license")):
		return ErrWatcherNotLicensed
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed ||
		status == http.StatusBadRequest && strings.Contains(s, "no handler found"):
		return ErrWatcherUnavailable
	}
	return errors.New("Elasticsearch refused the watch")
}
