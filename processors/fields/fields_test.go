package fields

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/siemscore/siemscore/processors/body"
	"github.com/siemscore/siemscore/processors/ecs"
)

func TestObjGetSpellings(t *testing.T) {
	camel := O(val(map[string]any{"eventName": "A", "nullField": nil}))
	lower := O(val(map[string]any{"eventname": "B", "awsregion": "eu-west-1"}))
	pascal := O(val(map[string]any{"EventName": "C", "ConsoleLogin": "Success"}))
	// One real record mixes spellings: eventType next to eventcategory.
	mixed := O(val(map[string]any{"eventType": "AwsApiCall", "eventcategory": "Management"}))

	for _, tc := range []struct {
		name string
		o    *Obj
		key  string
		want any
		ok   bool
	}{
		{"exact", &camel, "eventName", "A", true},
		{"null is absent", &camel, "nullField", nil, false},
		{"missing", &camel, "eventSource", nil, false},
		{"lowercase fallback", &lower, "eventName", "B", true},
		{"lowercase fallback 2", &lower, "awsRegion", "eu-west-1", true},
		{"other spelling when keys start with capitals", &pascal, "eventName", "C", true},
		{"capitals exact", &pascal, "ConsoleLogin", "Success", true},
		{"capitals missing", &pascal, "errorCode", nil, false},
		{"mixed exact", &mixed, "eventType", "AwsApiCall", true},
		{"mixed lowercase", &mixed, "eventCategory", "Management", true},
	} {
		v, ok := tc.o.Get(tc.key)
		if got := v.Any(); ok != tc.ok || got != tc.want {
			t.Errorf("%s: Get(%q) = %v, %v; want %v, %v", tc.name, tc.key, got, ok, tc.want, tc.ok)
		}
	}
	var empty Obj
	if _, ok := empty.Get("x"); ok {
		t.Error("an empty Obj has no keys")
	}
	nested := O(val(map[string]any{"userIdentity": map[string]any{"userName": "bob"}, "list": []any{1.0}, "str": "x"}))
	ui := nested.Obj("userIdentity")
	if ui.Str("userName") != "bob" {
		t.Error("nested object not read")
	}
	notObj := nested.Obj("str")
	if notObj.Len() != 0 || nested.Slice("list").Len() != 1 || nested.Slice("str").Exists() {
		t.Error("Obj/Slice of the wrong type must be empty")
	}
}

