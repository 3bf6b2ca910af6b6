package esclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/hashicorp/go-hclog"
)

// Client is a go-elasticsearch client plus what the rest of siemscore needs next to it: the
// redactor for the configured credentials, and a Close that also releases idle connections.
type Client struct {
	*elasticsearch.Client
	redactor  *Redactor
	transport *http.Transport
}

// New validates c and builds the client. log receives one line per request attempt (method,
// URL, status, duration, error; never headers or bodies) and may be nil.
func New(c Config, log hclog.Logger) (*Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	redactor := newRedactor(c)
	transport, err := c.httpTransport()
	if err != nil {
		return nil, redactor.Error(err)
	}
	esCfg := elasticsearch.Config{
		Addresses:           c.Hosts,
		Username:            c.Username,
		Password:            c.Password,
		Transport:           transport,
		CompressRequestBody: c.Compress,
		PoolCompressor:      c.Compress,
		// 429 is retried as a whole too: Elasticsearch answers it to the whole bulk request when
		// its indexing pressure limit is hit, and the body can be re-sent unchanged.
		RetryOnStatus: []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		RetryOnError: func(req *http.Request, err error) bool {
			// A certificate that failed verification fails the same way on every attempt.
			var cv *tls.CertificateVerificationError
			if errors.As(err, &cv) {
				return false
			}
			// The caller gave up (flush budget spent, shutdown): re-sending cannot help it.
			return req.Context().Err() == nil
		},
		RetryBackoff: c.RetryBackoff.Delay,
	}
	if c.APIKey != "" {
		// Validate already checked that the key encodes.
		esCfg.APIKey, _ = encodeAPIKey(c.APIKey)
	}
	// go-elasticsearch reads MaxRetries 0 as "use the default of 3".
	if c.MaxRetries == 0 {
		esCfg.DisableRetry = true
	} else {
		esCfg.MaxRetries = c.MaxRetries
	}
	if log != nil {
		esCfg.Logger = &roundTripLogger{log: log, redactor: redactor}
	}
	es, err := elasticsearch.NewClient(esCfg)
	if err != nil {
		return nil, redactor.Error(fmt.Errorf("esclient: %w", err))
	}
	return &Client{Client: es, redactor: redactor, transport: transport}, nil
}

// Redactor returns the redactor for this client's credentials.
func (c *Client) Redactor() *Redactor { return c.redactor }

// Close stops the client from sending new requests and closes idle keep-alive connections
// (each holds goroutines). Requests already in flight finish on their own.
func (c *Client) Close(ctx context.Context) error {
	err := c.Client.Close(ctx)
	c.transport.CloseIdleConnections()
	if errors.Is(err, elasticsearch.ErrAlreadyClosed) {
		return nil
	}
	return c.redactor.Error(err)
}

func (c Config) httpTransport() (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := LoadCAFile(c.CAFile)
		if err != nil {
			return nil, &FieldError{Component: "esclient", Field: "CAFile", Err: err}
		}
		tlsCfg.RootCAs = pool
	}
	switch {
	case c.TLSSkipVerify:
		tlsCfg.InsecureSkipVerify = true
	case c.TLSSkipHostnameVerify:
		// Go's TLS has no "chain only" switch: turn its verification off and redo the chain
		// check ourselves, without the name.
		tlsCfg.InsecureSkipVerify = true
		roots := tlsCfg.RootCAs
		tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots)
		}
	}
	dialTimeout := min(c.RequestTimeout, 10*time.Second)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	t.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = dialTimeout
	t.ResponseHeaderTimeout = c.RequestTimeout
	// Fluent Bit workers flush concurrently; the default of 2 idle connections per host would
	// make every other flush open a fresh TLS connection.
	t.MaxIdleConnsPerHost = 32
	return t, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("esclient: server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, cert := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		// The type Go's own verification fails with, so callers tell it from network errors.
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}
