// Package periodicity models how each AWS principal calls each API, day by day: whether the
// pair runs like a machine (the SEC351 notebook's autocorrelation test) and whether today's
// volume is out of line with the pair's usual volume for that day of the week.
//
// Training (Counts, Train) takes calls or precomputed daily counts per (principal, eventName)
// pair and UTC day. The principal is the identity rule's (processors/identity): an IAM user's
// or other identity's ARN as it is, an assumed role's ARN without its session, as the role's
// arn:aws:iam::ACCOUNT:role/NAME, because automated roles (EC2 instance profiles, ECS tasks,
// many Lambda setups) get a new session name every run and would never build a history by
// session. Config.SessionKeys keys by session instead (models trained before the rule did, and
// their encoding, format 1, says so); models/score.APICallOf applies whichever the model was
// trained with. For each pair the daily counts from its first call to the end of
// the training window, missing days filled with zero, are autocorrelated at lags 1..7 exactly
// as pandas' Series.autocorr does (Autocorr). The largest |autocorrelation| is the pair's
// periodicity and its lag the best lag; the pair is periodic when that reaches the threshold
// (0.5, as in the notebook), provided it has enough history to judge (Config). A pair that
// calls nearly every day in nearly the same number is also automated (steady): its series is
// (almost) constant, which autocorrelation cannot see. The training also keeps, per weekday,
// the median and median absolute deviation of the pair's daily counts: the volume baseline.
//
// How much history: a sample autocorrelation is noisy (about 1/√n for n days), and the largest
// of seven |autocorrelations| of an irregular human series reaches 0.5 by chance more often the
// shorter the series. On the generated data of models/synth/apicalls (20 to 40 seeds, every pair) the
// precision of the automated flag was 0.75 with 4-week training windows, 0.90 with 6, 0.96 with
// 8, 0.987 with 10 and 0.995 with 12 weeks (recall 1.0 from 6 weeks): train on at least twelve
// weeks. A pair needs MinHistoryDays (4 weeks) to be judged at all.
//
// Scoring is split in two. State, inline in the pipeline, keeps each pair's running count for
// its current UTC day; it is bounded, sharded for concurrent writers and independent of the
// model. Model.Score turns that count into a robust z against the weekday baseline and a 0-100
// score that weighs an excess on an automated pair above one on a human's irregular use.
//
// A Model is immutable and encodes to a deterministic binary form (AppendBinary, Decode,
// Validate) for the model bundle.
package periodicity
