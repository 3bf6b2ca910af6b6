// Package ipanomaly is siemscore's IP-anomaly model: how unusual is this source address for
// this principal? It is a hybrid. Exact memories of who used which address, kept compact,
// give the signals simple rules are made of; an IP Insights embedding (models/ipinsights)
// adds what co-usage teaches; and a small learned combiner weighs them all on the data it is
// trained on.
//
// # Why a hybrid
//
// A principal's own prefix history is the strongest single signal: a rule as simple as "how
// many leading bits does the address share with any address this principal used" beats an
// embedding trained for minutes (the SageMaker tutorial's scheme: AUC 0.993 against the
// embedding's 0.983). But it misses what peers know: a principal's first use of an office,
// VPN or NAT address its colleagues use every day is normal in any organisation, and the
// same rule over the account's history, or over the principals that share networks with it,
// sees that. Which of these matters, and how much, differs from one organisation to the
// next, so the model learns the weights from the data it is trained on instead of fixing
// them.
//
// # Signals
//
// For a (principal, address) pair, measured against the training history:
//
//   - own: the longest prefix the address shares with any address the principal used (exact,
//     bit by bit; IPv6 in 4-bit steps up to the /64), and the distance to the nearest one;
//   - account: the same over every principal of its account (processors/identity: the
//     ARN's account or the record's accountId), when the account is known;
//   - co-users: the same over its co-user group: principals that share networks (IPv4 /24,
//     IPv6 /64) with it, found by Louvain modularity clustering (gonum) of the graph in which
//     each shared network ties its users, so that an office binds its forty people and a
//     carrier's CGNAT pool, shared by hundreds from everywhere, binds nobody much. This is
//     the account for principals whose names carry none;
//   - network users and block users: how many other principals used the address's network
//     (/24, /64) and block (/16, /32): how common that place is in the organisation, read
//     apart for places the principal's account or co-users know (its users are colleagues)
//     and places they do not (strangers: another organisation's office, someone else's NAT);
//   - affinity: the IP Insights embedding's logit for the principal at the address (the
//     population vector for an unknown principal);
//   - novelty and events: how often the principal goes somewhere new (Good–Turing: the share
//     of its events in networks it used once) and how much history it has;
//   - excursions, crossed with the own-history prefix: how many times, in time order, the
//     principal went to a network new to it at least as far from everywhere it had been as
//     the address is from its history, so that a traveller's far address means less than a
//     stay-at-home's. (Counted against the networks used before, not against all the
//     others: an office, a home ISP, a VPN and a carrier are unrelated networks for
//     everyone, but each is new only once.) For an address of a network it used, how many
//     addresses of that network it used: a new lease where it keeps changing address means
//     less than one where it always used the same. No foreign example falls in a network the
//     principal used, so the data cannot rank these pairs among themselves: a prior does, a
//     quarter of a log-odds unit per doubling.
//
// # Combiner
//
// Every signal is binned and each bin has a weight; the raw score is the bias plus the
// weights of the pair's bins, the log-odds that the pair is foreign to the principal: a
// generalised additive logistic model. It is fitted by penalised maximum likelihood with
// L-BFGS (gonum/optimize), the penalty tying neighbouring bins together (so that a bin with
// few examples follows its neighbours) and pulling every weight towards a prior that ranks
// like the baselines (so that a model trained on almost nothing still ranks sensibly). Why
// this form: about five hundred weights learn the shape of each signal from thousands of
// examples without overfitting, scoring is a handful of table lookups, the weights are
// readable (which signal spoke is which bin's weight), and it measured as well as richer
// learners would need to on the scenario families (models/synth/ipscen).
//
// The combiner learns on time splits, as the model is used: the history is the earlier 80% of
// the observations (in time order when every one has a time, else in the order given) and
// the examples come from the later 20%, and again with the earlier 60% and the later 40%,
// which doubles the examples and covers scoring periods from a quarter to two thirds of the
// history's span. Normal examples are the principals' first uses of addresses there, as
// they come (busy principals weigh as they do in traffic), plus a quarter as many repeats.
// Anomalous ones are principals drawn uniformly (a stolen credential is anybody's), each at a
// foreign address: half random, a quarter another co-user group's address, a quarter another
// account's (another group's when it has none). The foreign address is IPv6 as often as the
// held-out first uses are: the family alone says nothing, an attacker's family has nothing to
// do with the victim's, and a principal that never used IPv6 must meet IPv6 attacks in
// training too. A random IPv4 address is uniformly random half the time, else in the /8 of an
// address someone used; a random IPv6 address keeps the first 12 to 31 bits of an address
// someone used (a registry's block down to a provider's allocation), since uniformly random
// IPv6 addresses lie in unallocated space and share almost nothing with anything, unlike an
// attacker's. A part of the examples is shown again as if the principal were unknown, so that
// what the model knows of an account and of an address is learned for newcomers too. The
// embedding is trained on the earliest history (60%) only, so that its affinity for every
// held-out first use is what it will be for the first uses it scores later; the model keeps
// that embedding and the co-user groups found in the earlier 80%, with the histories of all
// the data.
//
// # Score, calibration and reasons
//
// siemscore.ip.score is the raw log-odds; siemscore.ip.score_norm is it calibrated to 0–100
// by models/calibrate on the held-out events as they come, repeats included, scored against
// the earlier history: the score of normal traffic with its first uses at their natural rate.
// So a score means the same as before: how rare it is among normal events, in decades.
//
// Reasons say which signal spoke: principal_unknown, ip_new_for_principal,
// network_new_for_principal (v4 /24, v6 /64), network_known_to_account and
// network_known_to_peers (new to the principal, but its account's or co-users' history has
// it), network_never_seen and block_never_seen (nobody's), network_rare and affinity_low
// (the commonness or the embedding raised the score by more than a log-odds unit above their
// normal level), principal_few_events and entity_vector_shared.
//
// # Size and speed
//
// No address has a vector: the embedding keeps int8 vectors only for prefixes at least two
// principals used (/8 to /24, IPv6 /16 to /64). The histories are sorted arrays: 4 bytes per
// distinct (principal, IPv4 address), 16 per IPv6, and again per (account, address) and
// (co-user group, address); the network counts 6 bytes per /24 or /64 and 128 KiB for the
// /16s; the excursions 28 bytes per principal. The combiner is about 500 float64s. For
// the tutorial-sized data (2,000 principals, 437k pairs, ~430k addresses) the section is
// about 7 MB (README.md has the measured numbers). Scoring is about six binary searches and twenty table lookups, no allocation;
// the Model is read-only, so any number of goroutines may score concurrently.
package ipanomaly
