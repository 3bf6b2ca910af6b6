// Package bundletest is the old import path of internal/bundletest, kept while
// companion/acceptance (in progress) still imports it; new code imports internal/bundletest.
package bundletest

import "github.com/siemscore/siemscore/internal/bundletest"

var (
	Model           = bundletest.Model
	Version         = bundletest.Version
	T0              = bundletest.T0
	Bundle          = bundletest.Bundle
	Encode          = bundletest.Encode
	WithNaN         = bundletest.WithNaN
	WithBadChecksum = bundletest.WithBadChecksum
)
