package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

// marshalNoHTML is encoding/json without HTML escaping.
func marshalNoHTML(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkString(t *testing.T, s string) {
	t.Helper()
	want, _ := json.Marshal(s)
	if got := String(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("String(%q) = %s, want %s", s, got, want)
	}
	if got := String(nil, []byte(s)); !bytes.Equal(got, want) {
		t.Fatalf("String([]byte(%q)) = %s, want %s", s, got, want)
	}
	if got, want := StringNoHTML(nil, s), marshalNoHTML(t, s); !bytes.Equal(got, want) {
		t.Fatalf("StringNoHTML(%q) = %s, want %s", s, got, want)
	}
}

// TestStringMatchesEncodingJSON covers every byte value at every position of strings of every
// length up to 17 and past shortString (the table that checks short strings, the eight-byte
// fast path, the overlapping last word, the padded word of a short string), and random strings
// mixing plain text with everything that needs escaping.
func TestStringMatchesEncodingJSON(t *testing.T) {
	for c := range 256 {
		for n := range max(18, shortString+2) {
			for pos := range n {
				b := bytes.Repeat([]byte("a"), n)
				b[pos] = byte(c)
				checkString(t, string(b))
			}
		}
	}
	pieces := []string{"plain text ", "0123456789abcdef", `"`, `\`, "<", ">", "&", "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "€"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var s []byte
		for range r.IntN(12) {
			s = append(s, pieces[r.IntN(len(pieces))]...)
		}
		checkString(t, string(s))
	}
}

func FuzzString(f *testing.F) {
	f.Add("hello <world> & \"friends\"\n\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func TestFloatMatchesEncodingJSON(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 123456789012, 1 << 53, 1<<53 + 2, -1e300,
		math.SmallestNonzeroFloat64, math.MaxFloat64, 5.202623650431633, 0.5, 100, 1e6, 123456.789}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		values = append(values, math.Float64frombits(r.Uint64()), float64(r.Int64N(1<<40)), r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)))
		// Short decimals, the scorer's numbers, which take the fast path: k digits at scale p.
		k, p := 1+r.IntN(7), r.IntN(30)-15
		short, _ := strconv.ParseFloat(strconv.FormatInt(r.Int64N(int64(math.Pow10(k)))-int64(math.Pow10(k))/2, 10)+"e"+strconv.Itoa(p), 64)
		values = append(values, short)
	}
	for _, f := range values {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		if got := Float(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("Float(%v) = %s, want %s", f, got, want)
		}
		wantG := strconv.AppendFloat(nil, f, 'g', -1, 64)
		if got := FloatG(nil, f); !bytes.Equal(got, wantG) {
			t.Fatalf("FloatG(%v) = %s, want %s", f, got, wantG)
		}
	}
}

func TestTimeMatchesMarshalJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	times := []time.Time{time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2024, 2, 29, 1, 2, 3, 120000000, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 0, 1, time.FixedZone("x", -5*3600-30*60)), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(firstSecond, 0).UTC(), time.Unix(lastSecond, 0).UTC(), time.Unix(-1, 999999999).UTC(), time.Unix(-86400, 0).UTC()}
	// Every day of the leap-year rules' corners (years 0, 1600, 1900, 2000, 2100) and of 1969-1970.
	for _, y := range []int{0, 1, 4, 1600, 1899, 1900, 1969, 1970, 2000, 2100, 9998} {
		for d := range 366 {
			times = append(times, time.Date(y, 1, 1+d, 23, 59, 59, 100, time.UTC))
		}
	}
	for range 20000 {
		ns := int64(r.IntN(1e9))
		if r.IntN(3) == 0 {
			ns = int64(r.IntN(1000)) * 1e6
		}
		secs := r.Int64N(8e9)
		if r.IntN(2) == 0 { // any time of years 0 to 9999
			secs = r.Int64N(firstSecond*-1+lastSecond+1) + firstSecond
		}
		tm := time.Unix(secs, ns).UTC()
		if r.IntN(5) == 0 {
			tm = tm.In(time.FixedZone("z", (r.IntN(29)-14)*3600))
		}
		times = append(times, tm)
	}
	// Forwards, then backwards: the memoised dates are made, found and replaced.
	for pass := range 2 {
		for i := range times {
			tm := times[i]
			if pass == 1 {
				tm = times[len(times)-1-i]
			}
			want, err := tm.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if got := Time(nil, tm); !bytes.Equal(got, want) {
				t.Fatalf("Time(%v) = %s, want %s", tm, got, want)
			}
		}
	}
}

// TestTimeConcurrent: writers on several goroutines share the memoised dates; days a multiple
// of its size apart contend for the same slots.
func TestTimeConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				day := int64(19000 + g*len(civilDates) + i%3*len(civilDates)*7)
				tm := time.Unix(day*86400+int64(i), 0).UTC()
				want, _ := tm.MarshalJSON()
				if got := Time(nil, tm); !bytes.Equal(got, want) {
					t.Errorf("Time(%v) = %s, want %s", tm, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkString(b *testing.B) {
	s := "arn:aws:iam::123456789012:role/deploy-role-with-a-long-name"
	var buf []byte
	for b.Loop() {
		buf = String(buf[:0], s)
	}
}

// TestRound: rounding to ShortDigits gives the float nearest to the rounded decimal, whose
// shortest text has at most ShortDigits digits, and takes the fast path of Float.
func TestRound(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		v := r.NormFloat64() * math.Pow(10, float64(r.IntN(30)-15))
		got := Round(v)
		want, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', ShortDigits, 64), 64)
		if a := math.Abs(v); (a != math.Trunc(a) || a >= 1e6) && a >= 1e-15 && a < 1e15 {
			if got != want {
				t.Fatalf("Round(%v) = %v, want %v", v, got, want)
			}
		}
		if a := math.Abs(got); a >= 1e-6 && a < 1e21 && a != math.Trunc(a) {
			if _, ok := shortDecimal(nil, got); !ok {
				t.Fatalf("Round(%v) = %v, which the fast path does not write", v, got)
			}
		}
	}
	for _, v := range []float64{0, 5, -7, 123456, math.Inf(1), 1e300, 1e-300} {
		if got := Round(v); got != v {
			t.Errorf("Round(%v) = %v, want it unchanged", v, got)
		}
	}
	if !math.IsNaN(Round(math.NaN())) {
		t.Error("Round(NaN) must stay NaN")
	}
	for e := -22; e < 22; e++ {
		a := math.Pow(10, float64(e))
		if got := exp10(a); got != e {
			t.Errorf("exp10(1e%d) = %d", e, got)
		}
		if got := exp10(a * 9.999); got != e {
			t.Errorf("exp10(9.999e%d) = %d", e, got)
		}
	}
}

func BenchmarkTime(b *testing.B) {
	t := time.Date(2024, 3, 5, 10, 0, 3, 452327000, time.UTC)
	var buf []byte
	for b.Loop() {
		buf = Time(buf[:0], t)
	}
}
