// Package esclient builds the Elasticsearch client every siemscore component shares: endpoints,
// credentials, TLS, timeouts, compression and whole-request retries, with logging and error
// messages that never carry a credential.
package esclient

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config says how to reach Elasticsearch. Start from DefaultConfig and override what the user set.
type Config struct {
	// Hosts are the node URLs (http:// or https://), used round-robin with failover.
	Hosts []string

	// APIKey is an Elasticsearch API key, either as "id:api_key" or already base64-encoded (the
	// "encoded" value the create-API-key call returns). Excludes Username/Password.
	APIKey string
	// Username and Password are HTTP basic credentials.
	Username string
	Password string

	// CAFile is a PEM file of the certificate authorities to trust instead of the system's.
	CAFile string
	// TLSSkipVerify turns certificate verification off entirely. Only for tests and labs.
	TLSSkipVerify bool
	// TLSSkipHostnameVerify still verifies the chain but accepts a certificate issued for
	// another name (clusters addressed by IP with certificates made for node names).
	TLSSkipHostnameVerify bool

	// RequestTimeout bounds connecting and then waiting for a response to one request attempt.
	RequestTimeout time.Duration
	// Compress gzips request bodies (bulk bodies shrink 5-10x; costs CPU on the shipper).
	Compress bool

	// MaxRetries is how often one request is re-sent after a connection error, a timeout or a
	// 429/502/503/504 answer to the whole request. 0 disables these retries.
	MaxRetries int
	// RetryBackoff spaces those retries; it is never zero, so a struggling cluster is never
	// hammered with immediate re-sends.
	RetryBackoff Backoff
}

// DefaultConfig returns the defaults: a local node, verified TLS, 60 s per attempt, 3 retries
// spaced 250 ms .. 5 s.
func DefaultConfig() Config {
	return Config{
		Hosts:          []string{"http://127.0.0.1:9200"},
		RequestTimeout: 60 * time.Second,
		MaxRetries:     3,
		RetryBackoff:   Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second},
	}
}

// maxRetriesLimit keeps a misconfiguration from turning one flush into minutes of re-sends; the
// delivery layer and Fluent Bit retry on top of this.
const maxRetriesLimit = 10

// FieldError is a problem with one setting of a component's configuration. Field is the Go
// field's name, so a caller that reads the settings under names of its own (the plugin's keys)
// can say which of its settings is wrong. elastic/deliver's Config reports its problems with it
// too.
type FieldError struct {
	Component, Field string
	Err              error
}

func (e *FieldError) Error() string { return e.Component + ": " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldError(field, format string, args ...any) error {
	return &FieldError{Component: "esclient", Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks the configuration; each error is a *FieldError naming the offending field.
// It looks at CAFile without reading it (New reads it, once). Error messages never contain the
// credentials.
func (c Config) Validate() error {
	var errs []error
	if len(c.Hosts) == 0 {
		errs = append(errs, fieldError("Hosts", "at least one Elasticsearch URL is required"))
	}
	for _, h := range c.Hosts {
		if err := validateHost(h); err != nil {
			errs = append(errs, fieldError("Hosts", "%q: %w", RedactURL(h), err))
		}
	}
	if c.APIKey != "" && (c.Username != "" || c.Password != "") {
		errs = append(errs, fieldError("APIKey", "set either an API key or a user and password, not both"))
	}
	if c.APIKey != "" {
		if _, err := encodeAPIKey(c.APIKey); err != nil {
			errs = append(errs, fieldError("APIKey", "%w", err))
		}
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, fieldError("Username", "required with a password"))
	}
	if c.CAFile != "" {
		if _, err := caFileInfo(c.CAFile); err != nil {
			errs = append(errs, fieldError("CAFile", "%w", err))
		}
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fieldError("RequestTimeout", "must be positive, got %s", c.RequestTimeout))
	}
	if c.MaxRetries < 0 || c.MaxRetries > maxRetriesLimit {
		errs = append(errs, fieldError("MaxRetries", "must be within 0..%d, got %d", maxRetriesLimit, c.MaxRetries))
	}
	if err := c.RetryBackoff.Validate(); err != nil {
		errs = append(errs, fieldError("RetryBackoff", "%w", err))
	}
	return errors.Join(errs...)
}

func validateHost(h string) error {
	u, err := url.Parse(h)
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https":
		return errors.New("accepted: http://host:port or https://host:port")
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		// Credentials in URLs end up in transport error messages and proxy logs.
		return errors.New("credentials in the URL are not accepted; give a user and password, or an API key, separately")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("a query or fragment is not accepted")
	}
	return nil
}

