package ecs

// SiemScore is the `siemscore.*` namespace: what the models said about this record.
//
// Every part follows one shape: `status` says whether the part could be scored, `reasons`
// explains the score or why there is none (reason codes, see the Reason* constants), and
// `score_norm` is 0–100 with higher meaning more anomalous, like Elastic ML's record_score, with
// `severity` its band (see SeverityBand).
type SiemScore struct {
	Model     ModelInfo      `json:"model"`
	IP        IPScore        `json:"ip,omitzero"`
	GuardDuty GuardDutyScore `json:"guardduty,omitzero"`
	Kerberos  KerberosScore  `json:"kerberos,omitzero"`
	API       APIScore       `json:"api,omitzero"`
	// Issues lists problems met while parsing the record that did not stop it from being
	// shipped (an invalid IP, a missing timestamp, a passthrough key that collided with ECS).
	Issues []string `json:"issues,omitempty"`
}

// Model statuses: which model bundle, if any, scored the record.
const (
	ModelScored    = "scored"      // a bundle was loaded and every applicable part was attempted
	ModelUntrained = "untrained"   // no bundle is loaded: the record ships unscored
	ModelNoModel   = "unsupported" // the record type has no model (passed through unscored)
)

// Part statuses.
const (
	PartScored   = "scored"
	PartUnscored = "unscored"
)

// ModelInfo says which model version scored the record.
type ModelInfo struct {
	Version   string  `json:"version,omitempty"`
	Status    string  `json:"status"`
	TrainedAt OptTime `json:"trained_at,omitzero"`
}

// IPScore is `siemscore.ip.*`: how unusual the source IP is for the principal.
type IPScore struct {
	Status    string   `json:"status,omitempty"`
	Entity    string   `json:"entity,omitempty"`
	Score     OptFloat `json:"score,omitzero"`
	ScoreNorm OptFloat `json:"score_norm,omitzero"`
	Severity  string   `json:"severity,omitempty"`
	Reasons   []string `json:"reasons,omitempty"`
}

// GuardDutyScore is `siemscore.guardduty.*`: the finding's own severity fused with the IP score
// of its principal and remote IP.
type GuardDutyScore struct {
	Status       string   `json:"status,omitempty"`
	SeverityNorm OptFloat `json:"severity_norm,omitzero"`
	ScoreNorm    OptFloat `json:"score_norm,omitzero"`
	Severity     string   `json:"severity,omitempty"`
	Reasons      []string `json:"reasons,omitempty"`
}

// KerberosScore is `siemscore.kerberos.*`: the source host's cluster and how far from normal it is.
type KerberosScore struct {
	Status              string           `json:"status,omitempty"`
	Cluster             OptInt           `json:"cluster,omitzero"`
	ClusterSizeFraction OptFloat         `json:"cluster_size_fraction,omitzero"`
	Distance            OptFloat         `json:"distance,omitzero"`
	ScoreNorm           OptFloat         `json:"score_norm,omitzero"`
	Severity            string           `json:"severity,omitempty"`
	Reasons             []string         `json:"reasons,omitempty"`
	Features            KerberosFeatures `json:"features,omitzero"`
}

// KerberosFeatures are the source host's current window statistics (see models/kerberos for
// their definitions).
type KerberosFeatures struct {
	Requests           float64 `json:"requests"`
	DistinctServers    float64 `json:"distinct_servers"`
	TopServerShare     float64 `json:"top_server_share"`
	TopServerLoad      float64 `json:"top_server_load"`
	Failures           float64 `json:"failures"`
	FailureRatio       float64 `json:"failure_ratio"`
	DistinctClients    float64 `json:"distinct_clients"`
	DistinctServices   float64 `json:"distinct_services"`
	PreauthFailures    float64 `json:"preauth_failures"`
	PrincipalUnknown   float64 `json:"principal_unknown"`
	TGSShare           float64 `json:"tgs_share"`
	WeakCipherServices float64 `json:"weak_cipher_services"`
}

// APIScore is `siemscore.api.*`: the rhythm and volume of this principal calling this API.
type APIScore struct {
	Status      string   `json:"status,omitempty"`
	Automated   OptBool  `json:"automated,omitzero"`
	Periodicity OptFloat `json:"periodicity,omitzero"`
	BestLag     OptInt   `json:"best_lag,omitzero"`
	DayCount    OptInt   `json:"day_count,omitzero"`
	Expected    OptFloat `json:"expected,omitzero"`
	VolumeZ     OptFloat `json:"volume_z,omitzero"`
	ScoreNorm   OptFloat `json:"score_norm,omitzero"`
	Severity    string   `json:"severity,omitempty"`
	Reasons     []string `json:"reasons,omitempty"`
}

// Severity bands of a 0–100 score, the bands Kibana uses for Elastic ML record scores.
const (
	SeverityCritical = "critical" // >= 75
	SeverityMajor    = "major"    // >= 50
	SeverityMinor    = "minor"    // >= 25
	SeverityWarning  = "warning"  // >= 3
	SeverityLow      = "low"      // < 3
)

// SeverityBand maps a 0–100 score to its band.
func SeverityBand(scoreNorm float64) string {
	switch {
	case scoreNorm >= 75:
		return SeverityCritical
	case scoreNorm >= 50:
		return SeverityMajor
	case scoreNorm >= 25:
		return SeverityMinor
	case scoreNorm >= 3:
		return SeverityWarning
	default:
		return SeverityLow
	}
}
