package kerberos

import "math"

// exactDistinct is how many distinct values per host and dimension (servers, clients, services)
// are kept exactly; sketchSlots is the size of the linear-counting sketch a set switches to when
// more than exactDistinct values are live in one window.
//
// A workstation sees a handful of servers, one or two clients and a few services an hour, so
// nearly every host stays exact in 8 inline entries (64 bytes). The hosts that overflow — file
// servers, terminal servers, and the attackers this model exists for — get a 512-byte sketch
// whose estimate has a relative standard error of about 7% at 50 values and 8% at 200, and
// saturates at sketchSlots·ln(sketchSlots) ≈ 621: plenty to tell a spray of 100 accounts from a
// workstation's one.
const (
	exactDistinct = 8
	sketchSlots   = 128
)

// distinctSet counts the distinct values seen by one host in the sliding window. Exact entries
// and sketch slots carry the bucket in which they were last seen, so values age out of the count
// exactly as the window slides.
type distinctSet struct {
	n      uint8
	exact  [exactDistinct]stamp
	sketch *[sketchSlots]uint32 // last-seen bucket per slot; nil while the set is exact
}

type stamp struct {
	hash   uint32
	bucket uint32
}

// live reports whether bucket id lies in the window that ends with bucket now (an id after now
// wraps to a huge difference).
func live(id, now uint32) bool { return now-id < NumBuckets }

func (d *distinctSet) add(hash, bucket, latest uint32) {
	if d.sketch != nil {
		s := &d.sketch[hash%sketchSlots]
		*s = max(*s, bucket)
		return
	}
	for i := range d.n {
		if e := &d.exact[i]; e.hash == hash {
			e.bucket = max(e.bucket, bucket)
			return
		}
	}
	if d.n == exactDistinct {
		d.prune(latest)
	}
	if d.n < exactDistinct {
		d.exact[d.n] = stamp{hash: hash, bucket: bucket}
		d.n++
		return
	}
	d.sketch = new([sketchSlots]uint32)
	for _, e := range d.exact {
		s := &d.sketch[e.hash%sketchSlots]
		*s = max(*s, e.bucket)
	}
	s := &d.sketch[hash%sketchSlots]
	*s = max(*s, bucket)
	d.n = 0
}

// prune drops the exact entries that have left the window ending at latest.
func (d *distinctSet) prune(latest uint32) {
	kept := d.exact[:0]
	for _, e := range d.exact[:d.n] {
		if live(e.bucket, latest) {
			kept = append(kept, e)
		}
	}
	d.n = uint8(len(kept))
}

// count is the number of distinct values live in the window ending at bucket now: exact below
// the cap, the linear-counting estimate −m·ln(empty/m) above it.
func (d *distinctSet) count(now uint32) float64 {
	if d.sketch == nil {
		n := 0
		for _, e := range d.exact[:d.n] {
			if live(e.bucket, now) {
				n++
			}
		}
		return float64(n)
	}
	empty := 0
	for _, b := range d.sketch {
		if !live(b, now) {
			empty++
		}
	}
	if empty == 0 {
		return sketchSlots * math.Log(sketchSlots)
	}
	return -sketchSlots * math.Log(float64(empty)/sketchSlots)
}
