package identity

import (
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, id, account, session string
	}{
		// Assumed roles: every session is the role.
		{"arn:aws:sts::123456789012:assumed-role/Deploy/i-0abc123", "arn:aws:iam::123456789012:role/Deploy", "123456789012", "i-0abc123"},
		{"arn:aws:sts::123456789012:assumed-role/Deploy/1718900000000", "arn:aws:iam::123456789012:role/Deploy", "123456789012", "1718900000000"},
		{"arn:aws-us-gov:sts::210987654321:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com", "arn:aws-us-gov:iam::210987654321:role/AWSReservedSSO_Admin_0a1b", "210987654321", "alice@example.com"},
		{"arn:aws:sts::123456789012:assumed-role/NoSession", "arn:aws:iam::123456789012:role/NoSession", "123456789012", ""},
		// Other ARNs are kept whole.
		{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice", "123456789012", ""},
		{"arn:aws:iam::123456789012:user/division/team/bob", "arn:aws:iam::123456789012:user/division/team/bob", "123456789012", ""},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", "123456789012", ""},
		{"arn:aws:sts::123456789012:federated-user/carol", "arn:aws:sts::123456789012:federated-user/carol", "123456789012", ""},
		{"arn:aws:iam::123456789012:role/service-role/Lambda", "arn:aws:iam::123456789012:role/service-role/Lambda", "123456789012", ""},
		{"arn:aws:sts::123456789012:assumed-role/", "arn:aws:sts::123456789012:assumed-role/", "123456789012", ""},
		{"arn:aws:iam::notanaccount:user/x", "arn:aws:iam::notanaccount:user/x", "", ""},
		{"arn:broken", "arn:broken", "", ""},
		// principalIds: a role's session is cut, nothing else is.
		{"AROAJQABLZS4A3QDU576Q:SomeSession", "AROAJQABLZS4A3QDU576Q", "", "SomeSession"},
		{"AROAJQABLZS4A3QDU576Q:botocore-session-1718900000", "AROAJQABLZS4A3QDU576Q", "", "botocore-session-1718900000"},
		{"AROAJQABLZS4A3QDU576Q", "AROAJQABLZS4A3QDU576Q", "", ""},
		{"AIDAJ45Q7YFFAREXAMPLE", "AIDAJ45Q7YFFAREXAMPLE", "", ""},
		{"123456789012:carol", "123456789012:carol", "", ""}, // a federated user's principalId names the person
		{"123456789012", "123456789012", "", ""},             // root
		{"aroa-lowercase:x", "aroa-lowercase:x", "", ""},
		// Plain names, as they are.
		{"user_17", "user_17", "", ""},
		{"svc:deploy", "svc:deploy", "", ""},
		{"", "", "", ""},
	}
	for _, tc := range cases {
		p := Parse(tc.in)
		if p.ID != tc.id || p.Account != tc.account {
			t.Errorf("Parse(%q) = %+v, want ID %q account %q", tc.in, p, tc.id, tc.account)
		}
		if s := SessionOf(tc.in); s != tc.session {
			t.Errorf("SessionOf(%q) = %q, want %q", tc.in, s, tc.session)
		}
	}
}

func TestRecord(t *testing.T) {
	cases := []struct {
		name                   string
		principalID, arn, acct string
		wantID, wantAccount    string
	}{
		{"assumed role: the role ID, the ARN's account", "AROAJQABLZS4A3QDU576Q:i-0abc", "arn:aws:sts::123456789012:assumed-role/Deploy/i-0abc", "999999999999", "AROAJQABLZS4A3QDU576Q", "123456789012"},
		{"IAM user", "AIDAJ45Q7YFFAREXAMPLE", "arn:aws:iam::123456789012:user/alice", "123456789012", "AIDAJ45Q7YFFAREXAMPLE", "123456789012"},
		{"no ARN: accountId", "AIDAJ45Q7YFFAREXAMPLE", "", "123456789012", "AIDAJ45Q7YFFAREXAMPLE", "123456789012"},
		{"no principalId: the ARN rule", "", "arn:aws:sts::123456789012:assumed-role/Deploy/s1", "", "arn:aws:iam::123456789012:role/Deploy", "123456789012"},
		{"bad accountId is no account", "AIDAJ45Q7YFFAREXAMPLE", "", "n/a", "AIDAJ45Q7YFFAREXAMPLE", ""},
		{"nothing", "", "", "123456789012", "", ""},
	}
	for _, tc := range cases {
		p := Record(tc.principalID, tc.arn, tc.acct)
		if p.ID != tc.wantID || p.Account != tc.wantAccount {
			t.Errorf("%s: Record = %+v, want %q / %q", tc.name, p, tc.wantID, tc.wantAccount)
		}
	}
}

// 2,000 distinct ARNs stay 2,000 principals (the old rule, "up to the first ':'", made every
// one of them "arn"), and the sessions of one role stay one.
func TestDistinctARNsStayDistinct(t *testing.T) {
	ids := map[string]bool{}
	for i := range 2000 {
		ids[Parse(fmt.Sprintf("arn:aws:iam::%012d:user/u%d", 100000000000+i%7, i)).ID] = true
	}
	if len(ids) != 2000 {
		t.Errorf("2000 user ARNs gave %d principals", len(ids))
	}
	roles := map[string]bool{}
	for day := range 30 {
		roles[Parse(fmt.Sprintf("arn:aws:sts::123456789012:assumed-role/Nightly/run-%d", day)).ID] = true
		roles[Parse(fmt.Sprintf("AROAJQABLZS4A3QDU576Q:run-%d", day)).ID] = true
	}
	if len(roles) != 2 {
		t.Errorf("30 sessions of one role by ARN and by principalId gave %d principals, want 2", len(roles))
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		Record("AROAJQABLZS4A3QDU576Q:i-0abc", "arn:aws:sts::123456789012:assumed-role/Deploy/i-0abc", "")
	}); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}
