package esclient

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheField(t *testing.T) {
	badPEM := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(badPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no hosts", func(c *Config) { c.Hosts = nil }, "Hosts"},
		{"bad scheme", func(c *Config) { c.Hosts = []string{"ftp://h:9200"} }, "Hosts: \"ftp://h:9200\""},
		{"no host", func(c *Config) { c.Hosts = []string{"http://"} }, "Hosts: \"http://\""},
		{"query", func(c *Config) { c.Hosts = []string{"http://h:9200/?x=1"} }, "Hosts: \"http://h:9200/?x=1\""},
		{"second host", func(c *Config) { c.Hosts = []string{"http://a:9200", "b:9200"} }, "Hosts: \"b:9200\""},
		{"key and user", func(c *Config) { c.APIKey = "id:k"; c.Username = "u" }, "APIKey"},
		{"bad key", func(c *Config) { c.APIKey = "%%%" }, "APIKey"},
		{"key without secret", func(c *Config) { c.APIKey = "id:" }, "APIKey"},
		{"password only", func(c *Config) { c.Password = "p" }, "Username"},
		{"missing CA", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "CAFile"},
		{"CA not a file", func(c *Config) { c.CAFile = t.TempDir() }, "CAFile"},
		{"timeout", func(c *Config) { c.RequestTimeout = 0 }, "RequestTimeout"},
		{"retries", func(c *Config) { c.MaxRetries = -1 }, "MaxRetries"},
		{"too many retries", func(c *Config) { c.MaxRetries = 1000 }, "MaxRetries"},
		{"immediate retries", func(c *Config) { c.RetryBackoff.Min = 0 }, "RetryBackoff"},
		{"max below min", func(c *Config) { c.RetryBackoff.Max = time.Millisecond }, "RetryBackoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted an invalid config")
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tc.field, fe.Field) {
				t.Errorf("error %q is not a FieldError of %s", err, tc.field)
			}
		})
	}
	// Validate only looks at the CA file; New reads it, once, and names the field.
	c := DefaultConfig()
	c.CAFile = badPEM
	if err := c.Validate(); err != nil {
		t.Errorf("Validate parsed the CA file: %v", err)
	}
	var fe *FieldError
	if _, err := New(c, nil); !errors.As(err, &fe) || fe.Field != "CAFile" || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("New with a CA file that is not PEM: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestValidateNeverEchoesCredentials(t *testing.T) {
	c := DefaultConfig()
	c.Hosts = []string{"https://elastic:s3cr3t-pw@es.example:9200/"}
	err := c.Validate()
	if err == nil {
		t.Fatal("credentials in a host URL must be refused")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "es.example:9200") {
		t.Errorf("error should still say which host: %v", err)
	}
}

func TestEncodeAPIKey(t *testing.T) {
	raw := "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"
	enc := base64.StdEncoding.EncodeToString([]byte(raw))
	for _, in := range []string{raw, enc} {
		got, err := encodeAPIKey(in)
		if err != nil || got != enc {
			t.Errorf("encodeAPIKey(%q) = %q, %v; want %q", in, got, err, enc)
		}
	}
	for _, in := range []string{"bm90LWEta2V5", ":x", "a b:c"} {
		if _, err := encodeAPIKey(in); err == nil {
			t.Errorf("encodeAPIKey(%q) accepted a malformed key", in)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	ceil := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, c := range ceil {
		c *= time.Millisecond
		for range 200 {
			d := b.Delay(i + 1)
			if d < c/2 || d > c {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", i+1, d, c/2, c)
			}
		}
	}
	if d := b.Delay(1 << 30); d < b.Max/2 || d > b.Max {
		t.Errorf("huge attempt: %s", d)
	}
	if d := b.Delay(0); d < b.Min/2 || d > b.Min {
		t.Errorf("attempt 0 must behave like 1: %s", d)
	}
}

func TestRedactor(t *testing.T) {
	c := DefaultConfig()
	c.Username, c.Password = "elastic", "pa55word"
	r := newRedactor(c)
	basic := base64.StdEncoding.EncodeToString([]byte("elastic:pa55word"))
	msg := "auth failed for user elastic with pa55word, header Basic " + basic
	got := r.String(msg)
	if strings.Contains(got, "pa55word") || strings.Contains(got, basic) {
		t.Errorf("not redacted: %q", got)
	}
	if !strings.Contains(got, "elastic") {
		t.Errorf("the user name is not a secret and helps debugging: %q", got)
	}

	c = DefaultConfig()
	c.APIKey = "keyid:thesecretpart"
	r = newRedactor(c)
	enc := base64.StdEncoding.EncodeToString([]byte(c.APIKey))
	for _, leak := range []string{c.APIKey, enc, "thesecretpart"} {
		if got := r.String("x " + leak + " y"); strings.Contains(got, "thesecretpart") || strings.Contains(got, enc) {
			t.Errorf("%q not redacted: %q", leak, got)
		}
	}
	if (*Redactor)(nil).String("abc") != "abc" || newRedactor(DefaultConfig()).String("abc") != "abc" {
		t.Error("a redactor without secrets must pass text through")
	}
	if r.Error(nil) != nil {
		t.Error("Error(nil) must be nil")
	}
}
