// Package kerberos scores Kerberos source hosts: it describes what each host did over a sliding
// window of Kerberos requests with a handful of statistics, clusters hosts on them with k-means,
// and says how unusual a host is for the cluster that explains it best. It grew out of the
// notebook that clustered Zeek kerberos.log rows by id.orig_h with scikit-learn (k = 6 on
// distinct responders and request counts, then on failures only) and adds the statistics that
// make credential attacks stand out.
//
// # Features
//
// Per source host (id.orig_h) over the window; counts enter the model as log(1+x), shares as they
// are (see [Features] for the order):
//
//	requests             requests made. The notebook's "count".
//	distinct_servers     distinct responders (id.resp_h). The notebook's "unique": KDCs, plus
//	                     file servers when SMB's Kerberos exchanges are logged.
//	top_server_share     share of requests that went to the most used responder. The notebook's
//	                     "freq" divided by "count", so it does not duplicate requests.
//	top_server_load      requests from all hosts to this host's top responder. The notebook's
//	                     engineered "top_host_connections": a host leaning on a quiet KDC is odd.
//	failures             failed requests, not counting KDC_ERR_PREAUTH_REQUIRED (every Windows
//	                     logon's first AS-REQ gets it by design). The notebook's failures-only
//	                     view as one count instead of a second clustering.
//	failure_ratio        failures / (requests + 1). Spraying and brute force run near 1; a user's
//	                     typo is one failure among a logon's requests. The +1 keeps the first
//	                     failed request of an hour from reading as a 100% failure rate.
//	distinct_clients     distinct client principals. Spraying tries many accounts from one
//	                     host; only terminal servers do that legitimately, and they succeed.
//	distinct_services    distinct service principals. Kerberoasting asks for many SPNs at once.
//	preauth_failures     KDC_ERR_PREAUTH_FAILED: a wrong password for an existing account
//	                     (brute force, spraying).
//	principal_unknown    KDC_ERR_C_PRINCIPAL_UNKNOWN: an account that does not exist (spraying
//	                     with guessed names, user enumeration).
//	tgs_share            TGS requests / requests: service-ticket heavy hosts (servers,
//	                     kerberoasting) against logon-heavy ones (AS).
//	weak_cipher_services distinct services this host received RC4 or DES tickets for.
//	                     Kerberoasting tools ask for RC4 because it cracks fast; a legacy
//	                     application may need RC4 for its one or two back ends, never for dozens.
//
// The same definitions serve training and scoring: training samples are read from the very
// [State] that scores live records (see [WindowFeatures]), and a trainer computing them elsewhere
// (for instance with Elasticsearch aggregations) must follow this list.
//
// # Window and streaming state
//
// [State] keeps, per source host, a sliding window of [NumBuckets] buckets (one hour in
// five-minute buckets by default): counters per bucket, and for each distinct-count dimension the
// bucket each value was last seen in, so values and counts age out together as the window
// slides. A sliding window rather than a tumbling one, because a record is scored from its host's
// current features: with tumbling windows every host would look idle right after each window
// boundary, and an attack straddling one would be cut in half. Records are placed by their own
// timestamp; a record older than its host's window is scored but not counted.
//
// Memory is bounded:
//
//   - MaxHosts source hosts (default 32768), in 64 shards each with its own lock and its own
//     least-recently-updated eviction; an evicted host that comes back starts from zero. A
//     typical host costs about 1.2 KiB of heap, so the default cap holds about 38 MiB.
//   - Per host and dimension (servers, clients, services, weak-cipher services) up to 8 distinct
//     values are kept exactly; beyond that the set becomes a 128-slot linear-counting sketch
//     (512 bytes, relative error about 7–8% between 50 and 200 values, saturating near 620), so
//     the worst-case host adds 2 KiB: [StateBytesPerHost] bounds a host (104 MiB at the cap).
//   - Per host the four most used responders keep per-bucket counts for top_server_share.
//   - MaxServers responders (default 4096) keep per-bucket request counts for top_server_load,
//     with the same eviction.
//
// The state does not depend on a model: a model swap keeps it. After a restart it is empty, and
// for one window its features undercount; [Observation.Complete] says when they are whole.
//
// # Model and score
//
// Training standardises each (transformed) feature with its mean and population standard
// deviation (as scipy.stats.zscore, which the notebook used; a constant feature gets deviation
// 1) and clusters the samples with k-means (package models/kmeans; k fixed, or chosen by
// silhouette). Each cluster keeps its share of the samples and, per feature, the RMS deviation
// of its members from the centroid, shrunk towards the overall deviation (1) with the weight of
// five members and floored at 0.5, so a cluster of a few identical hosts neither has zero spread
// nor makes a neighbour one step away infinitely far.
//
// A host's standardised features z are scored in two steps. First the cluster that explains
// the host best: the one with the lowest
//
//	fit_c = ½ Σ_i u_ci² + ln(1 / fraction_c),  u_ci = (z_i − centroid_ci) / spread_ci
//
// the negative log-likelihood, up to a constant, of the clusters read as a mixture of Gaussians
// with diagonal covariance. Then the surprise under that cluster, counting only deviations in
// the direction an attack pushes each feature (up for counts, failures and distinct values, down
// for top_server_load, either way for the two shares), so a terminal server with fewer typos
// than usual is not suspicious:
//
//	surprise = −ln(fraction_c · P[χ²_d ≥ Σ_i u_ci²⁺])
//
// with u⁺ the suspicious deviations and d the number of features. A typical member scores about
// ln(1/fraction): a host is surprising when it is far from the cluster that explains it best, in
// that cluster's own units, or when that cluster is rare. The χ² tail, rather than ½Σu², keeps
// the dozen features' ordinary scatter from drowning the rarity term. Distance is the RMS of
// all the u_ci (about 1 for a typical member); the top three suspicious deviations become the
// reasons.
//
// ScoreNorm is the shared models/calibrate mapping of surprise to 0–100 (every model's scores
// mean the same: 90% of ordinary records score 0, a tail probability of 1e-4 scores 50, 1e-7 and
// beyond 100). [Train] fits it on the surprises of the training records themselves, replayed
// through a State exactly as the plugin will score them (partial windows included);
// [TrainFeatures], which has only window features, counts each window's surprise once per
// request. The calibrator takes its training data for normal: an attack inside the training
// window widens its tail, so a repeat of that attack still ranks at the top but scores lower.
package kerberos
