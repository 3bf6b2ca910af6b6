// Package reader reads siemscore's training data out of Elasticsearch, from the documents the
// plugin wrote, into the inputs of the three models:
//
//   - ReadIPPairs: the (entity, address) pairs of CloudTrail events for the IP model, read with a
//     point in time, search_after and parallel slices (Scan);
//   - ReadAPICounts: daily (principal, API) call counts for the periodicity model, with
//     composite aggregations (Composite);
//   - ReadKerberosFeatures: per-host Kerberos window features for the host model, with
//     composite aggregations and a join done in Go.
//
// Each reads a time window and keeps a bounded amount in memory: above its maximum it keeps a
// uniform random sample (Sample), so the trainer's memory does not grow with the index. Every
// field it reads, and every rule that turns fields into a model input, is the scorer's own
// (models/score), so the models are trained on what they are asked about.
//
// Nothing here uses scripts: the test cluster, and some production ones, have none.
package reader
