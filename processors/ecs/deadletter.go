package ecs

import "time"

// DeadLetterDocument is what the dead-letter data stream stores about a record Elasticsearch
// refused, or input that never became a record. Its template (elastic/template) maps exactly
// these fields and nothing dynamically, with the original kept in a field that cannot itself be
// rejected, so writing it cannot fail on content.
type DeadLetterDocument struct {
	Timestamp  time.Time       `json:"@timestamp"`
	DataStream DataStream      `json:"data_stream,omitzero"`
	Event      DeadLetterEvent `json:"event"`
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

// DeadLetter is the siemscore.deadletter object of a dead-letter document.
type DeadLetter struct {
	// Index and ID are where the record was meant to go; Index is empty for input that never
	// became a record.
	Index string `json:"index"`
	ID    string `json:"id,omitempty"`
	// Kind is the record type (cloudtrail, guardduty, kerberos, generic).
	Kind string `json:"kind"`
	// Status is the HTTP status Elasticsearch gave the item; 0 when the record never reached
	// Elasticsearch (it could not be encoded, or the input could not be decoded).
	Status int `json:"status"`
	// Original is the document exactly as it was sent, as a string (undecodable input:
	// its bytes, base64-encoded), except that a document too large for any request (HTTP 413)
	// keeps only its first bytes, so that its dead-letter entry is not too large as well.
	Original          string `json:"original"`
	OriginalBytes     int    `json:"original_bytes"`
	OriginalTruncated bool   `json:"original_truncated,omitempty"`
}
