package esclient

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with jitter: attempt n waits a random time in [d/2, d] where
// d = Min·2^(n-1) capped at Max. The jitter keeps the N Fluent Bit workers (and N shippers) that
// were turned away together from coming back together.
//
// It is a pure function of the attempt number rather than a stateful backoff object (such as
// cenkalti/backoff's) because the transport calls it from many concurrent requests at once.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// Validate checks that the backoff never waits zero and that Max is not below Min.
func (b Backoff) Validate() error {
	if b.Min <= 0 {
		return errors.New("Min must be positive (immediate retries are not allowed)")
	}
	if b.Max < b.Min {
		return errors.New("Max must not be below Min")
	}
	return nil
}

// Delay returns how long to wait before retry number attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Max
	if attempt < 1 {
		attempt = 1
	}
	// Doubling stops as soon as it reaches Max, so this cannot overflow.
	if c := b.Min; c > 0 {
		for i := 1; i < attempt && c < b.Max; i++ {
			c *= 2
		}
		d = min(c, b.Max)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
