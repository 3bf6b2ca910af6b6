// Package companion holds the companion trainer's end-to-end tests: the real plugin
// (out_siemscore.so) inside plugin/flbtest, the real `siemscore trainer` it launches through
// go-plugin, and the real Elasticsearch of elastic/estest. It has no code of its own.
//
// The tests swap model versions while records flow and check every record in Elasticsearch, kill
// the companion with SIGKILL mid-stream, plant corrupt bundles in the models index, and retrain
// from the index through `siemscore train --from-es`. The benchmarks measure flush latency with
// and without swaps and a retraining from one million CloudTrail documents (see README.md in
// ../ for the numbers).
package companion
