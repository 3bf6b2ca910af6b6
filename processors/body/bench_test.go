package body_test

import (
	"testing"

	"github.com/siemscore/siemscore/plugin/decode/decodetest"
	"github.com/siemscore/siemscore/processors/body"
)

// BenchmarkDecodeZeekRows decodes 2000 kerberos.log rows with their keys in the order Zeek's
// JSON writer gives them (not sorted), as Fluent Bit's json parser hands them over.
func BenchmarkDecodeZeekRows(b *testing.B) {
	row := decodetest.Map{{Key: "ts", Value: 1709632803.452327}, {Key: "uid", Value: "CtwEYd9UWeMlyGWO2d"},
		{Key: "id.orig_h", Value: "10.1.0.9"}, {Key: "id.orig_p", Value: 57344}, {Key: "id.resp_h", Value: "10.0.0.11"},
		{Key: "id.resp_p", Value: 88}, {Key: "request_type", Value: "TGS"}, {Key: "client", Value: "user0009/CORP.EXAMPLE"},
		{Key: "service", Value: "cifs/fs03.corp.example"}, {Key: "success", Value: true}, {Key: "till", Value: 1709668803.452327},
		{Key: "cipher", Value: "aes256-cts-hmac-sha1-96"}, {Key: "forwardable", Value: true}, {Key: "renewable", Value: true}}
	var e decodetest.Encoder
	var ends []int
	for range 2000 {
		e.Value(row)
		ends = append(ends, e.Len())
	}
	chunk, err := e.Chunk()
	if err != nil {
		b.Fatal(err)
	}
	var tree body.Tree
	b.ReportAllocs()
	for b.Loop() {
		tree.Reset(chunk)
		off := 0
		for _, end := range ends {
			if _, err := tree.Decode(off, end); err != nil {
				b.Fatal(err)
			}
			off = end
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ends)), "ns/row")
}
