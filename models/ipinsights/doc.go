// Package ipinsights is the embedding behind the affinity signal of siemscore's IP-anomaly
// model (models/ipanomaly): in the spirit of Amazon SageMaker IP Insights, it learns vectors
// for principals and for IP networks from (principal, address) pairs of normal activity, so
// that a pair whose vectors point apart is unfamiliar — trained in Go (gonum BLAS), for IPv4
// and IPv6, and knowing when a never-seen address sits inside a network others use.
//
// # Model
//
// Affinity(principal, ip) = u·v + b, where u is the principal's vector, b a global bias and v
// the address's vector: the SageMaker "dot_product", higher meaning more familiar.
//
// Principals are hashed with xxhash64 (stable across processes and machines). The trained
// principals' keys are kept sorted; the principal at rank i owns entity row i mod
// NumEntityVectors, so rows are shared only when there are more principals than rows (and
// then evenly), never by birthday collision as with hash-mod-size; a shared row is reported as
// entity_vector_shared.
//
// # Prefix encoder
//
// An address's vector is the sum of one vector per prefix level:
//
//	IPv4: /8 /12 /16 /20 /24
//	IPv6: /16 /32 /48 /64
//
// Each prefix is hashed (xxhash64 of the table index and the masked address bytes) into its own
// table. Only prefixes that at least MinPrefixPrincipals (2) principals used own rows (ranked
// like the principals, capped at MaxPrefixRows); every other prefix shares its level's learned
// "unseen" vector. No address has a vector of its own: a principal's exact history is
// models/ipanomaly's, and a vector per address made the model grow with every address (124 MB
// for the tutorial's 437k pairs). So an address inside a /24 colleagues use gets the trained
// /8…/24 vectors, and an address in a block nobody used is mostly "unseen" vectors, which
// training pushes away from every principal. A hashed row of some other prefix is never used for an unseen one (no collision
// noise), and once a level is unseen every finer one is too, so lookups stop there.
//
// Why these levels: IPv4 allocations and assignments happen at all lengths between /8 and /24
// (RIR blocks, ISP allocations, business /20s, LAN /24s), so /12 and /20 give the encoder the
// in-between resolution that tells "next door in the same ISP" from "same /8". For IPv6, /32
// is a typical ISP (LIR) allocation, /48 a site, /64 a LAN (the SLAAC boundary); privacy
// addresses change daily, so the /64 carries a host's network identity.
//
// # Training
//
// Logistic loss on each training pair (label 1) and its negatives (label 0):
//   - ShuffledNegatives: the principal with the address of another pair of the same minibatch
//     (as SageMaker does): familiar to someone else is not familiar to this principal;
//   - RandomNegatives: the principal with a uniformly random address of the same family
//     (IPv6 within 2000::/3): an unfamiliar part of the Internet is anomalous.
//
// Positives are shown with their finest levels masked as "unseen" at the rate this principal
// really uses new prefixes, estimated per level Good–Turing style (the share of its events in
// prefixes it used exactly once, shrunk towards the average principal's rate), so that what a
// principal routinely does (a new DHCP address every day, a phone on a carrier's NAT, travel)
// looks normal for it, and what a principal that never moves does not. A fraction
// (PopulationRate) of pairs also trains the population vector: the organisation seen as one
// principal, with random negatives only.
//
// Optimisation is minibatch Adam with lazy (sparse) row updates. It is deterministic for a
// seed whatever the number of workers: a minibatch is cut into a fixed number of chunks whose
// sparse gradients are computed in parallel from read-only parameters, then summed per row in
// chunk order and applied in parallel by row ownership (synchronous data parallelism; no
// Hogwild). Every example draws its randomness from (seed, epoch, position).
//
// # Unknown principals
//
// A principal not seen in training has no row; hashing it to some row would score it as
// someone else. It is scored against the population vector instead (Affinity with position
// -1): an address the organisation uses is familiar, one nobody uses is not, and a network
// common in the organisation ranks between them.
//
// # Performance
//
// Scoring a pair is a few xxhash and binary searches plus one dot product per level; it does
// not allocate and the Model is read-only, so any number of goroutines may score
// concurrently. Memory is 4·VectorDim bytes per entity row and VectorDim + 4 per prefix row
// (int8 vectors with a float32 scale: a quarter of float32's, at a relative error of at most
// 1/254 per component), plus 8 bytes per kept prefix key.
package ipinsights
