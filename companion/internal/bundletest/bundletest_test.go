package bundletest_test

import (
	"strings"
	"testing"

	"github.com/siemscore/siemscore/companion/internal/bundletest"
	"github.com/siemscore/siemscore/models/bundle"
)

func TestBrokenBundlesAreRejectedForTheRightReason(t *testing.T) {
	good := bundletest.Encode(t, bundletest.Bundle(t, bundletest.Version(0, 0)))
	if _, err := bundle.Decode(good, bundle.DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Decode(bundletest.WithNaN(t, good), bundle.DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN bias: %v", err)
	}
	if _, err := bundle.Decode(bundletest.WithBadChecksum(good), bundle.DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("bad checksum: %v", err)
	}
}
