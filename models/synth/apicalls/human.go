package apicalls

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/siemscore/siemscore/processors/identity"
)

var humanNames = []string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda",
}

// Human users work in their own time zone, so their working day straddles UTC midnight for some.
var utcOffsets = []time.Duration{-8 * time.Hour, -5 * time.Hour, 0, time.Hour, 5*time.Hour + 30*time.Minute, 9 * time.Hour}

// addHuman adds human user number i: on each working day (taken with a personal probability,
// weekends rarely, not at all during a vacation) a few sessions of bursty activity spread over
// a personal set of APIs with a few favourites.
func (ds *Dataset) addHuman(i int) {
	r := ds.rng(1<<32 + uint64(i))
	account := accountID(r)
	name := fmt.Sprintf("%s.%d", humanNames[i%len(humanNames)], i)
	p := Principal{
		AccountID: account,
		sourceIP:  fmt.Sprintf("%d.%d.%d.%d", 81+r.IntN(120), r.IntN(256), r.IntN(256), 1+r.IntN(254)),
		userAgent: []string{"aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances", "AWS Internal", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"}[r.IntN(3)],
		region:    regions[r.IntN(len(regions))],
		rhythm:    -1,
	}
	if r.IntN(2) == 0 {
		p.ARN = fmt.Sprintf("arn:aws:iam::%s:user/%s", account, name)
		p.identityType, p.userName = "IAMUser", name
		p.principalID, p.accessKeyID = "AIDA"+upperID(r, 17), "AKIA"+upperID(r, 16)
	} else {
		p.ARN = fmt.Sprintf("arn:aws:sts::%s:assumed-role/AWSReservedSSO_Admin_%s/%s@example.com", account, upperID(r, 8), name)
		p.identityType = "AssumedRole"
		p.principalID, p.accessKeyID = "AROA"+upperID(r, 17)+":"+name+"@example.com", "ASIA"+upperID(r, 16)
		p.issuerARN = fmt.Sprintf("arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin", account)
	}
	p.Key = identity.Parse(p.ARN).ID
	nAPIs := 4 + r.IntN(9)
	weights := make([]float64, nAPIs)
	total := 0.0
	for j, k := range r.Perm(len(humanAPIs))[:nAPIs] {
		p.APIs = append(p.APIs, humanAPIs[k])
		weights[j] = 1 / math.Pow(float64(j+1), 1.1)
		total += weights[j]
	}
	workProb := 0.35 + 0.5*r.Float64()
	weekendProb := 0.06 * r.Float64()
	offset := utcOffsets[r.IntN(len(utcOffsets))]
	vacation, vacationDays := -1, 0
	if r.IntN(2) == 0 {
		vacation, vacationDays = r.IntN(ds.Config.Days), 5+r.IntN(8)
	}
	p.Schedule = fmt.Sprintf("human: works %.0f%% of weekdays, %.0f%% of weekend days, UTC%+v", 100*workProb, 100*weekendProb, offset)
	idx := len(ds.Principals)
	ds.Principals = append(ds.Principals, p)

	sessions := distuv.Poisson{Lambda: 0.8, Src: r}
	for d := range ds.Config.Days {
		// The local day d starts at local midnight, i.e. at UTC midnight minus the offset.
		local := ds.Config.Start.AddDate(0, 0, d).Add(-offset)
		prob := workProb
		if wd := ds.Config.Start.AddDate(0, 0, d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			prob = weekendProb
		}
		if d >= vacation && d < vacation+vacationDays || r.Float64() >= prob {
			continue
		}
		for range 1 + int(sessions.Rand()) {
			start := local.Add(8*time.Hour + time.Duration(r.Int64N(int64(10*time.Hour))))
			length := time.Duration(10+r.IntN(80)) * time.Minute
			calls := 1 + int(r.ExpFloat64()*25) // bursty: most sessions short, a few long
			for range calls {
				api := p.APIs[pick(r.Float64()*total, weights)]
				ds.emit(idx, api, start.Add(time.Duration(r.Int64N(int64(length)))))
			}
		}
	}
}

// pick returns the index whose cumulative weight first exceeds x.
func pick(x float64, weights []float64) int {
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
