// Package processors turns incoming record bodies (decoded from Fluent Bit chunks or read from
// files) into ECS documents: it recognises the record type, unwraps envelopes, and dispatches to
// the parser for that type. It never drops a record: a body it cannot make sense of still becomes
// a document, marked as a pipeline error with the reason.
//
// Bodies are read from a body tree (package body), never as Go maps: the plugin decodes a chunk
// into a Batch's tree and AppendBody builds the records in the batch's memory, the documents'
// strings being views of the chunk's copy. A flush worker keeps one Batch and resets it for the
// next chunk, so the hot path allocates nothing once the batch has grown; the records are valid
// until then. Append takes a Go map (records read from files, tests) into a batch of its own.
//
// Every record gets its Elasticsearch _id here, by the one rule of recordid.go: a typed event
// with its natural key is identified by its content and pass-through keys (the same event sent
// twice is one document); any other record by its arrival (content, pass-through keys, the Fluent
// Bit timestamp in nanoseconds and its occurrence among identical events of the chunk, which a
// Chunk numbers), so identical lines at different times stay separate documents while a chunk
// Fluent Bit re-sends byte for byte maps onto the same ones. processors/digest hashes what the
// rule selects.
package processors
