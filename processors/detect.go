package processors

import (
	"strings"

	"github.com/siemscore/siemscore/processors/ecs"
)

// detect recognises a body's record type from a few key lookups, cheap enough to run on every
// record:
//
//   - CloudTrail: eventName and eventSource, or one of them with eventVersion, eventTime or
//     awsRegion (each also in the all-lowercase spelling some exports use);
//   - GuardDuty: schemaVersion, type and severity together;
//   - Zeek kerberos.log: uid and id.orig_h (or id_orig_h) with a field only kerberos.log has
//     (request_type, client, cipher, till, forwardable, renewable, error_msg), or service
//     together with success: service alone would also match conn.log, which names the
//     application protocol "service"; or a shipper's stream tag, "@stream": "kerberos" or
//     "_path": "kerberos", which also covers rows Zeek wrote with all of those unset.
//
// EventBridge envelopes are unwrapped before detection (see envelope).
func detect(b map[string]any) ecs.Kind {
	name := has(b, "eventName", "eventname")
	source := has(b, "eventSource", "eventsource")
	if name || source {
		if name && source || has(b, "eventVersion", "eventversion") || has(b, "eventTime", "eventtime") || has(b, "awsRegion", "awsregion") {
			return ecs.KindCloudTrail
		}
	}
	if has(b, "schemaVersion", "") && has(b, "type", "") && has(b, "severity", "") {
		return ecs.KindGuardDuty
	}
	if has(b, "uid", "") && has(b, "id.orig_h", "id_orig_h") && kerberosOnly(b) {
		return ecs.KindKerberos
	}
	if stream(b, "@stream") == "kerberos" || stream(b, "_path") == "kerberos" {
		return ecs.KindKerberos
	}
	return ecs.KindGeneric
}

func kerberosOnly(b map[string]any) bool {
	for _, k := range [...]string{"request_type", "client", "cipher", "till", "forwardable", "renewable", "error_msg"} {
		if _, ok := b[k]; ok {
			return true
		}
	}
	return has(b, "service", "") && has(b, "success", "")
}

func has(b map[string]any, key, alt string) bool {
	if _, ok := b[key]; ok {
		return true
	}
	if alt == "" {
		return false
	}
	_, ok := b[alt]
	return ok
}

func stream(b map[string]any, key string) string {
	s, _ := b[key].(string)
	return s
}

// envelope returns the event inside an EventBridge envelope ({"detail-type": ..., "detail":
// {...}}) and the kind its detail-type announces (ecs.KindGeneric when it announces none the
// processors know).
func envelope(b map[string]any) (map[string]any, ecs.Kind, bool) {
	dt, ok := b["detail-type"].(string)
	if !ok {
		return nil, 0, false
	}
	detail, ok := b["detail"].(map[string]any)
	if !ok {
		return nil, 0, false
	}
	switch {
	case dt == "GuardDuty Finding":
		return detail, ecs.KindGuardDuty, true
	case strings.HasSuffix(dt, "via CloudTrail"): // "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", ...
		return detail, ecs.KindCloudTrail, true
	}
	return detail, ecs.KindGeneric, true
}
