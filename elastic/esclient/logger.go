package esclient

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
)

// roundTripLogger reports each request attempt. It deliberately never looks at headers or
// bodies (Authorization lives in the former, user data in the latter) and passes everything it
// does print through the redactor.
type roundTripLogger struct {
	log      hclog.Logger
	redactor *Redactor
}

func (l *roundTripLogger) LogRoundTrip(req *http.Request, res *http.Response, err error, _ time.Time, dur time.Duration) error {
	args := []any{"duration", dur.Round(time.Millisecond)}
	if req != nil {
		args = append(args, "method", req.Method)
		if req.URL != nil {
			args = append(args, "url", l.redactor.String(req.URL.Redacted()))
		}
	}
	switch {
	case err != nil:
		args = append(args, "error", l.redactor.String(err.Error()))
		l.log.Warn("elasticsearch request failed", args...)
	case res == nil:
		l.log.Warn("elasticsearch request returned no response", args...)
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		l.log.Warn("elasticsearch request rejected", append(args, "status", res.StatusCode)...)
	default:
		l.log.Debug("elasticsearch request", append(args, "status", res.StatusCode)...)
	}
	return nil
}

func (l *roundTripLogger) RequestBodyEnabled() bool  { return false }
func (l *roundTripLogger) ResponseBodyEnabled() bool { return false }
