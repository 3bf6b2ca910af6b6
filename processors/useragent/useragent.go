// Package useragent parses user_agent.original into the ECS fields Elastic's user_agent ingest
// processor fills (user_agent.name, version, os.name/version/full, device.name), with the same
// rules: uap-core's regexes, through ua-parser's maintained Go port.
//
// Parsing in the plugin rather than in an ingest pipeline gives the same fields on every cluster
// (the processor's module may be missing, as in minimal distributions), in `siemscore score`
// output, and before scoring, at no cost to Elasticsearch. An ingest pipeline can still be named
// with es_pipeline for processing of the user's own.
package useragent

import (
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ua-parser/uap-go/uaparser"
	"golang.org/x/time/rate"

	"github.com/siemscore/siemscore/processors/ecs"
)

// cacheSize bounds the cache of parsed strings. The user agents of a CloudTrail trail are few
// (SDKs, the console, AWS services) and repeat, so nearly every record is a cache hit.
const cacheSize = 8192

// Parsing a string not seen before runs hundreds of regular expressions: 1-2 ms. CloudTrail's
// userAgent is whatever the API caller sent, so a caller sending a new one with every call
// could make every record cost that. New strings are therefore parsed at most parseRate per
// second (with a burst for the first records of a trail); beyond that a record keeps only
// user_agent.original and reports IssueNotParsed. At the limit parsing takes about a third of
// one core.
const (
	parseRate  = 200
	parseBurst = 2000
)

// maxLen bounds the part of a user agent that is parsed: uap-core's rules match within the
// first few hundred bytes, and a longer string only costs more.
const maxLen = 512

// IssueNotParsed (in siemscore.issues) says user_agent.original was not parsed because too many
// unseen user agents arrived at once.
const IssueNotParsed = "user_agent_not_parsed"

// parsed is what the rules make of one string.
type parsed struct {
	name, version string
	os            ecs.UserAgentOS
	device        string
}

type state struct {
	rules   *uaparser.Parser
	cache   *lru.Cache[string, parsed]
	limiter *rate.Limiter
}

// shared is built on first use: compiling uap-core's rules takes about 0.1 s.
var shared = sync.OnceValue(func() *state {
	// uap-go's own caches are kept minimal: this package caches the whole result once.
	rules, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		panic("useragent: the uap-core rules embedded in uap-go do not load: " + err.Error())
	}
	cache, err := lru.New[string, parsed](cacheSize)
	if err != nil {
		panic("useragent: " + err.Error()) // only for a size below 1
	}
	return &state{rules: rules, cache: cache, limiter: rate.NewLimiter(parseRate, parseBurst)}
})

// Warm builds the parser now, so that the first record does not pay for it.
func Warm() { shared() }

// Fill sets ua's parsed fields from ua.Original, as Elastic's processor does: the name is "Other"
// when no rule knows the client, the device "Other" when none knows the device, and the os is
// left out when no rule knows it. It reports false when the string was left unparsed (see
// parseRate).
func Fill(ua *ecs.UserAgent) bool {
	s := ua.Original
	if s == "" {
		return true
	}
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	st := shared()
	p, ok := st.cache.Get(s)
	if !ok {
		if !st.limiter.Allow() {
			return false
		}
		p = st.parse(s)
		st.cache.Add(strings.Clone(s), p)
	}
	ua.Name, ua.Version, ua.OS, ua.Device.Name = p.name, p.version, p.os, p.device
	return true
}

func (st *state) parse(s string) parsed {
	c := st.rules.ParseUserAgent(s)
	p := parsed{name: c.Family, version: version(c.Major, c.Minor, c.Patch, ""), device: st.rules.ParseDevice(s).Family}
	if o := st.rules.ParseOs(s); o.Family != "" && o.Family != "Other" {
		p.os.Name = o.Family
		p.os.Version = version(o.Major, o.Minor, o.Patch, o.PatchMinor)
		p.os.Full = strings.TrimSpace(o.Family + " " + p.os.Version)
	}
	return p
}

// version joins the parts a rule found, from the major one on.
func version(major, minor, patch, build string) string {
	if major == "" {
		return ""
	}
	v := major
	for _, p := range [...]string{minor, patch, build} {
		if p == "" {
			break
		}
		v += "." + p
	}
	return v
}
