package esclient

import (
	"io"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{401, `{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: api key is expired","header":{"WWW-Authenticate":["ApiKey"]}}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: api key is expired","header":{"WWW-Authenticate":["ApiKey"]}},"status":401}`,
			"HTTP 401 Unauthorized: security_exception: unable to authenticate with provided credentials and anonymous access is not allowed for this request (API key: api key is expired)"},
		{403, `{"error":{"root_cause":[{"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized for user [w]"}],"type":"security_exception","reason":"action [indices:data/write/bulk[s]] is unauthorized for user [w]"},"status":403}`,
			"HTTP 403 Forbidden: security_exception: action [indices:data/write/bulk[s]] is unauthorized for user [w]"},
		{400, `{"error":{"root_cause":[{"type":"x_content_parse_exception","reason":"[1:2] unexpected"}],"type":"illegal_argument_exception","reason":"bad body","caused_by":{"type":"json_parse_exception","reason":"oops"}},"status":400}`,
			"HTTP 400 Bad Request: illegal_argument_exception: bad body; root cause x_content_parse_exception: [1:2] unexpected; caused by json_parse_exception: oops"},
		{405, `{"error":"Incorrect HTTP method for uri [/_ilm/status] and method [GET], allowed: [POST]","status":405}`,
			"HTTP 405 Method Not Allowed: Incorrect HTTP method for uri [/_ilm/status] and method [GET], allowed: [POST]"},
		{502, "<html>Bad Gateway</html>\n", "HTTP 502 Bad Gateway: <html>Bad Gateway</html>"},
		{503, "", "HTTP 503 Service Unavailable: "},
		{500, strings.Repeat("x", 600), "HTTP 500 Internal Server Error: " + strings.Repeat("x", 512) + "…"},
	} {
		got := Describe(&esapi.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(tc.body))})
		if got != tc.want {
			t.Errorf("Describe(%d %.40q…)\n got %q\nwant %q", tc.status, tc.body, got, tc.want)
		}
	}
}
