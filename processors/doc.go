// Package processors turns incoming record bodies (decoded from Fluent Bit chunks or read from
// files) into ECS documents: it recognises the record type, unwraps envelopes, and dispatches to
// the parser for that type. It never drops a record: a body it cannot make sense of still becomes
// a document, marked as a pipeline error with the reason.
package processors
