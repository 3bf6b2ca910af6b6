// Package esreq runs one Elasticsearch API request and decodes its JSON answer, turning an error
// answer into an *Error that says what Elasticsearch said. The training-data readers and the
// model store share it so both report failures the same way.
package esreq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/goccy/go-json"

	"github.com/siemscore/siemscore/elastic/esclient"
)

// Error is an Elasticsearch error answer.
type Error struct {
	Status int
	// Type and Reason are the root cause Elasticsearch reported ("index_not_found_exception",
	// ...), when the body had one.
	Type   string
	Reason string
	// Body is the beginning of the answer, for errors without the usual shape.
	Body string
}

func (e *Error) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, e.Body)
}

// maxErrorBody bounds what an error answer contributes to a message.
const maxErrorBody = 1024

// Do runs req and decodes a 2xx answer into out (nil discards it). A non-2xx answer is an
// *Error; what names the request in every error. Over an *esclient.Client, the error is
// redacted: a refusal may quote the Authorization header (a proxy, a security realm's reason)
// and these errors end up in the plugin's and the companion's logs.
func Do(ctx context.Context, t esapi.Transport, req esapi.Request, what string, out any) error {
	err := do(ctx, t, req, what, out)
	if c, ok := t.(*esclient.Client); ok {
		return c.Redactor().Error(err)
	}
	return err
}

func do(ctx context.Context, t esapi.Transport, req esapi.Request, what string, out any) error {
	res, err := req.Do(ctx, t)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("%s: %w", what, errorOf(res))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: decoding the answer: %w", what, err)
	}
	return nil
}

func errorOf(res *esapi.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := &Error{Status: res.StatusCode, Body: strings.TrimSpace(string(body[:min(len(body), maxErrorBody)]))}
	var parsed struct {
		Error struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		e.Type, e.Reason = parsed.Error.Type, parsed.Error.Reason
		if len(parsed.Error.RootCause) > 0 && parsed.Error.RootCause[0].Type != "" {
			e.Type, e.Reason = parsed.Error.RootCause[0].Type, parsed.Error.RootCause[0].Reason
		}
	}
	return e
}

// Status returns the HTTP status of an *Error in err's chain, or 0.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// NotFound reports an answer of 404.
func NotFound(err error) bool { return Status(err) == http.StatusNotFound }

// Conflict reports an answer of 409 (a document created with op_type create exists already).
func Conflict(err error) bool { return Status(err) == http.StatusConflict }

// Body encodes v as a request body.
func Body(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}
