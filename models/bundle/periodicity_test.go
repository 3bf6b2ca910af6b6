package bundle

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siemscore/siemscore/models/periodicity"
)

// smallPeriodicity trains a periodicity model on five weeks of hand-made daily counts: a job
// that runs on weekdays, a weekly job, and a person's irregular use.
var smallPeriodicity = sync.OnceValues(func() (*periodicity.Model, error) {
	first, _ := periodicity.DayOf(time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)) // a Monday
	var counts []periodicity.DailyCount
	human := []int64{3, 0, 9, 1, 0, 0, 0, 12, 0, 0, 4, 2, 0, 1, 0, 7, 5, 0, 0, 0, 0}
	for d := range 35 {
		day := first + periodicity.Day(d)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			counts = append(counts, periodicity.DailyCount{Day: day, Principal: "arn:aws:sts::1:assumed-role/job/job", API: "ListUsers", Count: 24})
		}
		if d%7 == 2 {
			counts = append(counts, periodicity.DailyCount{Day: day, Principal: "arn:aws:sts::1:assumed-role/weekly/weekly", API: "CreateSnapshot", Count: 3})
		}
		counts = append(counts, periodicity.DailyCount{Day: day, Principal: "arn:aws:iam::1:user/alice", API: "DescribeInstances", Count: human[d%len(human)]})
	}
	c := periodicity.NewCounts()
	if err := c.AddDaily(counts); err != nil {
		return nil, err
	}
	return periodicity.Train(c, periodicity.Window{First: first, Last: first + 34}, periodicity.DefaultConfig())
})

func periodicityBundle(t *testing.T) (*Bundle, *periodicity.Model) {
	t.Helper()
	pm, err := smallPeriodicity()
	if err != nil {
		t.Fatal(err)
	}
	ip, err := smallModel()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(testHeader(), IPPart(ip), PeriodicityPart(pm))
	if err != nil {
		t.Fatal(err)
	}
	return b, pm
}

func TestPeriodicitySectionRoundTrip(t *testing.T) {
	b, pm := periodicityBundle(t)
	if job, ok := pm.Lookup("arn:aws:sts::1:assumed-role/job/job", "ListUsers"); !ok || !job.Automated() {
		t.Fatalf("test model: the weekday job is not automated: %+v", job)
	}
	for _, key := range [][]byte{nil, []byte("secret")} {
		data := encode(t, b, key)
		d, err := Decode(data, DecodeOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if again := encode(t, d, key); !bytes.Equal(again, data) {
			t.Fatalf("key %q: Encode(Decode(b)) differs from b", key)
		}
		if got := d.Tags(); len(got) != 2 || got[0] != TagPeriodicity || got[1] != TagIP {
			t.Errorf("tags %v", got)
		}
		dp := d.Periodicity()
		if dp == nil || d.IP() == nil || dp.Len() != pm.Len() {
			t.Fatal("decoded bundle lost a section")
		}
		day, _ := periodicity.DayOf(time.Date(2025, 6, 11, 12, 0, 0, 0, time.UTC))
		for i := range pm.Len() {
			p := pm.Stats(i)
			obs := periodicity.Observation{Day: day, Count: 240}
			if want, got := pm.Score(p.Principal, p.API, obs), dp.Score(p.Principal, p.API, obs); got.VolumeZ != want.VolumeZ || got.ScoreNorm != want.ScoreNorm || got.Reasons != want.Reasons {
				t.Errorf("%v: decoded model scores %+v, trained %+v", p.Pair, got, want)
			}
		}
	}
	ipOnly, err := New(testHeader(), IPPart(b.IP()), PeriodicityPart(nil))
	if err != nil {
		t.Fatal(err)
	}
	if ipOnly.Periodicity() != nil {
		t.Error("bundle without a periodicity section returned a model")
	}
}

func TestPeriodicitySectionCorruption(t *testing.T) {
	b, _ := periodicityBundle(t)
	data := encode(t, b, nil)
	at := bytes.Index(data, []byte(TagPeriodicity))
	if at < 0 {
		t.Fatal("no periodicity section in the encoding")
	}
	payload := at + 4 + 8 // tag, length; the payload starts with the model's format byte
	for name, bad := range map[string][]byte{
		"format":    resum(patch(data, payload, 7)),
		"threshold": resum(patch(data, payload+1+7, 0x7f)), // high byte of 0.5 -> a huge number
		"flags":     resum(patch(data, bytes.Index(data, []byte("ListUsers"))+len("ListUsers")+4+4+8, 0xf0)),
	} {
		_, err := Decode(bad, DecodeOptions{})
		if err == nil || !errors.Is(err, periodicity.ErrModel) || !strings.Contains(err.Error(), `section "APIP"`) {
			t.Errorf("%s: err = %v, want a periodicity model error naming the section", name, err)
		}
	}
	if _, err := Decode(patch(data, payload+40, data[payload+40]^0xff), DecodeOptions{}); err == nil {
		t.Error("flipped byte in the periodicity section accepted")
	}
}
