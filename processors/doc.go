// Package processors turns incoming record bodies (decoded from Fluent Bit chunks or read from
// files) into ECS documents: it recognises the record type, unwraps envelopes, and dispatches to
// the parser for that type. It never drops a record: a body it cannot make sense of still becomes
// a document, marked as a pipeline error with the reason.
//
// Every record gets its Elasticsearch _id here, by the one rule of recordid.go: a typed event
// with its natural key is identified by its content and pass-through keys (the same event sent
// twice is one document); any other record by its arrival (content, pass-through keys, the Fluent
// Bit timestamp in nanoseconds and its occurrence among identical events of the chunk, which
// AppendChunk numbers), so identical lines at different times stay separate documents while a
// chunk Fluent Bit re-sends byte for byte maps onto the same ones. processors/digest hashes
// what the rule selects.
package processors
