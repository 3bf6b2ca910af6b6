// Package deliver ships one Fluent Bit chunk of records to Elasticsearch and says whether every
// record is safely there: the engine behind the plugin's flush. Deliver returns OK only after
// Elasticsearch acknowledged every record of the chunk (created, already present, or written
// to the dead-letter data stream); anything less is RETRY, and Fluent Bit re-sends the whole
// chunk, which the records' deterministic _ids make idempotent.
//
// Per item of a bulk response:
//   - 200/201 created, 409 on create (the _id is already there: an earlier attempt of this
//     chunk got through) count as delivered;
//   - 429 and 5xx are re-sent in-process, only those items, with exponential backoff and jitter,
//     for at most Config.RetryBudget; then the chunk is RETRY;
//   - 401/403/404/408 say nothing about the record (missing privileges, missing index): RETRY;
//   - any other 4xx (mapping and parse errors) is the record's own fault and would fail forever:
//     the record goes to the dead-letter data stream with the error and the original document;
//     if that write fails, the chunk is RETRY.
//
// Whole-request failures (unreachable, timeouts, 5xx and 429 after esclient's own retries, a
// response that does not match the request) are RETRY; a 413 splits the request in halves.
//
// Input that never became a record (Undecodable: bytes of a chunk that are not msgpack, or not
// a log event) goes to the dead-letter data stream in the same requests as the chunk's records,
// whole, so a chunk is acknowledged all at once or retried all at once.
//
// Before the first record is written, Deliverer installs the index templates (Config.Templates):
// a data stream created before its template would get no mappings, and no lifecycle, for good.
// New tries once, briefly, because Elasticsearch may be down while Fluent Bit starts, which
// must not stop the agent; until an installation succeeds, every Deliver tries again first and
// returns RETRY when it fails. This package is the only one that writes to Elasticsearch.
//
// # Why the bulk API and not esutil.BulkIndexer
//
// go-elasticsearch offers both; this package calls esapi.BulkRequest synchronously, one request
// per batch of the chunk, because what matters here is per-chunk acknowledgement and per-item
// retry, and BulkIndexer (v8.19.7, esutil/bulk_indexer.go) is built for the opposite, fire and
// forget:
//   - Flush() flushes every worker under one mutex, so N Fluent Bit workers flushing at once
//     serialise behind each other and each chunk's acknowledgement waits for the others' items;
//     its FlushInterval ticker also sends items outside any Flush;
//   - workers send with context.Background(): a flush deadline or shutdown cannot abort a
//     request, and an abandoned Flush still gets OnSuccess/OnFailure callbacks later, into a
//     chunk that has already returned;
//   - the response is matched to items by position without checking the count: a response with
//     more items than sent indexes past the slice and panics in a worker goroutine, which no
//     recover in the plugin can catch, so it kills Fluent Bit;
//   - per-item 429s are reported through OnFailure but not retried, so the chunk-level retry
//     loop would have to be built on top anyway, with items re-added and re-flushed across
//     shared workers.
//
// A synchronous request per batch gives exact per-chunk bookkeeping, cancellation through the
// caller's context, no goroutines of its own (so Close has nothing to leak) and natural
// concurrency: each Fluent Bit worker's flush is its own request on the shared, goroutine-safe
// client.
package deliver
