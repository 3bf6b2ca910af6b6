package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseBool reads a boolean the way Fluent Bit's flb_utils_bool does, so a value that works for a
// core property works here too.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, errors.New("accepted: on, off, true, false, yes, no")
}

// parseDuration accepts a Go duration ("30s", "1m30s", "500ms") or, as Fluent Bit's own time
// properties do, a bare number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > math.MaxInt64/float64(time.Second) || math.IsNaN(n) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("accepted: a number of seconds or a duration such as 500ms, 30s, 2m")
	}
	return d, nil
}

// sizeUnits follow Fluent Bit's flb_utils_size_to_bytes: K, M and G are decimal (1K = 1000);
// the binary KiB, MiB and GiB are accepted as well.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9},
}

func parseSize(s string) (int64, error) {
	const accepted = "accepted: a number of bytes with an optional unit K, M, G (1000-based) or KiB, MiB, GiB"
	num, mult := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New(accepted)
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("out of range")
	}
	return n * mult, nil
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("accepted: a whole number")
	}
	return n, nil
}

// splitList splits a comma-separated value, trimming blanks around each item and rejecting
// empty items (a doubled or trailing comma is a typo, not an intent).
func splitList(s string) ([]string, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, fmt.Errorf("item %d of the comma-separated list is empty", i+1)
		}
	}
	return parts, nil
}
