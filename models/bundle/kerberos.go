package bundle

import "github.com/siemscore/siemscore/models/kerberos"

// TagKerberos is the section tag of the Kerberos host-clustering model.
const TagKerberos = "KRBH"

func init() {
	register(codec{tag: TagKerberos, decode: func(p []byte) (encoder, error) { return kerberos.Decode(p) }})
}

// KerberosPart puts the Kerberos host model in a bundle (nil: no Kerberos section).
func KerberosPart(m *kerberos.Model) Part {
	if m == nil {
		return Part{}
	}
	return Part{tag: TagKerberos, value: m}
}

// Kerberos returns the bundle's Kerberos host model, or nil when it has none.
func (b *Bundle) Kerberos() *kerberos.Model {
	m, _ := b.value(TagKerberos).(*kerberos.Model)
	return m
}
