package kerberos

import (
	"net/netip"
	"slices"
	"time"
)

// HostWindow is one host's features over one tumbling window: a training sample.
type HostWindow struct {
	Host     netip.Addr
	End      time.Time // exclusive end of the window
	Features Features
}

// WindowFeatures computes every host's features over consecutive tumbling windows of the given
// length (aligned to multiples of the window since the Unix epoch), one sample per host per
// window in which it made a request.
//
// The features come from the same State that scores live records, read at the last bucket of
// each window, so a training sample and a streaming score measure exactly the same things.
// Requests are processed in time order. A window the data covers only in part is dropped: the
// first one unless the earliest request falls in its first bucket, the last one unless the
// latest request falls in its last bucket. The caps are set so that no host or server is ever
// evicted (each shard may hold every address: capacity costs nothing until used).
func WindowFeatures(reqs []Request, window time.Duration) ([]HostWindow, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	hosts, servers := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	for i := range reqs {
		hosts[reqs[i].Source] = true
		servers[reqs[i].Dest] = true
	}
	s, err := NewState(StateConfig{Window: window, MaxHosts: 64 * len(hosts), MaxServers: 64 * len(servers)})
	if err != nil {
		return nil, err
	}
	order := timeOrder(reqs)
	if len(order) == 0 {
		return nil, nil
	}

	var out []HostWindow
	var active []netip.Addr // hosts seen in the current window, in first-seen order
	seen := map[netip.Addr]bool{}
	cur := int64(-1)
	firstBucket := s.bucket(reqs[order[0]].Time)
	lastBucket := s.bucket(reqs[order[len(order)-1]].Time)
	flush := func() {
		start, last := uint32(cur*NumBuckets), uint32((cur+1)*NumBuckets-1)
		if start >= firstBucket && last <= lastBucket {
			end := time.Unix((cur+1)*s.width*NumBuckets, 0).UTC()
			for _, a := range active {
				if f, ok := s.featuresAt(a, last); ok {
					out = append(out, HostWindow{Host: a, End: end, Features: f})
				}
			}
		}
		active = active[:0]
		clear(seen)
	}
	for _, i := range order {
		r := &reqs[i]
		w := int64(s.bucket(r.Time)) / NumBuckets
		if w != cur {
			if cur >= 0 {
				flush()
			}
			cur = w
		}
		if _, err := s.Observe(r); err != nil {
			return nil, err
		}
		if !seen[r.Source] {
			seen[r.Source] = true
			active = append(active, r.Source)
		}
	}
	if cur >= 0 {
		flush()
	}
	return out, nil
}

// timeOrder returns the indices of the requests that have a source, in time order (stable).
func timeOrder(reqs []Request) []int {
	order := make([]int, 0, len(reqs))
	for i := range reqs {
		if reqs[i].Source.IsValid() {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return reqs[a].Time.Compare(reqs[b].Time) })
	return order
}
