package train

import (
	"time"

	"github.com/siemscore/siemscore/models/ipanomaly"
	"github.com/siemscore/siemscore/models/kerberos"
	"github.com/siemscore/siemscore/models/periodicity"
)

// Data is what the models learn from, whichever source gathered it. A model whose part is
// empty is not trained.
type Data struct {
	IP *ipanomaly.Dataset
	// KerberosRequests are raw requests (from records): the model computes the host windows
	// and calibrates on the partial windows streaming sees. KerberosWindows are precomputed
	// host windows (from Elasticsearch aggregations), used when there are no requests.
	KerberosRequests []kerberos.Request
	KerberosWindows  []kerberos.Features
	API              *periodicity.Counts
	// APIWindow is the days the periodicity model learns from; see Config.APIWindow.
	APIWindow periodicity.Window
	// First and Last span the event times of the data; zero when the data has none (pairs
	// from a CSV file), and the bundle's window is then the training time.
	First, Last time.Time
	// KerberosSum and APISum fingerprint the Kerberos and API data as the source read them
	// (the IP dataset fingerprints itself); the bundle header's fingerprint combines them.
	KerberosSum, APISum [32]byte
}

func (d *Data) ipPairs() int {
	if d.IP == nil {
		return 0
	}
	return d.IP.Len()
}

func (d *Data) kerberosSize() int { return len(d.KerberosRequests) + len(d.KerberosWindows) }

func (d *Data) apiPairs() int {
	if d.API == nil {
		return 0
	}
	return d.API.Pairs()
}
