package assets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/siemscore/siemscore/elastic/esclient"
)

// Kibana is a connection to Kibana's HTTP API.
//
// Kibana takes the same credentials as Elasticsearch (basic auth or an Elasticsearch API key
// in "Authorization: ApiKey"), so the connection is built from an esclient.Config: the same
// validation, TLS options, retries of 429/502/503/504 and credential-redacting log lines. Only
// the client's transport is used, not its Elasticsearch API, so Elasticsearch's product check
// does not apply. Every import this package makes is idempotent, which makes those retries safe.
type Kibana struct {
	client *esclient.Client
	prefix string // "/s/<space>" or ""
}

// spaceID is Kibana's rule for space identifiers.
var spaceID = regexp.MustCompile(`^[a-z0-9_-]+$`)

// NewKibana connects to the Kibana at cfg.Hosts (a base path such as https://host/kibana is
// kept) in the given space ("" or "default" for the default space). log receives one line per
// request, without credentials, and may be nil.
func NewKibana(cfg esclient.Config, space string, log hclog.Logger) (*Kibana, error) {
	if space != "" && !spaceID.MatchString(space) {
		return nil, fmt.Errorf("assets: Kibana space %q: must be lower-case letters, digits, _ and -", space)
	}
	c, err := esclient.New(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("assets: Kibana connection: %w", err)
	}
	k := &Kibana{client: c}
	if space != "" && space != "default" {
		k.prefix = "/s/" + space
	}
	return k, nil
}

// Close releases the connection's idle connections.
func (k *Kibana) Close(ctx context.Context) error { return k.client.Close(ctx) }

// maxResponse bounds what is read of a Kibana answer: import results list one entry per object.
const maxResponse = 8 << 20

// kibanaResponse is a Kibana answer read whole.
type kibanaResponse struct {
	status int
	body   []byte
}

