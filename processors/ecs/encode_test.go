package ecs_test

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	goccy "github.com/goccy/go-json"

	"github.com/siemscore/siemscore/plugin/plugintest"
	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/realdatatest"
)

// documentNoMethods has Document's fields without its methods, so that the reflection
// encoders encode the struct by its tags instead of calling Document.MarshalJSON.
type documentNoMethods ecs.Document

// reference encodes d the way the plugin encoded documents before the hand-written encoder, with
// a reflection encoder over the struct tags (goccy/go-json, which the plugin used, or
// encoding/json), the passthrough members appended after the typed fields.
func reference(t *testing.T, marshal func(any) ([]byte, error), d *ecs.Document) []byte {
	t.Helper()
	out, err := marshal((*documentNoMethods)(d))
	if err != nil {
		t.Fatalf("reflection encoder: %v", err)
	}
	if p := string(d.Passthrough); len(p) > 2 {
		out = append(append(out[:len(out)-1], ','), p[1:]...)
	}
	return out
}

// checkSame fails unless the hand-written encoder writes d as both reflection encoders do.
func checkSame(t *testing.T, what string, d *ecs.Document) bool {
	t.Helper()
	got := ecs.AppendDocument(nil, d)
	for name, marshal := range map[string]func(any) ([]byte, error){"goccy/go-json": goccy.Marshal, "encoding/json": stdjson.Marshal} {
		if want := reference(t, marshal, d); !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: differs from %s at byte %d:\n got  %s\n want %s", what, name, i, got, want)
			return false
		}
	}
	return true
}

// TestEncoderMatchesReflection holds AppendDocument to the reflection encoders over the
// documents the processors make from the real records in ../shared/data (skipped when absent)
// and from generated records, with and without event.original.
func TestEncoderMatchesReflection(t *testing.T) {
	var bodies []map[string]any
	for _, b := range plugintest.Mixed(400) {
		bodies = append(bodies, b.Map)
	}
	real, err := plugintest.RealBodies()
	switch {
	case err == nil:
		for _, b := range real {
			bodies = append(bodies, b.Map)
		}
		t.Logf("%d generated and %d real records", len(bodies)-len(real), len(real))
	default:
		t.Logf("generated records only: %v", err)
	}
	for _, preserve := range []bool{false, true} {
		p, err := processors.New(processors.Options{PreserveOriginal: preserve})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, m := range bodies {
			for _, rec := range p.Append(nil, m, plugintest.Base) {
				n++
				if !checkSame(t, fmt.Sprintf("record %d (%v)", i, rec.Kind), rec.Doc) {
					return
				}
			}
		}
		t.Logf("preserve_original %v: %d documents identical", preserve, n)
	}
	if err != nil && realdatatest.Dir() == "" {
		t.Skip("the real records are absent; the generated ones passed")
	}
}

// TestEncoderMatchesReflectionRandom fills every field of Document, whatever the struct holds
// (the filler walks the type by reflection, so a field added later is covered without a change
// here), with random values chosen to reach every branch of the encoder: empty and set
// strings with characters that need escaping, unset and set optional values, nil, empty and
// full slices and pointers, floats in both of JSON's notations.
func TestEncoderMatchesReflectionRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		var d ecs.Document
		fill(r, reflect.ValueOf(&d).Elem(), 0)
		if !checkSame(t, fmt.Sprintf("random document %d", i), &d) {
			return
		}
	}
}

