package bundle

import "github.com/siemscore/siemscore/models/periodicity"

// TagPeriodicity is the section tag of the CloudTrail user+API periodicity and volume model.
const TagPeriodicity = "APIP"

func init() {
	register(codec{tag: TagPeriodicity, decode: func(p []byte) (encoder, error) { return periodicity.Decode(p) }})
}

// PeriodicityPart puts the periodicity model in a bundle (nil: no periodicity section).
func PeriodicityPart(m *periodicity.Model) Part {
	if m == nil {
		return Part{}
	}
	return Part{tag: TagPeriodicity, value: m}
}

// Periodicity returns the bundle's periodicity model, or nil when it has none.
func (b *Bundle) Periodicity() *periodicity.Model {
	m, _ := b.value(TagPeriodicity).(*periodicity.Model)
	return m
}
