package bundle

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/siemscore/siemscore/models/kerberos"
)

// smallKerberos trains a Kerberos host model on a few hundred hand-made host windows: quiet
// workstations and busy servers.
var smallKerberos = sync.OnceValues(func() (*kerberos.Model, error) {
	r := rand.New(rand.NewPCG(2, 2))
	var samples []kerberos.Features
	for i := range 300 {
		var f kerberos.Features
		f[kerberos.Requests] = float64(1 + r.IntN(8))
		if i%5 == 0 {
			f[kerberos.Requests] = float64(30 + r.IntN(40))
		}
		f[kerberos.DistinctServers] = float64(1 + r.IntN(2))
		f[kerberos.TopServerShare] = 1 / f[kerberos.DistinctServers]
		f[kerberos.TopServerLoad] = float64(800 + r.IntN(800))
		f[kerberos.DistinctClients] = 1
		f[kerberos.DistinctServices] = float64(1 + r.IntN(4))
		f[kerberos.TGSShare] = r.Float64()
		samples = append(samples, f)
	}
	return kerberos.TrainFeatures(samples, kerberos.TrainConfig{K: 3, Seed: 1})
})

func kerberosBundle(t *testing.T) (*Bundle, *kerberos.Model) {
	t.Helper()
	km, err := smallKerberos()
	if err != nil {
		t.Fatal(err)
	}
	ip, err := smallModel()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(testHeader(), IPPart(ip), KerberosPart(km))
	if err != nil {
		t.Fatal(err)
	}
	return b, km
}

func TestKerberosSectionRoundTrip(t *testing.T) {
	b, km := kerberosBundle(t)
	for _, key := range [][]byte{nil, []byte("secret")} {
		data := encode(t, b, key)
		d, err := Decode(data, DecodeOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if again := encode(t, d, key); !bytes.Equal(again, data) {
			t.Fatalf("key %q: Encode(Decode(b)) differs from b", key)
		}
		if got := d.Tags(); len(got) != 2 || got[0] != TagIP || got[1] != TagKerberos {
			t.Errorf("tags %v", got)
		}
		dk := d.Kerberos()
		if dk == nil || d.IP() == nil {
			t.Fatal("decoded bundle lost a section")
		}
		spray := kerberos.Features{kerberos.Requests: 90, kerberos.Failures: 85, kerberos.FailureRatio: 85.0 / 91,
			kerberos.DistinctClients: 80, kerberos.PreauthFailures: 65, kerberos.DistinctServers: 1, kerberos.TopServerShare: 1}
		want, _ := km.Score(&spray)
		got, err := dk.Score(&spray)
		if err != nil || got != want {
			t.Errorf("decoded model scores %+v (%v), trained %+v", got, err, want)
		}
	}
	ipOnly, err := New(testHeader(), IPPart(b.IP()), KerberosPart(nil))
	if err != nil {
		t.Fatal(err)
	}
	if ipOnly.Kerberos() != nil {
		t.Error("bundle without a Kerberos section returned a model")
	}
}

func TestKerberosSectionCorruption(t *testing.T) {
	b, _ := kerberosBundle(t)
	data := encode(t, b, nil)
	// The Kerberos section follows the IP section; its payload starts with the model's format.
	at := bytes.Index(data, []byte(TagKerberos))
	if at < 0 {
		t.Fatal("no Kerberos section in the encoding")
	}
	payload := at + 4 + 8
	for name, bad := range map[string][]byte{
		"format":        resum(patch(data, payload, 7)),
		"feature count": resum(patch(data, payload+2, 99)),
		"feature name":  resum(patch(data, payload+4, 'X')),
	} {
		_, err := Decode(bad, DecodeOptions{})
		if err == nil || !errors.Is(err, kerberos.ErrModel) || !strings.Contains(err.Error(), `section "KRBH"`) {
			t.Errorf("%s: err = %v, want a Kerberos model error naming the section", name, err)
		}
	}
	if _, err := Decode(patch(data, payload+40, data[payload+40]^0xff), DecodeOptions{}); err == nil {
		t.Error("flipped byte in the Kerberos section accepted")
	}
}
