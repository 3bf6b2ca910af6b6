package processors

import (
	"strings"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/zeek"
)

// detect recognises a body's record type from a few key lookups, cheap enough to run on every
// record:
//
//   - CloudTrail: eventName and eventSource, or one of them with eventVersion, eventTime or
//     awsRegion (each also in the all-lowercase spelling some exports use); an Insights event
//     (eventType AwsCloudTrailInsight, or insightDetails with eventVersion), which names its
//     API only inside insightDetails;
//   - GuardDuty: schemaVersion, type and severity together;
//   - Zeek kerberos.log: uid and id.orig_h (or id_orig_h) with a field only kerberos.log has
//     (request_type, client, cipher, till, forwardable, renewable, error_msg), or service
//     together with success: service alone would also match conn.log, which names the
//     application protocol "service"; or a shipper's stream tag, "@stream": "kerberos" or
//     "_path": "kerberos", which also covers rows Zeek wrote with all of those unset.
//
// EventBridge envelopes are unwrapped before detection (see envelope).
func detect(b body.Value) ecs.Kind {
	// Every CloudTrail rule needs a key that begins with "event": one lookup rules them all
	// out for the other records.
	if b.HasKeyPrefix("event") {
		name := has(b, "eventName", "eventname")
		source := has(b, "eventSource", "eventsource")
		if name || source {
			if name && source || has(b, "eventVersion", "eventversion") || has(b, "eventTime", "eventtime") || has(b, "awsRegion", "awsregion") {
				return ecs.KindCloudTrail
			}
		}
		if stream(b, "eventType") == "AwsCloudTrailInsight" || has(b, "insightDetails", "") && has(b, "eventVersion", "eventversion") {
			return ecs.KindCloudTrail
		}
	}
	if has(b, "schemaVersion", "") && has(b, "type", "") && has(b, "severity", "") {
		return ecs.KindGuardDuty
	}
	if has(b, "uid", "") && has(b, "id.orig_h", "id_orig_h") && kerberosOnly(b) {
		return ecs.KindKerberos
	}
	if k := streamKind(stream(b, "@stream")); k != ecs.KindGeneric {
		return k
	}
	return streamKind(stream(b, "_path"))
}

// streamKind is the kind of the events of a Zeek log stream ("kerberos"), or generic.
func streamKind(s string) ecs.Kind {
	if s == "kerberos" {
		return ecs.KindKerberos
	}
	return ecs.KindGeneric
}

// keyed reports whether b has the fields an event of kind k cannot do without (those its
// parser's natural key and type check read), so that a stream hint never turns an unrelated
// record into an empty event of that kind.
func keyed(k ecs.Kind, b body.Value) bool {
	return k == ecs.KindKerberos && (has(b, "uid", "") || has(b, "id.orig_h", "id_orig_h"))
}

func kerberosOnly(b body.Value) bool {
	for _, k := range zeek.KerberosOnlyFields {
		if b.Get(k).Exists() {
			return true
		}
	}
	return has(b, "service", "") && has(b, "success", "")
}

func has(b body.Value, key, alt string) bool {
	return b.Get(key).Exists() || alt != "" && b.Get(alt).Exists()
}

func stream(b body.Value, key string) string {
	if v := b.Get(key); v.Kind() == body.String {
		return v.Str()
	}
	return ""
}

// envelope returns the event inside an EventBridge envelope ({"detail-type": ..., "detail":
// {...}}) and the kind its detail-type announces (ecs.KindGeneric when it announces none the
// processors know).
func envelope(b body.Value) (body.Value, ecs.Kind, bool) {
	v := b.Get("detail-type")
	detail := b.Get("detail")
	if v.Kind() != body.String || detail.Kind() != body.Map {
		return body.Value{}, 0, false
	}
	dt := v.Str()
	switch {
	case dt == "GuardDuty Finding":
		return detail, ecs.KindGuardDuty, true
	case strings.HasSuffix(dt, "via CloudTrail"): // "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", ...
		return detail, ecs.KindCloudTrail, true
	}
	return detail, ecs.KindGeneric, true
}

// splunkRaw returns the event text of a Splunk search export line ({"preview": false,
// "result": {"_raw": "...", "_time": ..., "host": ...}}), which is how Splunk's REST API and
// `splunk search -output json` hand events over (Elastic's CloudTrail integration reads the
// same shape). Splunk's own fields describe the index, not the event, and are dropped.
func splunkRaw(b body.Value) (body.Value, bool) {
	result := b.Get("result")
	if result.Kind() != body.Map {
		return body.Value{}, false
	}
	raw := result.Get("_raw")
	return raw, raw.Kind() == body.String
}