// val adds x to a tree of its own.
func val(x any) body.Value {
	var t body.Tree
	return t.AppendAny(x)
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
		ok   bool
	}{
		{"x", "x", true},
		{[]byte("bin"), "bin", true},
		{123456789012.0, "123456789012", true}, // an account ID decoded from JSON
		{int64(-5), "-5", true},
		{uint64(math.MaxUint64), "18446744073709551615", true},
		{1.5, "1.5", true},
		{true, "true", true},
		{math.NaN(), "", false},
		{map[string]any{}, "", false},
		{[]any{"a"}, "", false},
		{nil, "", false},
	} {
		got, ok := String(val(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("String(%#v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIntFloatBool(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{int64(88), 88, true},
		{88.0, 88, true},
		{88.5, 0, false},
		{"56880", 56880, true},
		{" 56880 ", 56880, true},
		{"88.0", 88, true},
		{[]byte("12"), 12, true},
		{uint64(math.MaxUint64), 0, false},
		{1e300, 0, false},
		{math.Inf(1), 0, false},
		{"port", 0, false},
		{true, 0, false},
	} {
		got, ok := Int(val(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Int(%#v) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   any
		want float64
		ok   bool
	}{
		{5.3, 5.3, true},
		{int64(5), 5, true},
		{"5.3", 5.3, true},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{math.NaN(), 0, false},
		{float32(2.5), 2.5, true},
		{nil, 0, false},
	} {
		got, ok := Float(val(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Float(%#v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in      any
		want    bool
		ok      bool
		comment string
	}{
		{true, true, true, "bool"},
		{"T", true, true, "Zeek"},
		{"F", false, true, "Zeek"},
		{"true", true, true, "text"},
		{"FALSE", false, true, "text"},
		{" True ", true, true, "padded"},
		{"1", true, true, "digit"},
		{int64(0), false, true, "msgpack int"},
		{1.0, true, true, "JSON number"},
		{2.0, false, false, "not a truth value"},
		{"yes", false, false, "not accepted"},
		{"", false, false, "empty"},
	} {
		got, ok := Bool(val(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Bool(%#v) (%s) = %v, %v; want %v, %v", tc.in, tc.comment, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		in   any
		want time.Time
		st   TimeStatus
	}{
		{"2019-01-01T00:00:00Z", utc(2019, 1, 1, 0, 0, 0, 0), TimeOK},
		{"2024-05-06T07:08:09.123456789Z", utc(2024, 5, 6, 7, 8, 9, 123456789), TimeOK},
		{"2024-05-06T09:08:09+02:00", utc(2024, 5, 6, 7, 8, 9, 0), TimeOK},
		{"2025-02-25 20:40:06.721", utc(2025, 2, 25, 20, 40, 6, 721000000), TimeOK}, // Panther GuardDuty
		{"2022-11-21 18:06:52", utc(2022, 11, 21, 18, 6, 52, 0), TimeOK},
		{"2025-01-21 17:49:47.000000000", utc(2025, 1, 21, 17, 49, 47, 0), TimeOK},
		{"2021-01-24T04:55:45", utc(2021, 1, 24, 4, 55, 45, 0), TimeOK},
		{"2021-01-24 04:55:45Z", utc(2021, 1, 24, 4, 55, 45, 0), TimeOK},
		{1588205199.832602, utc(2020, 4, 30, 0, 6, 39, 832602000), TimeOK}, // Zeek ts
		{"1588205199.832602", utc(2020, 4, 30, 0, 6, 39, 832602000), TimeOK},
		{int64(1588205199), utc(2020, 4, 30, 0, 6, 39, 0), TimeOK},
		{0.0, utc(1970, 1, 1, 0, 0, 0, 0), TimeOK}, // a Zeek till of 0
		{time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("x", 3600)), utc(2024, 1, 1, 0, 0, 0, 0), TimeOK},
		{nil, time.Time{}, TimeMissing},
		{"", time.Time{}, TimeMissing},
		{"  ", time.Time{}, TimeMissing},
		{"redacted", time.Time{}, TimeInvalid},
		{"...", time.Time{}, TimeInvalid},
		{"XXXXXXXXXX.XXXXXX", time.Time{}, TimeInvalid}, // Zeek test baselines
		{"0001-01-01T00:00:00Z", time.Time{}, TimeInvalid},
		{"9999-12-31T23:59:59Z", time.Time{}, TimeInvalid},
		{"2024-02-30T00:00:00Z", time.Time{}, TimeInvalid},
		{1588205199832.0, time.Time{}, TimeInvalid}, // milliseconds
		{int64(math.MaxInt64), time.Time{}, TimeInvalid},
		{-1.0, time.Time{}, TimeInvalid},
		{math.NaN(), time.Time{}, TimeInvalid},
		{math.Inf(1), time.Time{}, TimeInvalid},
		{"1588205199.8326021234", time.Time{}, TimeInvalid},
		{"15882.05199.8", time.Time{}, TimeInvalid},
		{true, time.Time{}, TimeInvalid},
		{map[string]any{}, time.Time{}, TimeInvalid},
	} {
		got, st := Time(val(tc.in))
		if st != tc.st || !got.Equal(tc.want) {
			t.Errorf("Time(%#v) = %v, %d; want %v, %d", tc.in, got, st, tc.want, tc.st)
			continue
		}
		if st == TimeOK {
			if got.Location() != time.UTC {
				t.Errorf("Time(%#v) is not UTC", tc.in)
			}
			if _, err := got.MarshalJSON(); err != nil {
				t.Errorf("Time(%#v) does not encode: %v", tc.in, err)
			}
		}
	}
}

func TestEventTime(t *testing.T) {
	fb := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if got, issue := EventTime(val("2019-01-01T00:00:00Z"), fb); issue != "" || got.Year() != 2019 {
		t.Errorf("valid time: %v %q", got, issue)
	}
	if got, issue := EventTime(val(nil), fb); issue != ecs.IssueTimestampMissing || !got.Equal(fb) {
		t.Errorf("missing time: %v %q", got, issue)
	}
	if got, issue := EventTime(val("redacted"), fb); issue != ecs.IssueTimestampInvalid || !got.Equal(fb) {
		t.Errorf("invalid time: %v %q", got, issue)
	}
	absurd := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, _ := EventTime(body.Value{}, absurd); got.Year() > 9999 {
		t.Errorf("an unencodable fallback must be replaced, got %v", got)
	}
}

func TestIP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		st   IPStatus
	}{
		{"203.0.113.50", "203.0.113.50", IPOK},
		{" 10.0.0.1 ", "10.0.0.1", IPOK},
		{"2001:db8::1", "2001:db8::1", IPOK},
		{"fe80::1%eth0", "fe80::1", IPOK},
		{"::ffff:192.0.2.1", "192.0.2.1", IPOK},
		{"AWS Internal", "", IPNotIP},
		{"cloudformation.amazonaws.com", "", IPNotIP},
		{"redacted", "", IPNotIP},
		{"<Attacker source IP>", "", IPNotIP},
		{"host:8080", "", IPNotIP},
		{"", "", IPNotIP},
		{"255.18.064.253", "", IPInvalid},
		{"010.1.2.3", "", IPInvalid},
		{"1.2.3", "", IPInvalid},
		{"256.1.1.1", "", IPInvalid},
		{"1.2.3.4:80", "", IPInvalid},
		{"2001:db8::zz", "", IPNotIP},
		{"2001:db8:::1", "", IPInvalid},
		{"fe80::1%", "", IPInvalid},
	} {
		got, st := IP(tc.in)
		if st != tc.st || (tc.want != "" && got != netip.MustParseAddr(tc.want)) || (tc.want == "" && got.IsValid()) {
			t.Errorf("IP(%q) = %v, %d; want %q, %d", tc.in, got, st, tc.want, tc.st)
		}
	}
}

// TestIPCache feeds one cache a stream that repeats, alternates and changes addresses (valid,
// invalid, not IPs, too long to keep), from a buffer the caller overwrites between calls as a
// reused chunk is, and wants every answer to be the uncached IP's.
func TestIPCache(t *testing.T) {
	long := "2001:db8:1234:5678:9abc:def0:1234:5678%interface-name-long"
	stream := []string{"10.0.0.11", "10.0.0.11", "10.1.0.9", "10.0.0.11", "10.1.0.90", "10.1.0.9",
		"2001:db8::1", "2001:db8::1", long, "2001:db8::1", long, "AWS Internal", "AWS Internal",
		"010.1.2.3", "10.1.2.3", "", "10.1.2.3", "", " 10.1.2.3 ", "10.1.2.3"}
	var c IPCache
	buf := make([]byte, 0, 64)
	for i, s := range stream {
		buf = append(buf[:0], s...)
		text := unsafe.String(unsafe.SliceData(buf), len(buf))
		got, st := c.IP(text)
		want, wantSt := IP(s)
		if got != want || st != wantSt {
			t.Fatalf("call %d: cache.IP(%q) = %v, %d; IP gives %v, %d", i, s, got, st, want, wantSt)
		}
		for j := range buf {
			buf[j] = 'x' // the record's memory is reused
		}
	}
}

func TestAppendUniqueAndAddIssue(t *testing.T) {
	l := AppendUnique(AppendUnique(AppendUnique([]string(nil), "a"), ""), "a")
	if !reflect.DeepEqual(l, []string{"a"}) {
		t.Errorf("AppendUnique = %v", l)
	}
	var d ecs.Document
	AddIssue(&d, "x")
	AddIssue(&d, "")
	AddIssue(&d, "x")
	if !reflect.DeepEqual(d.SiemScore.Issues, []string{"x"}) {
		t.Errorf("issues = %v", d.SiemScore.Issues)
	}
}

func TestOptGetters(t *testing.T) {
	o := O(val(map[string]any{"t": "2024-01-01T00:00:00Z", "bad": "never", "b": "T"}))
	if v := o.OptTime("t"); !v.Set || v.V.Year() != 2024 {
		t.Errorf("OptTime = %+v", v)
	}
	if o.OptTime("bad").Set || o.OptTime("none").Set {
		t.Error("an invalid or missing time must be unset")
	}
	if v := o.OptBool("b"); !v.Set || !v.V {
		t.Errorf("OptBool = %+v", v)
	}
	if o.OptBool("t").Set {
		t.Error("a non-boolean must be unset")
	}
}

// appendDecimal must write exactly what strconv does: the string is part of Zeek records' _id.
func TestAppendDecimalIsStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-7, 5e-324, 1 << 33, 1<<33 - 1e-6, 1<<33 + 0.5, 1e21, 1709632803.452327,
		1709632803.4523, 1709632803.1, 0.000001, 0.0000015, 8589934591.999999, math.MaxFloat64, math.SmallestNonzeroFloat64}
	for range 300000 {
		sec := float64(rng.Int64N(2_000_000_000))
		cases = append(cases,
			sec+float64(rng.Int64N(1_000_000))/1e6, // Zeek's microseconds
			sec+float64(rng.Int64N(1000))/1e3,
			rng.Float64()*(1<<34),
			rng.Float64(),
			math.Float64frombits(rng.Uint64()),
			-rng.Float64()*1e10)
	}
	for _, x := range cases {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		want := strconv.AppendFloat(nil, x, 'f', -1, 64)
		if got := appendDecimal(nil, x); !bytes.Equal(got, want) {
			t.Fatalf("%v (%#x): got %s, want %s", x, math.Float64bits(x), got, want)
		}
	}
}
