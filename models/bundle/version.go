package bundle

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Version identifies a published bundle. Versions are totally ordered (by Time, then Seq) and
// their strings sort the same way, so Kibana can sort siemscore.model.version as a keyword.
//
// Publishing never goes backwards: a publisher takes NextVersion of the version currently
// published, which is strictly greater even if the clock stepped back or two bundles were
// trained in the same second; Publish and the scorer both refuse a bundle that is not newer
// than the one they have. Rolling back means re-publishing the old model under a new version.
type Version struct {
	// Time is the publication time, UTC, whole seconds, years 1970–9999.
	Time time.Time
	// Seq orders bundles published within the same second (0–9999).
	Seq uint16
}

const (
	versionLayout = "20060102T150405Z"
	maxSeq        = 9999
)

// String renders the version as 20250601T143000Z.0001.
func (v Version) String() string {
	return fmt.Sprintf("%s.%04d", v.Time.UTC().Format(versionLayout), v.Seq)
}

// ParseVersion parses what String produced.
func ParseVersion(s string) (Version, error) {
	if len(s) != len(versionLayout)+5 || s[len(versionLayout)] != '.' {
		return Version{}, fmt.Errorf("bundle: version %q: want YYYYMMDDThhmmssZ.NNNN", s)
	}
	t, err := time.Parse(versionLayout, s[:len(versionLayout)])
	if err != nil {
		return Version{}, fmt.Errorf("bundle: version %q: %w", s, err)
	}
	seq, err := strconv.ParseUint(s[len(versionLayout)+1:], 10, 16)
	if err != nil {
		return Version{}, fmt.Errorf("bundle: version %q: sequence: %w", s, err)
	}
	v := Version{Time: t, Seq: uint16(seq)}
	return v, v.validate()
}

func (v Version) validate() error {
	switch {
	case v.Time.Year() < 1970 || v.Time.Year() > 9999:
		return fmt.Errorf("bundle: version time %v outside 1970–9999", v.Time)
	case v.Time.Nanosecond() != 0:
		return errors.New("bundle: version time must be whole seconds")
	case v.Seq > maxSeq:
		return fmt.Errorf("bundle: version sequence %d > %d", v.Seq, maxSeq)
	}
	return nil
}

// Compare returns −1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	if c := v.Time.Compare(w.Time); c != 0 {
		return c
	}
	switch {
	case v.Seq < w.Seq:
		return -1
	case v.Seq > w.Seq:
		return 1
	}
	return 0
}

// IsZero reports whether v is the zero Version (nothing published yet).
func (v Version) IsZero() bool { return v.Time.IsZero() && v.Seq == 0 }

// NextVersion returns the version to publish after prev (the zero Version if nothing was
// published) at time now: now truncated to the second when that is later than prev, else
// prev's time with the next sequence number.
func NextVersion(prev Version, now time.Time) (Version, error) {
	t := now.UTC().Truncate(time.Second)
	if prev.IsZero() || t.After(prev.Time) {
		v := Version{Time: t}
		return v, v.validate()
	}
	if prev.Seq >= maxSeq {
		return Version{}, fmt.Errorf("bundle: %d versions already published at %v", maxSeq+1, prev.Time)
	}
	return Version{Time: prev.Time, Seq: prev.Seq + 1}, nil
}