// TestEncoderModelRepeated: the siemscore.model object a bundle's records share is written
// from the last one's JSON (see appendModel); documents whose model repeats, alternates or
// differs in one field only, between documents of random content, must still be written as
// the reflection encoders write them.
func TestEncoderModelRepeated(t *testing.T) {
	trained := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	models := []ecs.ModelInfo{
		{Version: "20250601T000000Z.0000", Status: ecs.ModelScored, TrainedAt: ecs.Time(trained)},
		{Version: "20250601T000000Z.0000", Status: ecs.ModelScored, TrainedAt: ecs.Time(trained.Add(time.Nanosecond))},
		{Version: "20250601T000000Z.0001", Status: ecs.ModelScored, TrainedAt: ecs.Time(trained)},
		{Version: "20250601T000000Z.0000", Status: "other", TrainedAt: ecs.Time(trained)},
		{Version: "20250601T000000Z.0000", Status: ecs.ModelScored},
		{Version: "20250601T000000Z.0000", Status: ecs.ModelScored, TrainedAt: ecs.Time(trained.In(time.FixedZone("x", 3600)))},
		{Status: ecs.ModelNoModel},
		{Status: ecs.ModelUntrained},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		var d ecs.Document
		fill(r, reflect.ValueOf(&d).Elem(), 0)
		d.SiemScore.Model = models[r.IntN(len(models))]
		if r.IntN(2) == 0 {
			d.SiemScore.Model = models[0] // long runs of one bundle's records
		}
		if !checkSame(t, fmt.Sprintf("document %d, model %+v", i, d.SiemScore.Model), &d) {
			return
		}
	}
}

var palette = []string{"", "", "a", "GetUser", "user/CORP.EXAMPLE", `quote " and \ backslash`, "<b>&amp;</b>",
	"line\nbreak\ttab\r", "\x00\x01\x1f\x7f", "\b\f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff\xfe utf-8 \xc3", "Z"}

var floats = []float64{0, 1, -1, 0.5, 100, 1e20, 1e21, 1e-6, 1e-7, 123456789012, 5.202623650431633, math.Copysign(0, -1), 1.5e300, -2.5e-300}

