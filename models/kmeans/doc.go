// Package kmeans clusters points with k-means: k-means++ seeding, Lloyd iterations, several
// restarts keeping the lowest inertia, and the silhouette score to choose k.
//
// It follows scikit-learn's KMeans (the library the product's notebooks were written with) closely
// enough that the same data gives the same inertia within a fraction of a percent:
//
//   - Seeding is greedy k-means++: the first centre is a uniformly random point; every further
//     centre is the best of 2+⌊ln k⌋ candidates drawn with probability proportional to D², the
//     squared distance to the nearest centre chosen so far, "best" meaning the candidate that
//     leaves the smallest total D².
//   - Lloyd iterations stop when no label changes, or when the summed squared centre shift falls
//     to Tol times the mean per-feature variance of the data, or after MaxIter; when they stop on
//     the shift, the labels are recomputed against the final centres so labels, centres and
//     inertia agree.
//   - A cluster left empty takes the point farthest from its own centre.
//
// The random numbers differ from NumPy's, so the centres found are not bit-identical to
// scikit-learn's; with NInit restarts both land on optima of the same quality, which is what
// the parity tests in parity tests (parity_test.go) check.
//
// Everything is deterministic by Seed: restart i draws from its own stream derived from
// (Seed, i), restarts run on Workers goroutines, and the winner is the lowest inertia with ties
// going to the lowest restart index, so the result does not depend on scheduling. The Lloyd
// assignment step skips distance computations with Hamerly's bounds, which gives exactly the
// labels plain Lloyd would give.
//
// The silhouette score is exact (O(n²)) up to SilhouetteExactMax points; above that it is
// computed on a seeded uniform sample of that many points, as scikit-learn's silhouette_score
// does with sample_size.
package kmeans
