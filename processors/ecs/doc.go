// Package ecs holds the Elastic Common Schema document that every record becomes on its way from a
// processor (CloudTrail, GuardDuty, Zeek Kerberos, or anything else) through the scorers to
// Elasticsearch.
//
// The document is a typed struct rather than a map so that the field names the plugin writes are
// fixed in one place: the index template is checked against these types, and the encoder
// (encode.go) writes them without reflection. Its strings usually point into the record body's
// tree (processors/body), so a document is valid as long as that tree is.
package ecs

import (
	"net/netip"
	"time"
)

// Version is the ECS version the documents follow (the one Elastic's AWS and Zeek integrations set).
const Version = "8.11.0"

// Document is one enriched record.
type Document struct {
	Timestamp   time.Time  `json:"@timestamp"`
	ECS         ECSInfo    `json:"ecs"`
	DataStream  DataStream `json:"data_stream,omitzero"`
	Event       Event      `json:"event,omitzero"`
	Message     string     `json:"message,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	Error       *Error     `json:"error,omitempty"`
	Source      *Endpoint  `json:"source,omitempty"`
	Destination *Endpoint  `json:"destination,omitempty"`
	User        *User      `json:"user,omitempty"`
	Group       *Group     `json:"group,omitempty"`
	UserAgent   *UserAgent `json:"user_agent,omitempty"`
	Cloud       *Cloud     `json:"cloud,omitempty"`
	Rule        *Rule      `json:"rule,omitempty"`
	Network     *Network   `json:"network,omitempty"`
	TLS         *TLS       `json:"tls,omitempty"`
	Related     *Related   `json:"related,omitempty"`
	AWS         *AWS       `json:"aws,omitempty"`
	Zeek        *Zeek      `json:"zeek,omitempty"`
	SiemScore   SiemScore  `json:"siemscore"`

	// Passthrough carries fields of the incoming record that have no ECS mapping: the other keys
	// of a Fluent Bit record whose event sat in a `log` key (added by filters, e.g. kubernetes
	// metadata), or the whole body of a record type the plugin does not know. It is a JSON
	// object whose members are written after the typed fields; the processors keep its keys
	// apart from the typed top-level ones (see TypedKey and CollisionKey).
	Passthrough RawJSON `json:"-"`
}

// RawJSON is a JSON value already rendered from a record body, written into the document as
// it is.
type RawJSON string

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

// ECSInfo is the `ecs` field set.
type ECSInfo struct {
	Version string `json:"version"`
}

// DataStream names the data stream the document is written to (logs-<dataset>-<namespace>).
type DataStream struct {
	Type      string `json:"type,omitempty"`
	Dataset   string `json:"dataset,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// Event is the ECS `event` field set.
type Event struct {
	Kind          string   `json:"kind,omitempty"`
	Category      []string `json:"category,omitempty"`
	Type          []string `json:"type,omitempty"`
	Action        string   `json:"action,omitempty"`
	Provider      string   `json:"provider,omitempty"`
	Outcome       string   `json:"outcome,omitempty"`
	ID            string   `json:"id,omitempty"`
	Dataset       string   `json:"dataset,omitempty"`
	Module        string   `json:"module,omitempty"`
	Created       OptTime  `json:"created,omitzero"`
	Ingested      OptTime  `json:"ingested,omitzero"`
	Severity      OptInt   `json:"severity,omitzero"`
	RiskScore     OptFloat `json:"risk_score,omitzero"`
	RiskScoreNorm OptFloat `json:"risk_score_norm,omitzero"`
	Original      string   `json:"original,omitempty"`
}

// Error is the ECS `error` field set, used when a record could not be processed at all.
type Error struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

// Endpoint is the ECS `source` / `destination` field set. Address always carries what the log
// said; IP is set only when that parses as an address (so "AWS Internal" or a service hostname
// never lands in an `ip` field and never gets the document rejected).
type Endpoint struct {
	Address string     `json:"address,omitempty"`
	IP      netip.Addr `json:"ip,omitzero"`
	Port    int        `json:"port,omitempty"`
	Domain  string     `json:"domain,omitempty"`
	AS      *AS        `json:"as,omitempty"`
	Geo     *Geo       `json:"geo,omitempty"`
}

// AS is the ECS autonomous-system field set.
type AS struct {
	Number       int64 `json:"number,omitempty"`
	Organization ASOrg `json:"organization,omitzero"`
}

// ASOrg names an autonomous system's organisation.
type ASOrg struct {
	Name string `json:"name,omitempty"`
}

// Geo is the subset of ECS geo fields that GuardDuty reports and that Elastic's geoip
// processor fills from a GeoLite2 City database.
type Geo struct {
	ContinentName  string    `json:"continent_name,omitempty"`
	CountryName    string    `json:"country_name,omitempty"`
	CountryISOCode string    `json:"country_iso_code,omitempty"`
	RegionName     string    `json:"region_name,omitempty"`
	RegionISOCode  string    `json:"region_iso_code,omitempty"`
	CityName       string    `json:"city_name,omitempty"`
	Location       *GeoPoint `json:"location,omitempty"`
}

// GeoPoint is an ECS geo_point.
type GeoPoint struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// User is the ECS `user` field set.
type User struct {
	Name    string      `json:"name,omitempty"`
	ID      string      `json:"id,omitempty"`
	Domain  string      `json:"domain,omitempty"`
	Target  UserRef     `json:"target,omitzero"`
	Changes UserChanges `json:"changes,omitzero"`
}

// UserRef names another user: `user.target`, the user an IAM call acts on.
type UserRef struct {
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
}

// UserChanges is `user.changes`: the user's values after the change (a renamed user).
type UserChanges struct {
	Name string `json:"name,omitempty"`
}

// Group is the ECS `group` field set: the IAM group an event acts on.
type Group struct {
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
}

// UserAgent is the ECS `user_agent` field set: the string as received and what parsing it
// (uap-core's rules, as Elastic's user_agent processor) made of it.
type UserAgent struct {
	Original string          `json:"original,omitempty"`
	Name     string          `json:"name,omitempty"`
	Version  string          `json:"version,omitempty"`
	OS       UserAgentOS     `json:"os,omitzero"`
	Device   UserAgentDevice `json:"device,omitzero"`
}

// UserAgentOS is the operating system a user agent names.
type UserAgentOS struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	Full    string `json:"full,omitempty"`
}

