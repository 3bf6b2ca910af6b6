package bundle

import "github.com/siemscore/siemscore/models/ipanomaly"

// TagIP is the section tag of the IP-anomaly model.
const TagIP = "IPIN"

func init() {
	register(codec{tag: TagIP, decode: func(p []byte) (encoder, error) { return ipanomaly.Decode(p) }})
}

// IPPart puts the IP-anomaly model in a bundle (nil: no IP section).
func IPPart(m *ipanomaly.Model) Part {
	if m == nil {
		return Part{}
	}
	return Part{tag: TagIP, value: m}
}

// IP returns the bundle's IP-anomaly model, or nil when it has none.
func (b *Bundle) IP() *ipanomaly.Model {
	m, _ := b.value(TagIP).(*ipanomaly.Model)
	return m
}
