package bundle

import "github.com/siemscore/siemscore/models/ipinsights"

// TagIP is the section tag of the IP-anomaly model.
const TagIP = "IPIN"

func init() {
	register(codec{tag: TagIP, decode: func(p []byte) (encoder, error) { return ipinsights.Decode(p) }})
}

// IPPart puts the IP-anomaly model in a bundle (nil: no IP section).
func IPPart(m *ipinsights.Model) Part {
	if m == nil {
		return Part{}
	}
	return Part{tag: TagIP, value: m}
}

// IP returns the bundle's IP-anomaly model, or nil when it has none.
func (b *Bundle) IP() *ipinsights.Model {
	m, _ := b.value(TagIP).(*ipinsights.Model)
	return m
}