// UserAgentDevice is the device a user agent names ("Other" when it names none).
type UserAgentDevice struct {
	Name string `json:"name,omitempty"`
}

// Cloud is the ECS `cloud` field set.
type Cloud struct {
	Provider string       `json:"provider,omitempty"`
	Region   string       `json:"region,omitempty"`
	Account  CloudAccount `json:"account,omitzero"`
	Service  CloudService `json:"service,omitzero"`
}

// CloudAccount identifies the cloud account.
type CloudAccount struct {
	ID string `json:"id,omitempty"`
}

// CloudService names the cloud service that produced the record.
type CloudService struct {
	Name string `json:"name,omitempty"`
}

// Rule is the ECS `rule` field set (GuardDuty finding types).
type Rule struct {
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	Ruleset  string `json:"ruleset,omitempty"`
}

// Network is the ECS `network` field set.
type Network struct {
	Transport string `json:"transport,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
}

// TLS is the subset of the ECS `tls` field set that CloudTrail's tlsDetails fills.
type TLS struct {
	Version         string    `json:"version,omitempty"`
	VersionProtocol string    `json:"version_protocol,omitempty"`
	Cipher          string    `json:"cipher,omitempty"`
	Client          TLSClient `json:"client,omitzero"`
}

// TLSClient holds the client side of a TLS session.
type TLSClient struct {
	ServerName string `json:"server_name,omitempty"`
}

// Related is the ECS `related` field set.
type Related struct {
	IP   []netip.Addr `json:"ip,omitempty"`
	User []string     `json:"user,omitempty"`
}
