package kerberos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	krb "github.com/siemscore/siemscore/models/kerberos"
)

func small(seed uint64, attacks []Attack) Config {
	return Config{Seed: seed, Workstations: 80, AppServers: 6, FileServers: 2, TerminalServers: 1, DCs: 2, Attacks: attacks}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(small(3, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(small(3, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	var ja, jb bytes.Buffer
	if err := WriteZeekJSON(&ja, a.Records); err != nil {
		t.Fatal(err)
	}
	if err := WriteZeekJSON(&jb, b.Records); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
		t.Error("same config, different output")
	}
	c, err := Generate(small(4, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Records) == len(a.Records) && c.Records[100].Time.Equal(a.Records[100].Time) {
		t.Error("seeds 3 and 4 gave the same traffic")
	}
}

func TestAttacksDoNotChangeBenignTraffic(t *testing.T) {
	clean, err := Generate(small(5, nil))
	if err != nil {
		t.Fatal(err)
	}
	attacked, err := Generate(small(5, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	attackers := map[netip.Addr]Planted{}
	for _, p := range attacked.Planted {
		attackers[p.Host] = p
	}
	var benign []krb.Request
	for _, r := range attacked.Records {
		if p, ok := attackers[r.Source]; ok && !r.Time.Before(p.Start) && !r.Time.After(p.End) && isAttack(p, r.Request) {
			continue
		}
		benign = append(benign, r.Request)
	}
	if len(benign) != len(clean.Records) {
		t.Fatalf("%d benign records with attacks, %d without", len(benign), len(clean.Records))
	}
	want := map[krb.Request]int{}
	for _, r := range clean.Records {
		want[r.Request]++
	}
	for _, r := range benign {
		want[r]--
	}
	for r, n := range want {
		if n != 0 {
			t.Fatalf("benign request %+v differs (%d)", r, n)
		}
	}
}

// isAttack recognises the planted requests by their signature.
func isAttack(p Planted, r krb.Request) bool {
	switch p.Kind {
	case Spray:
		return r.RequestType == "AS" && (r.ErrorMsg == krb.ErrPreauthFailed || r.ErrorMsg == krb.ErrPrincipalUnknown)
	case Kerberoast:
		return r.RequestType == "TGS" && strings.Contains(r.Service, "/") && !strings.HasPrefix(r.Service, "krbtgt")
	case BruteForce:
		return strings.Contains(r.Client, "adm_")
	}
	return false
}

func TestPlantedAttacksHaveTheirSignature(t *testing.T) {
	d, err := Generate(small(6, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Planted) != 3 {
		t.Fatalf("planted %d attacks, want 3", len(d.Planted))
	}
	hosts := map[netip.Addr]bool{}
	for _, p := range d.Planted {
		if hosts[p.Host] {
			t.Errorf("two attacks on %v", p.Host)
		}
		hosts[p.Host] = true
		clients, services := map[string]bool{}, map[string]bool{}
		failures, rc4 := 0, 0
		for _, r := range d.Records {
			if r.Source != p.Host || r.Time.Before(p.Start) || r.Time.After(p.End) {
				continue
			}
			clients[r.Client] = true
			services[r.Service] = true
			if !r.Success && r.ErrorMsg != krb.ErrPreauthRequired {
				failures++
			}
			if r.Cipher == "rc4-hmac" {
				rc4++
			}
		}
		switch p.Kind {
		case Spray:
			if len(clients) < 50 || failures < 80 {
				t.Errorf("spray: %d clients, %d failures", len(clients), failures)
			}
		case Kerberoast:
			if p.Requests != 18 || len(services) < p.Requests || rc4 < p.Requests { // 3 SPNs per app server
				t.Errorf("kerberoast: %d services, %d RC4 tickets", len(services), rc4)
			}
		case BruteForce:
			if failures < 150 {
				t.Errorf("brute force: %d failures", failures)
			}
		}
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"attack after end": {Attacks: []Attack{{Kind: Spray, Start: 25 * time.Hour, Size: 10}}},
		"unknown kind":     {Attacks: []Attack{{Kind: 9, Size: 10}}},
		"no size":          {Attacks: []Attack{{Kind: Spray}}},
		"too few hosts":    {Workstations: 1, Attacks: StandardAttacks(0)},
	} {
		if _, err := Generate(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestZeekJSONLines(t *testing.T) {
	d, err := Generate(small(7, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteZeekJSON(&buf, d.Records); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		r := d.Records[n]
		if m["id.orig_h"] != r.Source.String() || m["uid"] != r.UID || m["request_type"] != r.RequestType {
			t.Fatalf("line %d = %v, record %+v", n, m, r)
		}
		if ts := m["ts"].(float64); time.Duration((ts-float64(r.Time.UnixMicro())/1e6)*1e9).Abs() > time.Microsecond {
			t.Fatalf("line %d ts %v, record %v", n, ts, r.Time)
		}
		if _, ok := m["error_msg"]; ok == r.Success && r.ErrorMsg != "" {
			t.Fatalf("line %d error_msg presence wrong: %v", n, m)
		}
		n++
	}
	if n != len(d.Records) {
		t.Errorf("%d lines for %d records", n, len(d.Records))
	}
}

func TestZeekTSVRows(t *testing.T) {
	d, err := Generate(small(8, StandardAttacks(0)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteZeekTSV(&buf, d.Records, d.Records[0].Time); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var fields []string
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "#fields\t") {
			fields = strings.Split(l, "\t")[1:]
			continue
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "\t")
		if len(cols) != len(fields) {
			t.Fatalf("row %d has %d columns, header %d", rows, len(cols), len(fields))
		}
		r := d.Records[rows]
		row := map[string]string{}
		for i, f := range fields {
			row[f] = cols[i]
		}
		wantSuccess := "F"
		if r.Success {
			wantSuccess = "T"
		}
		if row["id.resp_h"] != r.Dest.String() || row["success"] != wantSuccess || row["client"] != r.Client {
			t.Fatalf("row %d = %v, record %+v", rows, row, r)
		}
		if r.ErrorMsg == "" && row["error_msg"] != "-" {
			t.Fatalf("row %d error_msg %q, want unset", rows, row["error_msg"])
		}
		rows++
	}
	if rows != len(d.Records) || fields[0] != "ts" || !strings.HasPrefix(lines[len(lines)-1], "#close\t") {
		t.Errorf("%d rows for %d records; fields %v", rows, len(d.Records), fields)
	}
}