// RedactURL hides the user information of a URL-like string for error messages: everything
// between the start of the authority (after "//", or the start when there is none, as in the
// common slip "elastic:secret@es:9200") and the last '@'. The last, not the first before a '/':
// a password may hold either character unescaped, and a host URL has no other use for '@'.
func RedactURL(h string) string {
	prefix, rest := "", h
	if i := strings.Index(h, "//"); i >= 0 {
		prefix, rest = h[:i+2], h[i+2:]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return h
	}
	return prefix + "***@" + rest[at+1:]
}

// encodeAPIKey returns the key in the base64 "id:api_key" form Elasticsearch expects in the
// Authorization header, accepting either that form or the raw "id:api_key" pair.
func encodeAPIKey(k string) (string, error) {
	if strings.ContainsAny(k, " \t\r\n") {
		return "", errors.New("must not contain whitespace")
	}
	if strings.Contains(k, ":") {
		id, key, _ := strings.Cut(k, ":")
		if id == "" || key == "" {
			return "", errors.New(`expected "id:api_key" or its base64 encoding`)
		}
		return base64.StdEncoding.EncodeToString([]byte(k)), nil
	}
	dec, err := base64.StdEncoding.DecodeString(k)
	if err != nil {
		return "", errors.New(`expected "id:api_key" or its base64 encoding`)
	}
	if id, key, ok := strings.Cut(string(dec), ":"); !ok || id == "" || key == "" {
		return "", errors.New(`the base64 value does not decode to "id:api_key"`)
	}
	return k, nil
}

// maxCAFile bounds what LoadCAFile reads: CA bundles are kilobytes (all of Mozilla's roots are
// about 220 KB), and a path naming a device or a huge wrong file must not stall start-up.
const maxCAFile = 16 << 20

// caFileInfo checks that path is a regular file of at most 16 MiB, without opening it: opening a
// FIFO blocks until someone writes to it.
func caFileInfo(path string) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxCAFile {
		return nil, fmt.Errorf("%s is %d bytes, more than any CA bundle (at most %d)", path, fi.Size(), maxCAFile)
	}
	return fi, nil
}

// LoadCAFile reads the PEM certificates of path, which must be a regular file of at most
// 16 MiB holding at least one.
func LoadCAFile(path string) (*x509.CertPool, error) {
	if _, err := caFileInfo(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pem, err := io.ReadAll(io.LimitReader(f, maxCAFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}

// CloudIDURL returns the Elasticsearch endpoint of an Elastic Cloud deployment ID
// ("<name>:<base64 of host$es-id$kibana-id>", the host possibly with a port): https://es-id.host,
// on port 443 unless the host names another.
func CloudIDURL(id string) (string, error) {
	_, enc, ok := strings.Cut(id, ":")
	if !ok || enc == "" {
		return "", errors.New(`expected "<name>:<base64 value>", as Elastic Cloud shows it`)
	}
	dec, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", errors.New("the part after ':' is not base64")
	}
	parts := strings.Split(string(dec), "$")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", errors.New(`the value does not decode to "host$elasticsearch-id$..."`)
	}
	u := "https://" + parts[1] + "." + parts[0]
	if err := validateHost(u); err != nil {
		return "", fmt.Errorf("decodes to %q: %w", u, err)
	}
	return u, nil
}