// fill sets v (and everything under it) to random values.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Interface().(type) {
	case time.Time:
		t := time.Date(1970+r.IntN(200), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e9)*r.IntN(2), time.UTC)
		if r.IntN(4) == 0 {
			t = t.In(time.FixedZone("x", 3600*(r.IntN(25)-12)))
		}
		v.Set(reflect.ValueOf(t))
		return
	case netip.Addr:
		addrs := []netip.Addr{{}, netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("::ffff:10.0.0.1")}
		v.Set(reflect.ValueOf(addrs[r.IntN(len(addrs))]))
		return
	case ecs.OptFloat:
		if r.IntN(3) > 0 {
			f := floats[r.IntN(len(floats))]
			if r.IntN(20) == 0 {
				f = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)]
			}
			v.Set(reflect.ValueOf(ecs.Float(f)))
		}
		return
	case ecs.OptInt:
		if r.IntN(3) > 0 {
			v.Set(reflect.ValueOf(ecs.Int([]int64{0, 1, -7, math.MaxInt64, math.MinInt64}[r.IntN(5)])))
		}
		return
	case ecs.OptBool:
		if r.IntN(3) > 0 {
			v.Set(reflect.ValueOf(ecs.Bool(r.IntN(2) == 0)))
		}
		return
	case ecs.OptTime:
		if r.IntN(3) > 0 {
			var t time.Time
			fill(r, reflect.ValueOf(&t).Elem(), depth)
			v.Set(reflect.ValueOf(ecs.Time(t)))
		}
		return
	case ecs.RawJSON:
		if r.IntN(3) > 0 {
			v.Set(reflect.ValueOf(randomObject(r)))
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(palette[r.IntN(len(palette))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt([]int64{0, 0, 1, 88, -5, 65535}[r.IntN(6)])
	case reflect.Uint8:
		v.SetUint(uint64(r.IntN(256)))
	case reflect.Float64:
		v.SetFloat(floats[r.IntN(len(floats))])
	case reflect.Slice:
		switch r.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+r.IntN(3), 3)
			for i := range s.Len() {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Pointer:
		if depth < 8 && r.IntN(4) > 0 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Struct:
		// Some structs stay zero, so that `omitzero` meets zero structs as often as set ones,
		// and some get one field only, so that it must notice every field.
		switch r.IntN(6) {
		case 0:
			return
		case 1:
			if i := r.IntN(v.NumField()); v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	default:
		panic(fmt.Sprintf("fill: no random values for %s; teach fill this type", v.Type()))
	}
}

// randomObject renders a random body object as the processors render one.
func randomObject(r *rand.Rand) ecs.RawJSON {
	m := map[string]any{}
	for range 1 + r.IntN(4) {
		var v any
		switch r.IntN(6) {
		case 0:
			v = palette[r.IntN(len(palette))]
		case 1:
			v = floats[r.IntN(len(floats))]
		case 2:
			v = int64(r.IntN(1000))
		case 3:
			v = []any{true, nil, "x<y"}
		case 4:
			v = map[string]any{"nested": palette[r.IntN(len(palette))]}
		default:
			v = []byte("bin")
		}
		m[palette[r.IntN(len(palette))]+fmt.Sprint(r.IntN(3))] = v
	}
	var tree body.Tree
	return ecs.RawJSON(tree.Text(tree.AppendAny(m).AppendJSON))
}

func TestMarshalJSONIsAppendDocument(t *testing.T) {
	d := &ecs.Document{ECS: ecs.ECSInfo{Version: ecs.Version}, Message: "m", Passthrough: `{"kubernetes":{"pod":"a"}}`}
	b, err := d.MarshalJSON()
	if err != nil || !bytes.Equal(b, ecs.AppendDocument(nil, d)) {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	if !strings.HasSuffix(string(b), `,"kubernetes":{"pod":"a"}}`) {
		t.Errorf("passthrough members must follow the typed fields: %s", b)
	}
	var back map[string]any
	if err := stdjson.Unmarshal(b, &back); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if _, hasEvent := back["event"]; hasEvent {
		t.Errorf("an empty event must be left out: %s", b)
	}
}

func TestOptValues(t *testing.T) {
	d := &ecs.Document{SiemScore: ecs.SiemScore{IP: ecs.IPScore{Score: ecs.Float(math.NaN()), ScoreNorm: ecs.Float(12.5)}}}
	b := ecs.AppendDocument(nil, d)
	var got map[string]any
	if err := stdjson.Unmarshal(b, &got); err != nil {
		t.Fatalf("NaN must not break JSON: %s: %v", b, err)
	}
	ip := got["siemscore"].(map[string]any)["ip"].(map[string]any)
	if ip["score"] != nil || ip["score_norm"] != 12.5 {
		t.Errorf("ip = %v", ip)
	}
	for _, tc := range []struct {
		in   ecs.OptBool
		want string
	}{{ecs.Bool(false), "false"}, {ecs.Bool(true), "true"}} {
		b, _ := tc.in.MarshalJSON()
		if string(b) != tc.want {
			t.Errorf("%v -> %s", tc.in, b)
		}
	}
	if ecs.SeverityBand(75) != ecs.SeverityCritical || ecs.SeverityBand(2.99) != ecs.SeverityLow || ecs.SeverityBand(3) != ecs.SeverityWarning {
		t.Error("severity bands off")
	}
}

// BenchmarkAppendDocument encodes the documents of generated records (CloudTrail, GuardDuty,
// Kerberos, generic) with the hand-written encoder and with the reflection encoder it
// replaced.
func BenchmarkAppendDocument(b *testing.B) {
	p, err := processors.New(processors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var recs []ecs.Record
	for _, m := range plugintest.Mixed(400) {
		recs = p.Append(recs, m.Map, plugintest.Base)
	}
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			for i := range recs {
				buf = ecs.AppendDocument(buf[:0], recs[i].Doc)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/doc")
	})
	b.Run("goccy-reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range recs {
				if _, err := goccy.Marshal((*documentNoMethods)(recs[i].Doc)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/doc")
	})
}
