package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

func TestAPICallRecordsReadBack(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 5, 0, time.FixedZone("CET", 3600))
	id := Identity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:alice", AccountID: "123456789012",
		SessionContext: RoleSession(Issuer{Type: "Role", PrincipalID: "AROAEXAMPLE", AccountID: "123456789012"}, at)}
	render := func(i int) Record {
		return APICall(Call{Version: "1.09", Identity: id, Time: at, Name: "ListBuckets", IP: "192.0.2.1"}, rand.New(rand.NewPCG(1, uint64(i))))
	}
	var b bytes.Buffer
	if err := WriteLines(&b, 3, render); err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	sc := bufio.NewScanner(&b)
	seen := map[string]bool{}
	lines := 0
	for ; sc.Scan(); lines++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if rec.EventTime != "2026-03-01T11:30:05Z" || rec.UserIdentity.SessionContext.Attributes["creationDate"] != rec.EventTime {
			t.Errorf("times not rendered in UTC: %s", sc.Bytes())
		}
		if rec.RecipientAccountID != id.AccountID || rec.EventType != "AwsApiCall" {
			t.Errorf("not a call in the identity's own account: %s", sc.Bytes())
		}
		for _, u := range []string{rec.RequestID, rec.EventID} {
			if !uuid.MatchString(u) || seen[u] {
				t.Errorf("ID %q is not a fresh version 4 UUID", u)
			}
			seen[u] = true
		}
	}
	if lines != 3 {
		t.Fatalf("%d lines, want 3", lines)
	}
	if a, b := render(7), render(7); a.EventID != b.EventID {
		t.Error("the same seed drew different IDs")
	}
}
