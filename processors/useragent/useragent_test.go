package useragent

import (
	"fmt"
	"testing"

	"golang.org/x/time/rate"

	"github.com/siemscore/siemscore/processors/ecs"
)

// The expected values are those of Elastic's CloudTrail integration's pipeline test outputs
// (test-console-login-json.log-expected.json, test-add-user-to-group-json.log-expected.json),
// which ran Elasticsearch's user_agent processor, except Firefox's version: Elasticsearch writes
// "24.0." (a Java regex group that matched nothing is "", not null); here it is "24.0".
func TestAsElasticsProcessor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ecs.UserAgent
	}{
		{"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0", ecs.UserAgent{
			Name: "Firefox", Version: "24.0",
			OS:     ecs.UserAgentOS{Name: "Windows", Version: "7", Full: "Windows 7"},
			Device: ecs.UserAgentDevice{Name: "Other"}}},
		{"AWSConsole", ecs.UserAgent{Name: "Other", Device: ecs.UserAgentDevice{Name: "Other"}}},
		// uap-core knows the AWS CLI and SDKs by name and version.
		{"aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.ls", ecs.UserAgent{
			Name: "aws-cli", Version: "2.13.5",
			OS:     ecs.UserAgentOS{Name: "Linux", Version: "4.14.255", Full: "Linux 4.14.255"},
			Device: ecs.UserAgentDevice{Name: "Other"}}},
	} {
		ua := ecs.UserAgent{Original: tc.in}
		Fill(&ua)
		tc.want.Original = tc.in
		if ua != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, ua, tc.want)
		}
	}
	empty := ecs.UserAgent{}
	if Fill(&empty); empty != (ecs.UserAgent{}) {
		t.Errorf("an empty user agent gained fields: %+v", empty)
	}
}

// TestUnseenBudget: a flood of user agents never seen before is parsed up to the budget, the
// rest keep only the original; strings seen before are always filled from the cache.
func TestUnseenBudget(t *testing.T) {
	st := shared()
	saved := st.limiter
	defer func() { st.limiter = saved }()
	st.limiter = rate.NewLimiter(0, 3) // three parses, no refill
	seen := ecs.UserAgent{Original: "AWSConsole"}
	Fill(&seen) // cached by the test above or parsed now
	var parsed, left int
	for i := range 10 {
		ua := ecs.UserAgent{Original: fmt.Sprintf("flood-%d/1.0", i)}
		if Fill(&ua) {
			parsed++
			if ua.Name == "" {
				t.Errorf("%q reported parsed but has no name", ua.Original)
			}
		} else {
			left++
			if ua != (ecs.UserAgent{Original: ua.Original}) {
				t.Errorf("an unparsed user agent gained fields: %+v", ua)
			}
		}
	}
	again := ecs.UserAgent{Original: "AWSConsole"}
	if !Fill(&again) || again.Name != "Other" {
		t.Errorf("a cached user agent must be filled whatever the budget: %+v", again)
	}
	if parsed > 3 || left < 7 {
		t.Errorf("parsed %d, left %d: the budget allowed 3", parsed, left)
	}
}

// BenchmarkFillRepeated is the common case: the same few clients over and over.
func BenchmarkFillRepeated(b *testing.B) {
	Warm()
	uas := []string{
		"aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.ls",
		"console.amazonaws.com", "AWS Internal", "Boto3/1.9.201 Python/2.7.12 Linux/4.15.0-1043-aws Botocore/1.12.201",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ua := ecs.UserAgent{Original: uas[i%len(uas)]}
		Fill(&ua)
	}
}

// BenchmarkParseUnseen is what one user agent never seen before costs (the budget bounds how
// many of these run per second).
func BenchmarkParseUnseen(b *testing.B) {
	st := shared()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st.parse(fmt.Sprintf("aws-sdk-go-v2/1.%d.0 os/linux lang/go#1.21.1 md/GOARCH#amd64 api/sts#1.23.0", i))
	}
}
