package ecs

// AWS holds the `aws.*` fields, named as Elastic's AWS integration names them so that its
// dashboards and detection rules also work on siemscore's documents.
type AWS struct {
	CloudTrail *CloudTrail `json:"cloudtrail,omitempty"`
	GuardDuty  *GuardDuty  `json:"guardduty,omitempty"`
}

// CloudTrail is `aws.cloudtrail.*`.
type CloudTrail struct {
	UserIdentity        UserIdentity    `json:"user_identity,omitzero"`
	ErrorCode           string          `json:"error_code,omitempty"`
	ErrorMessage        string          `json:"error_message,omitempty"`
	RequestID           string          `json:"request_id,omitempty"`
	EventType           string          `json:"event_type,omitempty"`
	EventVersion        string          `json:"event_version,omitempty"`
	EventCategory       string          `json:"event_category,omitempty"`
	ManagementEvent     OptBool         `json:"management_event,omitzero"`
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
	MFAAuthenticated OptBool       `json:"mfa_authenticated,omitzero"`
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
// is searchable without a mapping explosion.
type CloudTrailFlat struct {
	RequestParameters   map[string]any `json:"request_parameters,omitempty"`
	ResponseElements    map[string]any `json:"response_elements,omitempty"`
	AdditionalEventData map[string]any `json:"additional_eventdata,omitempty"`
	ServiceEventDetails map[string]any `json:"service_event_details,omitempty"`
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

// GuardDutyResource is the affected resource of a finding.
type GuardDutyResource struct {
	Type             string           `json:"type,omitempty"`
	AccessKeyDetails AccessKeyDetails `json:"access_key_details,omitzero"`
	InstanceID       string           `json:"instance_id,omitempty"`
}

// AccessKeyDetails identifies the AWS principal a finding is about.
type AccessKeyDetails struct {
	AccessKeyID string `json:"access_key_id,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	UserType    string `json:"user_type,omitempty"`
}

// GuardDutyService is the detection context of a finding.
type GuardDutyService struct {
	ActionType     string  `json:"action_type,omitempty"`
	API            string  `json:"api,omitempty"`
	ServiceName    string  `json:"service_name,omitempty"`
	Count          OptInt  `json:"count,omitzero"`
	EventFirstSeen OptTime `json:"event_first_seen,omitzero"`
	EventLastSeen  OptTime `json:"event_last_seen,omitzero"`
	Archived       OptBool `json:"archived,omitzero"`
	DetectorID     string  `json:"detector_id,omitempty"`
	FeatureName    string  `json:"feature_name,omitempty"`
	ResourceRole   string  `json:"resource_role,omitempty"`
}
