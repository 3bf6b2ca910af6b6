package ecs

// Issue codes for siemscore.issues: problems with the input that did not stop the record.
const (
	IssueTimestampMissing     = "timestamp_missing"      // no event time; the Fluent Bit time was used
	IssueTimestampInvalid     = "timestamp_invalid"      // unparseable or out-of-range event time
	IssueSourceNotIP          = "source_not_ip"          // source address is a hostname or "AWS Internal"
	IssueSourceIPInvalid      = "source_ip_invalid"      // looks like an IP but does not parse (e.g. 255.18.064.253)
	IssueSourceNotString      = "source_not_string"      // the source address is an object or array; kept as JSON text in source.address
	IssuePrincipalMissing     = "principal_missing"      // no principal to score the IP against
	IssuePassthroughCollision = "passthrough_collision"  // a record key collided with an ECS field; kept under fluentbit.*
	IssueEmbeddedEventInvalid = "embedded_event_invalid" // the configured key held a string that is not a JSON event
)
