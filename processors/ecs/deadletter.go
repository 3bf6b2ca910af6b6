package ecs

import "time"

// DeadLetterDocument is what the dead-letter data stream (or the local dead-letter file) stores
// about a record Elasticsearch refused, or input that never became a record: why (error), when
// (@timestamp, the time it was dead-lettered), where from (host.name, the Fluent Bit tag, the
// index and _id it was meant for) and the whole record. Its template (elastic/template) maps
// exactly these fields and nothing dynamically, and stores the original without indexing it, so
// writing it cannot fail on content.
type DeadLetterDocument struct {
	Timestamp  time.Time       `json:"@timestamp"`
	DataStream DataStream      `json:"data_stream,omitzero"`
	Event      DeadLetterEvent `json:"event"`
	Host       DeadLetterHost  `json:"host,omitzero"`
	Error      Error           `json:"error"`
	SiemScore  struct {
		DeadLetter DeadLetter `json:"deadletter"`
	} `json:"siemscore"`
}

// DeadLetterEvent marks the document as a pipeline error of the dead-letter dataset.
type DeadLetterEvent struct {
	Kind    string `json:"kind"`
	Dataset string `json:"dataset"`
}

// DeadLetterHost is the ECS host of the Fluent Bit that dead-lettered the record.
type DeadLetterHost struct {
	Name string `json:"name,omitempty"`
}

// DeadLetter is the siemscore.deadletter object of a dead-letter document.
type DeadLetter struct {
	// Index and ID are where the record was meant to go; Index is empty for input that never
	// became a record.
	Index string `json:"index"`
	ID    string `json:"id,omitempty"`
	// Pipeline is the ingest pipeline it was sent through ("_none": the index's default one was
	// skipped); a replay sends it the same way.
	Pipeline string `json:"pipeline,omitempty"`
	// Kind is the record type (cloudtrail, guardduty, kerberos, generic).
	Kind string `json:"kind"`
	// Tag is the Fluent Bit tag of the chunk the record came in.
	Tag string `json:"tag,omitempty"`
	// Status is the HTTP status Elasticsearch gave the item; 0 when the record never reached
	// Elasticsearch (it could not be encoded, or the input could not be decoded).
	Status int `json:"status"`
	// Original is the whole document exactly as it was sent, as a string (undecodable input:
	// its bytes, base64-encoded), never shortened: a document too large for the dead-letter
	// data stream goes to the dead-letter file instead.
	Original      string `json:"original"`
	OriginalBytes int    `json:"original_bytes"`
}
