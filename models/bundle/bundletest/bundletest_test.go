package bundletest_test

import (
	"strings"
	"testing"

	"github.com/siemscore/siemscore/models/bundle"
	"github.com/siemscore/siemscore/models/bundle/bundletest"
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

func TestFullHasEverySection(t *testing.T) {
	b := bundletest.Full(t)
	if b.IP() == nil || b.Kerberos() == nil || b.Periodicity() == nil {
		t.Fatalf("sections %v, want IP, Kerberos and periodicity", b.Tags())
	}
	if bundletest.Model(t) != b.IP() {
		t.Error("Model is not Full's IP model")
	}
}
