package esclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Describe reads an error answer (at most 64 KiB of it) and says what Elasticsearch said, for an
// error message: the status, then the error's type and reason, the root cause's when it says
// more, and for a refused credential which one failed and why
// (additional_unsuccessful_credentials), instead of a JSON blob cut at an arbitrary length. A
// body that is not an Elasticsearch error is quoted, cut at 512 bytes. It does not redact:
// callers pass what they build from it through the Redactor, as every error they return.
func Describe(res *esapi.Response) string {
	status := fmt.Sprintf("HTTP %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var answer struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &answer) != nil || len(answer.Error) == 0 {
		return status + ": " + snippet(body)
	}
	var text string
	if json.Unmarshal(answer.Error, &text) == nil { // some errors are a bare string
		return status + ": " + text
	}
	var e esError
	if json.Unmarshal(answer.Error, &e) != nil || e.Type == "" {
		return status + ": " + snippet(body)
	}
	return status + ": " + e.String()
}

type esError struct {
	Type       string    `json:"type"`
	Reason     string    `json:"reason"`
	Credential string    `json:"additional_unsuccessful_credentials"`
	RootCause  []esError `json:"root_cause"`
	CausedBy   *esError  `json:"caused_by"`
}

func (e esError) String() string {
	s := e.Type + ": " + e.Reason
	if e.Credential != "" {
		s += " (" + e.Credential + ")"
	}
	if len(e.RootCause) > 0 && (e.RootCause[0].Type != e.Type || e.RootCause[0].Reason != e.Reason) {
		s += "; root cause " + e.RootCause[0].String()
	}
	if e.CausedBy != nil {
		s += "; caused by " + e.CausedBy.String()
	}
	return s
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 512 {
		return strings.ToValidUTF8(string(b[:512]), "") + "…"
	}
	return string(b)
}
