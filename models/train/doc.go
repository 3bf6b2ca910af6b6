// Package train is siemscore's one training pipeline. It trains the three models — the
// IP-anomaly model from (entity, address) pairs, the Kerberos host model from host windows and
// the periodicity model from daily (principal, API) counts — validates each before anyone may
// use it, and assembles them into a versioned bundle.
//
// The data comes from either of two sources, both producing a Data:
//   - Collector gathers it from processed records (CloudTrail, Zeek Kerberos, principal,ip
//     tuples) with the scorer's own extraction rules (models/score), so the models learn exactly
//     what they will be asked about: `siemscore train` and `siemscore demo`;
//   - ReadES reads it back from what the plugin wrote to Elasticsearch (elastic/reader, in
//     bounded memory): `siemscore train --from-es` and the companion trainer, through FromES.
//
// Train then runs the same steps for both: each model the data allows is trained and checked
// (its scores are numbers in 0–100, its own training data scores low, the IP model tells random
// addresses from familiar ones); a model named in Config.Models must succeed; one that fails
// or lacks data is left out, or with Config.KeepPrevious carries over the previous bundle's
// section, so a retraining never throws away a working model for want of a week's data.
package train
