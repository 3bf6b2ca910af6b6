// Package identity is siemscore's one rule for who an event belongs to: the key the models
// learn and score principals by, and the AWS account that owns the principal.
//
// # The rule
//
// Parse applies it to one identifier, whatever its form:
//
//   - An assumed-role ARN, arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION, is the role:
//     arn:PARTITION:iam::ACCOUNT:role/ROLE. Every session of a role is the role: automated roles
//     (Lambda functions, ECS tasks, EC2 instance profiles) get a new session name every run,
//     and keyed by session they would never build a history.
//   - Any other ARN (IAM user, root, federated user, role, service-linked identities) is kept
//     whole: it already names one principal.
//   - A role's principalId, AROA…:SESSION (CloudTrail's userIdentity.principalId and
//     GuardDuty's accessKeyDetails.principalId of an assumed role), is the role ID AROA…, for
//     the same reason.
//   - Anything else (an IAM user's AIDA… ID, a root's account ID, a federated user's
//     ACCOUNT:NAME, a plain user name) is kept as it is.
//
// The account comes from the ARN when there is one; otherwise the caller supplies it
// (CloudTrail's userIdentity.accountId, a GuardDuty finding's accountId) or it is unknown.
//
// Which identifier a consumer passes is its choice; the rule is the same. The IP model keys
// on principalId (Record), because GuardDuty findings name their principal only that way and
// the IP model scores both; the periodicity model keys on the ARN (models/score.APICallOf),
// which reads well in its results. A CSV of principal,ip tuples (the SageMaker IP Insights
// workshop's format) may hold any of the forms.
//
// Before this rule, everything after the first ':' was cut off, so every ARN became the
// entity "arn" and thousands of principals trained as one.
package identity

import "strings"

// Principal is who an event belongs to.
type Principal struct {
	// ID is the key models learn and score the principal by (see the package documentation).
	ID string
	// Account is the 12-digit AWS account that owns the principal, or "" when unknown.
	Account string
}

// Parse applies the rule to one identifier: an ARN, a principalId or a plain name. Leading
// and trailing spaces are the caller's to trim. It allocates only to rewrite an assumed-role
// ARN into its role's ARN.
func Parse(s string) Principal {
	if strings.HasPrefix(s, "arn:") {
		return parseARN(s)
	}
	if id, _, ok := strings.Cut(s, ":"); ok && IsRoleID(id) {
		return Principal{ID: id}
	}
	return Principal{ID: s}
}

// Record returns the principal of a record's identity fields, any of which may be empty:
// principalID (userIdentity.principalId, accessKeyDetails.principalId) names it when present,
// else arn (userIdentity.arn); the account is the ARN's, else accountID. It does not allocate
// when principalID is set.
func Record(principalID, arn, accountID string) Principal {
	var p Principal
	switch {
	case principalID != "":
		p = Parse(principalID)
	case arn != "":
		p = Parse(arn)
	default:
		return Principal{}
	}
	if p.Account == "" {
		p.Account = AccountOf(arn)
	}
	if p.Account == "" && IsAccountID(accountID) {
		p.Account = accountID
	}
	return p
}

// SessionOf returns the session name of an assumed-role ARN or a role principalId, "" for
// anything else: what Parse leaves out of the principal's ID.
func SessionOf(s string) string {
	if strings.HasPrefix(s, "arn:") {
		f, ok := arnFields(s)
		if !ok || f.service != "sts" {
			return ""
		}
		rest, ok := strings.CutPrefix(f.resource, "assumed-role/")
		if !ok {
			return ""
		}
		_, session, _ := strings.Cut(rest, "/")
		return session
	}
	if id, session, ok := strings.Cut(s, ":"); ok && IsRoleID(id) {
		return session
	}
	return ""
}

// AccountOf returns the account of an ARN, "" when s is not an ARN or names no 12-digit
// account.
func AccountOf(s string) string {
	if f, ok := arnFields(s); ok && IsAccountID(f.account) {
		return f.account
	}
	return ""
}

// IsRoleID reports whether s is an IAM role's unique ID: AROA followed by upper-case letters
// and digits (AWS IDs are 21 characters today; the length is not relied on).
func IsRoleID(s string) bool {
	if len(s) <= 4 || !strings.HasPrefix(s, "AROA") {
		return false
	}
	for i := 4; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// arn holds the fields of arn:partition:service:region:account:resource.
type arn struct {
	partition, service, region, account, resource string
}

func arnFields(s string) (arn, bool) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return arn{}, false
	}
	var f [4]string
	for i := range f {
		if f[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return arn{}, false
		}
	}
	return arn{partition: f[0], service: f[1], region: f[2], account: f[3], resource: rest}, true
}

func parseARN(s string) Principal {
	f, ok := arnFields(s)
	if !ok {
		return Principal{ID: s}
	}
	p := Principal{ID: s}
	if IsAccountID(f.account) {
		p.Account = f.account
	}
	if f.service != "sts" {
		return p
	}
	rest, ok := strings.CutPrefix(f.resource, "assumed-role/")
	if !ok {
		return p
	}
	role, _, _ := strings.Cut(rest, "/")
	if role == "" {
		return p
	}
	p.ID = "arn:" + f.partition + ":iam::" + f.account + ":role/" + role
	return p
}
