// Package deliver ships one Fluent Bit chunk of records to Elasticsearch and says whether every
// record is safely there: the engine behind the plugin's flush. Deliver returns OK only after
// Elasticsearch acknowledged every record of the chunk (created, already present, or written
// to the dead-letter data stream); anything less is RETRY, and Fluent Bit re-sends the whole
// chunk, which the records' deterministic _ids make idempotent.
//
// Every answer is judged by whose fault it is (classify.go). A record is dead-lettered only when
// the record itself is refused; when the cluster or its configuration refuses, every record of
// the index would be refused alike, so the chunk is kept (re-sent in-process, then RETRY) and the
// cause is logged once when it appears and once when it clears (ErrUnavailable marks such a
// RETRY):
//
//	answer (per item unless said)                              whose fault     what happens
//	200, 201                                                   -               written
//	409 version_conflict_engine_exception                      -               already there (an earlier attempt): acknowledged
//	429 es_rejected_execution_exception, circuit_breaking_     overload        re-sent with backoff for RetryBudget, then RETRY
//	  exception; 408; 5xx (unavailable_shards_exception, ...);
//	  an item without a status
//	400 index_closed_exception                                 cluster         re-sent, then RETRY; cause logged once
//	403/429 cluster_block_exception (index read-only, write    cluster         re-sent, then RETRY; cause logged once
//	  block, flood-stage read_only_allow_delete, cluster
//	  read-only)
//	401/403 security_exception, authorization_exception,       configuration   re-sent, then RETRY; cause logged once
//	  any other 401 or 403
//	404 index_not_found_exception, any other 404               configuration   re-sent, then RETRY; cause logged once
//	400 illegal_argument_exception "pipeline with id [x] does  configuration   re-sent, then RETRY; cause logged once
//	  not exist" (index.default_pipeline/final_pipeline),
//	  "no write index is defined for alias", "only write ops
//	  with an op_type of create"
//	invalid_index_name_exception, resource_not_found_          configuration   re-sent, then RETRY; cause logged once
//	  exception, illegal_state_exception (no ingest node),
//	  no_shard_available_action_exception
//	400 document_parsing_exception, mapper_parsing_exception,  record          dead letter (data stream), with the reason
//	  strict_dynamic_mapping_exception, x_content_parse_
//	  exception, illegal_argument_exception (any other reason,
//	  e.g. the total fields limit), any other 4xx
//	a record Elasticsearch never saw: it cannot be encoded as  record          dead letter (data stream), status 0
//	  JSON (NaN from msgpack), or has no document
//	whole request: 413                                         path            split in halves, down to single records
//	whole request: 413 for one record, larger than any         record          dead letter, whole, in the dead-letter FILE
//	  request the way has taken                                                  (its dead letter would be larger still)
//	whole request: 413 for one record no larger than a         path (a proxy)  re-sent, then RETRY; cause logged once
//	  request the way has taken
//	whole request: unreachable, TLS failure, timeout, 401,     cluster         RETRY (401/403 and unreachable: logged once)
//	  403, 429 or 5xx after esclient's own retries
//	whole request: an answer that does not match the request   -               RETRY
//	dead letter refused by the dead-letter data stream for a   record          dead letter, whole, in the dead-letter FILE
//	  record-level reason (a 413, an operator's own mapping)
//	dead letter refused for any other reason (target closed,   cluster         as for records: re-sent, then RETRY
//	  blocked, overloaded)
//
// A dead letter holds the whole record (the document exactly as it was sent), why (error.type,
// error.message, the HTTP status), when (@timestamp) and where from (host.name, the Fluent Bit
// tag, the index and _id it was meant for): in the dead-letter data stream, which stores the
// original without indexing it, or, when that cannot hold it, in the local dead-letter file
// (Config.DeadLetterPath, elastic/deadletter). It is never shortened: without a file, a chunk
// holding such a record is RETRY until the limit is raised or a file is configured. The file is
// written, and synced, only once the rest of the chunk is acknowledged. Redeliver writes dead
// letters again for `siemscore deadletter replay`.
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
