// Package target names where siemscore writes in Elasticsearch, following Elastic's data stream
// naming scheme logs-<dataset>-<namespace>, and checks user-supplied names against
// Elasticsearch's rules before the first request does.
//
// Delivery routes documents by these names and the index templates match them, so both take
// them from here.
package target

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// DatasetPrefix starts every siemscore dataset: siemscore.<kind>.
	DatasetPrefix = "siemscore."
	// DeadLetterDataset is the dataset of records Elasticsearch rejected.
	DeadLetterDataset = DatasetPrefix + "deadletter"
	// Pattern matches every siemscore data stream, the dead-letter one included.
	Pattern = "logs-" + DatasetPrefix + "*-*"
	// DefaultNamespace is Elastic's default data stream namespace.
	DefaultNamespace = "default"
)

// DataStream returns the data stream for records of the named kind:
// logs-siemscore.<kind>-<namespace>.
func DataStream(kind, namespace string) string {
	return "logs-" + DatasetPrefix + kind + "-" + namespace
}

// Landing says which data streams records go to.
type Landing string

// Landings.
const (
	// LandingSiemscore writes every kind to siemscore's own data streams,
	// logs-siemscore.<kind>-<namespace>.
	LandingSiemscore Landing = "siemscore"
	// LandingIntegration writes CloudTrail, GuardDuty and Zeek Kerberos records to the data
	// streams of Elastic's AWS and Zeek integrations (IntegrationDatasets), where Elastic's
	// detection rules and dashboards look; other records keep siemscore's own.
	LandingIntegration Landing = "integration"
)

// IntegrationDatasets maps the kinds Elastic's integrations cover to their datasets.
var IntegrationDatasets = map[string]string{
	"cloudtrail": "aws.cloudtrail",
	"guardduty":  "aws.guardduty",
	"kerberos":   "zeek.kerberos",
}

// ParseLanding parses a landing name.
func ParseLanding(s string) (Landing, error) {
	switch l := Landing(strings.ToLower(s)); l {
	case LandingSiemscore, LandingIntegration:
		return l, nil
	}
	return "", fmt.Errorf("%q: accepted: %s, %s", s, LandingSiemscore, LandingIntegration)
}

// Dataset returns the data stream dataset of records of the named kind.
func (l Landing) Dataset(kind string) string {
	if ds, ok := IntegrationDatasets[kind]; ok && l == LandingIntegration {
		return ds
	}
	return DatasetPrefix + kind
}

// DataStream returns the data stream records of the named kind go to: logs-<dataset>-<namespace>.
func (l Landing) DataStream(kind, namespace string) string {
	return "logs-" + l.Dataset(kind) + "-" + namespace
}

// IntegrationPattern is the index pattern of an integration dataset's data streams.
func IntegrationPattern(dataset string) string { return "logs-" + dataset + "-*" }

// DeadLetter returns the dead-letter data stream of a namespace.
func DeadLetter(namespace string) string {
	return "logs-" + DeadLetterDataset + "-" + namespace
}

// ValidateNamespace applies Elastic's data stream namespace rules: lower case, at most 100
// bytes, none of \/*?"<>| ,#: and no hyphen (the hyphen separates the name's parts).
func ValidateNamespace(ns string) error {
	switch {
	case ns == "":
		return errors.New("must not be empty")
	case len(ns) > 100:
		return fmt.Errorf("%q is longer than 100 bytes", ns)
	case ns != strings.ToLower(ns):
		return fmt.Errorf("%q must be lower case", ns)
	case strings.ContainsAny(ns, `\/*?"<>| ,#:-`):
		return fmt.Errorf(`%q must not contain any of \/*?"<>| ,#:-`, ns)
	}
	return nil
}

// ValidateIndex applies Elasticsearch's index and data stream name rules: lower case, at most
// 255 bytes, none of \/*?"<>| ,#: , not starting with -, _ or +, and not "." or "..".
func ValidateIndex(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > 255:
		return fmt.Errorf("%q is longer than 255 bytes", name)
	case name != strings.ToLower(name):
		return fmt.Errorf("%q must be lower case", name)
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return fmt.Errorf(`%q must not contain any of \/*?"<>| ,#:`, name)
	case strings.IndexAny(name, "-_+") == 0:
		return fmt.Errorf("%q must not start with -, _ or +", name)
	case name == "." || name == "..":
		return fmt.Errorf("%q is reserved", name)
	}
	return nil
}
