package target

import "testing"

func TestNames(t *testing.T) {
	if got := DataStream("cloudtrail", "prod"); got != "logs-siemscore.cloudtrail-prod" {
		t.Errorf("DataStream = %s", got)
	}
	if got := DeadLetter("prod"); got != "logs-siemscore.deadletter-prod" {
		t.Errorf("DeadLetter = %s", got)
	}
	for _, ns := range []string{"default", "prod_eu", "a.b"} {
		if err := ValidateNamespace(ns); err != nil {
			t.Errorf("%q: %v", ns, err)
		}
		if err := ValidateIndex(DataStream("generic", ns)); err != nil {
			t.Errorf("data stream for %q: %v", ns, err)
		}
	}
	for _, ns := range []string{"", "Prod", "a-b", "a b", "a*", "a:b", string(make([]byte, 101))} {
		if ValidateNamespace(ns) == nil {
			t.Errorf("namespace %q accepted", ns)
		}
	}
	for _, idx := range []string{"", "Idx", "_idx", "-idx", "+idx", ".", "..", "a/b", "a,b", "a#b", string(make([]byte, 256))} {
		if ValidateIndex(idx) == nil {
			t.Errorf("index %q accepted", idx)
		}
	}
}

func TestLandings(t *testing.T) {
	for _, tc := range []struct {
		l          Landing
		kind, want string
	}{
		{LandingSiemscore, "cloudtrail", "logs-siemscore.cloudtrail-prod"},
		{LandingIntegration, "cloudtrail", "logs-aws.cloudtrail-prod"},
		{LandingIntegration, "guardduty", "logs-aws.guardduty-prod"},
		{LandingIntegration, "kerberos", "logs-zeek.kerberos-prod"},
		{LandingIntegration, "generic", "logs-siemscore.generic-prod"},
	} {
		if got := tc.l.DataStream(tc.kind, "prod"); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.l, tc.kind, got, tc.want)
		}
	}
	if l, err := ParseLanding("Integration"); l != LandingIntegration || err != nil {
		t.Errorf("ParseLanding: %v %v", l, err)
	}
	if _, err := ParseLanding("fleet"); err == nil {
		t.Error("an unknown landing was accepted")
	}
}
