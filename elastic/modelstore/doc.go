// Package modelstore keeps published model bundles where every plugin and trainer can find them:
// in an Elasticsearch models index (Index), versioned, split into checksummed parts, and in a
// local cache directory (Cache). Finder picks the newest valid bundle from both.
//
// # Index layout
//
// One document per version, the manifest, with _id = the version string
// (YYYYMMDDThhmmssZ.NNNN, which sorts like the version), and the bundle's bytes in parts of at
// most 8 MiB, each a document "<version>-<upload>-p<n>" with its own SHA-256:
//
//	{"kind":"manifest","version":"20261123T104500Z.0000","trained_at":…,"window_start":…,
//	 "window_end":…,"published":…,"publisher":"host","size":N,"sha256":"…","parts":P,
//	 "part_size":8388608,"upload":"9f2c01ab"}
//	{"kind":"part","version":"20261123T104500Z.0000","part":0,"sha256":"…","data":"<base64>"}
//
// Parts go in first, the manifest last, all with op_type create; a reader lists manifests sorted
// by version and trusts nothing it has not checked: each part's checksum, the whole bundle's
// checksum, then the bundle's own validation (the caller's Accept).
//
// # Cache layout
//
// <dir>/<version>.bundle, written atomically; the newest version is the last name.
package modelstore
