package esclient

import (
	"encoding/base64"
	"slices"
	"strings"
)

// Redacted replaces every credential found in a message.
const Redacted = "[REDACTED]"

// Redactor removes the configured credentials, in every form they travel in (as given, base64
// encoded for the Authorization header, the secret half of an API key), from text that is about
// to be logged or returned as an error. Errors from the transport, from Elasticsearch responses
// echoing a header, or from a misconfigured proxy all pass through it.
type Redactor struct {
	replacer *strings.Replacer
}

// newRedactor builds the redactor for c's credentials.
func newRedactor(c Config) *Redactor {
	var secrets []string
	add := func(s string) {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	add(c.Password)
	if c.Username != "" || c.Password != "" {
		add(base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)))
	}
	if c.APIKey != "" {
		add(c.APIKey)
		if enc, err := encodeAPIKey(c.APIKey); err == nil {
			add(enc)
			if dec, err := base64.StdEncoding.DecodeString(enc); err == nil {
				_, key, _ := strings.Cut(string(dec), ":")
				add(key)
			}
		}
	}
	if len(secrets) == 0 {
		return &Redactor{}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, Redacted)
	}
	return &Redactor{replacer: strings.NewReplacer(pairs...)}
}

// String returns s with every credential replaced by Redacted.
func (r *Redactor) String(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// Error returns err with its message redacted; nil stays nil. errors.Is/As still see the
// original chain, but printing the returned error never shows a credential.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
