package ecs

// AWS holds the `aws.*` fields, named as Elastic's AWS integration names them so that its
// dashboards and detection rules also work on siemscore's documents.
type AWS struct {
	CloudTrail *CloudTrail `json:"cloudtrail,omitempty"`
	GuardDuty  *GuardDuty  `json:"guardduty,omitempty"`
}

// CloudTrail is `aws.cloudtrail.*`.
type CloudTrail struct {
	UserIdentity  UserIdentity `json:"user_identity,omitzero"`
	ErrorCode     string       `json:"error_code,omitempty"`
	ErrorMessage  string       `json:"error_message,omitempty"`
	RequestID     string       `json:"request_id,omitempty"`
	EventType     string       `json:"event_type,omitempty"`
	EventVersion  string       `json:"event_version,omitempty"`
	EventCategory string       `json:"event_category,omitempty"`
	// ManagementEvent and MFAAuthenticated are "true" or "false": keywords, as Elastic's
	// integration maps them, so the two kinds of documents can share a data view.
	ManagementEvent     string          `json:"management_event,omitempty"`
	ReadOnly            OptBool         `json:"read_only,omitzero"`
	RecipientAccountID  string          `json:"recipient_account_id,omitempty"`
	SharedEventID       string          `json:"shared_event_id,omitempty"`
	VPCEndpointID       string          `json:"vpc_endpoint_id,omitempty"`
	APIVersion          string          `json:"api_version,omitempty"`
	RequestParameters   string          `json:"request_parameters,omitempty"`
	ResponseElements    string          `json:"response_elements,omitempty"`
	AdditionalEventData string          `json:"additional_eventdata,omitempty"`
	ServiceEventDetails string          `json:"service_event_details,omitempty"`
	Flattened           CloudTrailFlat  `json:"flattened,omitzero"`
	Resources           []CloudResource `json:"resources,omitempty"`
}

// UserIdentity is `aws.cloudtrail.user_identity.*`.
type UserIdentity struct {
	Type           string         `json:"type,omitempty"`
	ARN            string         `json:"arn,omitempty"`
	AccessKeyID    string         `json:"access_key_id,omitempty"`
	InvokedBy      string         `json:"invoked_by,omitempty"`
	SessionContext SessionContext `json:"session_context,omitzero"`
}

// SessionContext is `aws.cloudtrail.user_identity.session_context.*`.
type SessionContext struct {
	MFAAuthenticated string        `json:"mfa_authenticated,omitempty"`
	CreationDate     OptTime       `json:"creation_date,omitzero"`
	SessionIssuer    SessionIssuer `json:"session_issuer,omitzero"`
}

// SessionIssuer is the role or user that issued temporary credentials.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
}

// CloudTrailFlat keeps the free-form CloudTrail objects as `flattened` fields, so that any leaf
// is searchable without a mapping explosion. Each is the object's JSON, rendered by the parser.
type CloudTrailFlat struct {
	RequestParameters   RawJSON `json:"request_parameters,omitempty"`
	ResponseElements    RawJSON `json:"response_elements,omitempty"`
	AdditionalEventData RawJSON `json:"additional_eventdata,omitempty"`
	ServiceEventDetails RawJSON `json:"service_event_details,omitempty"`
	// InsightDetails is what a CloudTrail Insights event found (state, the API and its rates).
	InsightDetails RawJSON `json:"insight_details,omitempty"`
}

// CloudResource is one entry of CloudTrail's `resources`.
type CloudResource struct {
	ARN       string `json:"arn,omitempty"`
	Type      string `json:"type,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// GuardDuty is `aws.guardduty.*`.
type GuardDuty struct {
	ID            string            `json:"id,omitempty"`
	ARN           string            `json:"arn,omitempty"`
	Type          string            `json:"type,omitempty"`
	Title         string            `json:"title,omitempty"`
	Description   string            `json:"description,omitempty"`
	AccountID     string            `json:"account_id,omitempty"`
	Region        string            `json:"region,omitempty"`
	Partition     string            `json:"partition,omitempty"`
	SchemaVersion string            `json:"schema_version,omitempty"`
	CreatedAt     OptTime           `json:"created_at,omitzero"`
	UpdatedAt     OptTime           `json:"updated_at,omitzero"`
	Confidence    OptFloat          `json:"confidence,omitzero"`
	Severity      GuardDutySeverity `json:"severity,omitzero"`
	Resource      GuardDutyResource `json:"resource,omitzero"`
	Service       GuardDutyService  `json:"service,omitzero"`
}

// GuardDutySeverity keeps the finding's own severity: the number and its band.
type GuardDutySeverity struct {
	Code  OptFloat `json:"code,omitzero"`
	Value string   `json:"value,omitempty"`
}

// The GuardDuty field names below are those of Elastic's GuardDuty integration
// (aws.guardduty.resource.instance_details.instance.id, ...access_key_details.accesskey_id,
// aws.guardduty.service.action.type, ...), so its dashboards find them.

// GuardDutyResource is the affected resource of a finding.
type GuardDutyResource struct {
	Type             string           `json:"type,omitempty"`
	AccessKeyDetails AccessKeyDetails `json:"access_key_details,omitzero"`
	InstanceDetails  InstanceDetails  `json:"instance_details,omitzero"`
}

// InstanceDetails identifies the EC2 instance a finding is about.
type InstanceDetails struct {
	Instance Instance `json:"instance,omitzero"`
}

// Instance is an EC2 instance.
type Instance struct {
	ID string `json:"id,omitempty"`
}

// AccessKeyDetails identifies the AWS principal a finding is about.
type AccessKeyDetails struct {
	AccessKeyID string        `json:"accesskey_id,omitempty"`
	PrincipalID string        `json:"principal_id,omitempty"`
	User        AccessKeyUser `json:"user,omitzero"`
}

// AccessKeyUser is the principal's name and type (IAMUser, AssumedRole, Root, ...).
type AccessKeyUser struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// GuardDutyService is the detection context of a finding.
type GuardDutyService struct {
	Action       GuardDutyAction `json:"action,omitzero"`
	ServiceName  string          `json:"service_name,omitempty"`
	Count        OptInt          `json:"count,omitzero"`
	Event        GuardDutyEvent  `json:"event,omitzero"`
	Archived     OptBool         `json:"archived,omitzero"`
	DetectorID   string          `json:"detector_id,omitempty"`
	FeatureName  string          `json:"feature_name,omitempty"`
	ResourceRole string          `json:"resource_role,omitempty"`
}

// GuardDutyAction is what the finding saw happen: its type and, for API calls, the API.
type GuardDutyAction struct {
	Type             string           `json:"type,omitempty"`
	AWSAPICallAction AWSAPICallAction `json:"aws_api_call_action,omitzero"`
}

// AWSAPICallAction is the API call an AWS_API_CALL finding is about.
type AWSAPICallAction struct {
	API string `json:"api,omitempty"`
}

// GuardDutyEvent is when the activity behind the finding was first and last seen.
type GuardDutyEvent struct {
	FirstSeen OptTime `json:"first_seen,omitzero"`
	LastSeen  OptTime `json:"last_seen,omitzero"`
}