// do sends one request. Kibana refuses state-changing calls without the kbn-xsrf header.
func (k *Kibana) do(ctx context.Context, method, path, contentType string, body []byte) (kibanaResponse, error) {
	req, err := http.NewRequestWithContext(ctx, method, k.prefix+path, bytes.NewReader(body))
	if err != nil {
		return kibanaResponse{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("kbn-xsrf", "siemscore")
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := k.client.Transport.Perform(req)
	if err != nil {
		return kibanaResponse{}, k.client.Redactor().Error(fmt.Errorf("%s %s: %w", method, k.prefix+path, err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return kibanaResponse{}, k.client.Redactor().Error(fmt.Errorf("%s %s: reading the answer: %w", method, k.prefix+path, err))
	}
	return kibanaResponse{status: res.StatusCode, body: b}, nil
}

// importFile posts content as the multipart "file" field that Kibana's import APIs take.
func (k *Kibana) importFile(ctx context.Context, path, fileName string, content []byte) (kibanaResponse, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("file", fileName)
	if err == nil {
		_, err = part.Write(content)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return kibanaResponse{}, fmt.Errorf("building the upload: %w", err)
	}
	return k.do(ctx, http.MethodPost, path, mw.FormDataContentType(), buf.Bytes())
}

// failure explains a non-success answer of Kibana to an API call about what.
func (k *Kibana) failure(r kibanaResponse, what string) error {
	detail := k.client.Redactor().String(snippet(r.body))
	switch r.status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: Kibana rejected the credentials (HTTP 401): %s", what, detail)
	case http.StatusForbidden:
		return fmt.Errorf("%s: the Kibana user lacks the privileges (or the licence) for this (HTTP 403): %s", what, detail)
	case http.StatusNotFound:
		return fmt.Errorf("%s: Kibana has no such API or space (HTTP 404); check the URL and base path, the space, "+
			"and that Kibana is 8.11 or newer with the feature enabled: %s", what, detail)
	}
	return fmt.Errorf("%s: HTTP %d: %s", what, r.status, detail)
}

// installSavedObjects imports saved objects, overwriting existing ones with the same IDs.
func (k *Kibana) installSavedObjects(ctx context.Context, a Artifact, content []byte) (Outcome, string, error) {
	r, err := k.importFile(ctx, "/api/saved_objects/_import?overwrite=true", a.FileName, content)
	if err != nil {
		return Failed, "", err
	}
	if r.status != http.StatusOK {
		return Failed, "", k.failure(r, "saved objects import")
	}
	var res struct {
		Success        bool `json:"success"`
		SuccessCount   int  `json:"successCount"`
		SuccessResults []struct {
			Overwrite bool `json:"overwrite"`
		} `json:"successResults"`
		Errors []struct {
			Type  string `json:"type"`
			ID    string `json:"id"`
			Error struct {
				Type       string `json:"type"`
				Message    string `json:"message"`
				References []struct {
					Type string `json:"type"`
					ID   string `json:"id"`
				} `json:"references"`
			} `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		return Failed, "", fmt.Errorf("saved objects import: unexpected answer (%v): %s", err, snippet(r.body))
	}
	if !res.Success || len(res.Errors) > 0 {
		var errs []error
		for _, e := range res.Errors {
			msg := e.Error.Type
			if e.Error.Message != "" {
				msg += ": " + e.Error.Message
			}
			for _, ref := range e.Error.References {
				msg += fmt.Sprintf(" [missing %s %s]", ref.Type, ref.ID)
			}
			errs = append(errs, fmt.Errorf("%s %s: %s", e.Type, e.ID, msg))
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("Kibana reported failure without details"))
		}
		return Failed, "", fmt.Errorf("saved objects import: %d of %d objects failed: %w", len(res.Errors), len(res.Errors)+res.SuccessCount, errors.Join(errs...))
	}
	outcome := Created
	for _, s := range res.SuccessResults {
		if s.Overwrite {
			outcome = Updated
		}
	}
	return outcome, fmt.Sprintf("%d saved objects", res.SuccessCount), nil
}

// ruleUpdateKeys are the fields Kibana's update rule API accepts; rule_type_id, consumer and
// enabled are fixed at creation (an operator who disabled the rule keeps it disabled).
var ruleUpdateKeys = []string{"name", "tags", "schedule", "params", "actions", "throttle", "notify_when"}

// installAlertingRule creates the rule under its fixed ID, or updates it when it exists.
func (k *Kibana) installAlertingRule(ctx context.Context, a Artifact, content []byte) (Outcome, string, error) {
	path := "/api/alerting/rule/" + a.ID
	r, err := k.do(ctx, http.MethodPost, path, "application/json", content)
	if err != nil {
		return Failed, "", err
	}
	switch r.status {
	case http.StatusOK:
		return Created, "rule " + a.ID, nil
	case http.StatusConflict:
	default:
		return Failed, "", k.failure(r, "create alerting rule "+a.ID)
	}
	var rule map[string]json.RawMessage
	if err := json.Unmarshal(content, &rule); err != nil {
		return Failed, "", fmt.Errorf("alerting rule %s: %w", a.ID, err)
	}
	update := make(map[string]json.RawMessage, len(ruleUpdateKeys))
	for _, key := range ruleUpdateKeys {
		if v, ok := rule[key]; ok {
			update[key] = v
		}
	}
	body, err := json.Marshal(update)
	if err != nil {
		return Failed, "", fmt.Errorf("alerting rule %s: %w", a.ID, err)
	}
	if r, err = k.do(ctx, http.MethodPut, path, "application/json", body); err != nil {
		return Failed, "", err
	}
	if r.status != http.StatusOK {
		return Failed, "", k.failure(r, "update alerting rule "+a.ID)
	}
	return Updated, "rule " + a.ID, nil
}

// installDetectionRules imports the rules, overwriting those with the same rule_id.
func (k *Kibana) installDetectionRules(ctx context.Context, a Artifact, content []byte) (Outcome, string, error) {
	r, err := k.importFile(ctx, "/api/detection_engine/rules/_import?overwrite=true", a.FileName, content)
	if err != nil {
		return Failed, "", err
	}
	if r.status != http.StatusOK {
		return Failed, "", k.failure(r, "detection rules import")
	}
	var res struct {
		Success      bool `json:"success"`
		SuccessCount int  `json:"success_count"`
		RulesCount   int  `json:"rules_count"`
		Errors       []struct {
			RuleID string `json:"rule_id"`
			Error  struct {
				StatusCode int    `json:"status_code"`
				Message    string `json:"message"`
			} `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil {
		return Failed, "", fmt.Errorf("detection rules import: unexpected answer (%v): %s", err, snippet(r.body))
	}
	if !res.Success || len(res.Errors) > 0 {
		var errs []error
		for _, e := range res.Errors {
			errs = append(errs, fmt.Errorf("rule %s: HTTP %d: %s", e.RuleID, e.Error.StatusCode, e.Error.Message))
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("Kibana reported failure without details"))
		}
		return Failed, "", fmt.Errorf("detection rules import: %d of %d rules failed: %w", len(res.Errors), res.RulesCount, errors.Join(errs...))
	}
	// The import API does not say which rules it created and which it overwrote.
	return Installed, fmt.Sprintf("%d detection rules", res.SuccessCount), nil
}

// snippet returns the start of an answer body for an error message.
func snippet(b []byte) string {
	const max = 500
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "..."
	}
	if s == "" {
		return "(empty answer)"
	}
	return s
}
