package apicalls

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The rhythms a cron-like role can follow.
const (
	rhythmInterval      = iota // every N minutes, every day
	rhythmBusinessHours        // every N minutes between 07:00 and 19:00 UTC, Monday to Friday
	rhythmDaily                // once a day
	rhythmWeekdays             // once a day, Monday to Friday
	rhythmWeekly               // once a week
	rhythmWeekendSlow          // every N minutes on weekdays, every 4N at weekends
	rhythms
)

const (
	retryProb = 0.01  // a call is retried once (one extra call)
	missProb  = 0.005 // a run does not happen at all
	jitterSD  = 20 * time.Second
)

var roleNames = []string{
	"inventory-collector", "backup-snapshots", "security-audit", "cost-reporter", "config-sync",
	"log-shipper", "patch-scanner", "metrics-exporter", "dr-replicator", "compliance-checker",
	"key-rotator", "cleanup-janitor",
}

// addCron adds cron-like role number i.
func (ds *Dataset) addCron(i int) {
	r := ds.rng(uint64(i))
	account := accountID(r)
	role := fmt.Sprintf("%s-%d", roleNames[i%len(roleNames)], i)
	session := fmt.Sprintf("i-%017x", r.Uint64()>>4)
	renews := true // an instance or task: a new session name every run
	if r.IntN(2) == 0 {
		session, renews = role, false // a Lambda function's session is named after the function
	}
	p := Principal{
		ARN:          fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, role, session),
		Key:          fmt.Sprintf("arn:aws:iam::%s:role/%s", account, role),
		Renews:       renews,
		AccountID:    account,
		Automated:    true,
		identityType: "AssumedRole",
		principalID:  "AROA" + upperID(r, 17) + ":" + session,
		accessKeyID:  "ASIA" + upperID(r, 16),
		issuerARN:    fmt.Sprintf("arn:aws:iam::%s:role/%s", account, role),
		sourceIP:     fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254)),
		userAgent:    "Boto3/1.34.14 md/Botocore#1.34.14 ua/2.0 os/linux#5.10 lang/python#3.12.1 cfg/retry-mode#legacy Botocore/1.34.14",
		region:       regions[r.IntN(len(regions))],
		rhythm:       i % rhythms,
	}
	// Each API of a run is called a fixed number of times (its pages), the same every run.
	nAPIs := 2 + r.IntN(4)
	pages := make([]int, nAPIs)
	for _, k := range r.Perm(len(cronAPIs))[:nAPIs] {
		p.APIs = append(p.APIs, cronAPIs[k])
	}
	for j := range pages {
		pages[j] = []int{1, 1, 1, 2, 3, 5}[r.IntN(6)]
	}
	rhythm := p.rhythm
	// Batch jobs run away from midnight: a job at 00:00 splits its calls over two UTC days
	// at random, which is a different (and documented) problem.
	at := time.Duration(1+r.IntN(21))*time.Hour + time.Duration(r.IntN(60))*time.Minute
	every := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour}[r.IntN(5)]
	offset := time.Duration(r.Int64N(int64(min(every, time.Hour))))
	weekday := time.Weekday(r.IntN(7))
	if rhythm == rhythmBusinessHours || rhythm == rhythmWeekendSlow {
		every = min(every, 2*time.Hour)
	}
	switch rhythm {
	case rhythmInterval:
		p.Schedule = fmt.Sprintf("every %v", every)
	case rhythmBusinessHours:
		p.Schedule = fmt.Sprintf("every %v 07:00-19:00 Mon-Fri", every)
	case rhythmDaily:
		p.Schedule = fmt.Sprintf("daily at %v", at)
	case rhythmWeekdays:
		p.Schedule = fmt.Sprintf("Mon-Fri at %v", at)
	case rhythmWeekly:
		p.Schedule = fmt.Sprintf("%v at %v", weekday, at)
	case rhythmWeekendSlow:
		p.Schedule = fmt.Sprintf("every %v, every %v at weekends", every, 4*every)
	}
	idx := len(ds.Principals)
	ds.Principals = append(ds.Principals, p)

	run := func(t time.Time) {
		if r.Float64() < missProb {
			return
		}
		t = t.Add(time.Duration(r.NormFloat64() * float64(jitterSD)))
		for j, api := range p.APIs {
			for range pages[j] {
				t = t.Add(time.Duration(50+r.IntN(400)) * time.Millisecond)
				ds.emit(idx, api, t)
				if r.Float64() < retryProb {
					ds.emit(idx, api, t.Add(time.Second))
				}
			}
		}
	}
	for d := -1; d <= ds.Config.Days; d++ { // a day either side: jitter crosses the edges
		day := ds.Config.Start.AddDate(0, 0, d)
		wd := day.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		switch rhythm {
		case rhythmInterval:
			for t := offset; t < 24*time.Hour; t += every {
				run(day.Add(t))
			}
		case rhythmBusinessHours:
			for t := 7*time.Hour + offset; !weekend && t < 19*time.Hour; t += every {
				run(day.Add(t))
			}
		case rhythmDaily:
			run(day.Add(at))
		case rhythmWeekdays:
			if !weekend {
				run(day.Add(at))
			}
		case rhythmWeekly:
			if wd == weekday {
				run(day.Add(at))
			}
		case rhythmWeekendSlow:
			step := every
			if weekend {
				step *= 4
			}
			for t := offset; t < 24*time.Hour; t += step {
				run(day.Add(t))
			}
		}
	}
}

var regions = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}

func accountID(r *rand.Rand) string { return fmt.Sprintf("%012d", r.Int64N(int64(math.Pow10(12)))) }

// upperID returns n characters of the kind AWS uses in key and principal IDs.
func upperID(r *rand.Rand, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
