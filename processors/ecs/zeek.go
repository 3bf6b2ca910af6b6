package ecs

// Zeek holds the `zeek.*` fields, named as Elastic's Zeek integration names them.
type Zeek struct {
	SessionID string        `json:"session_id,omitempty"`
	Kerberos  *ZeekKerberos `json:"kerberos,omitempty"`
}

// ZeekKerberos is `zeek.kerberos.*`, one row of Zeek's kerberos.log.
type ZeekKerberos struct {
	RequestType string            `json:"request_type,omitempty"`
	Client      string            `json:"client,omitempty"`
	Service     string            `json:"service,omitempty"`
	Success     OptBool           `json:"success,omitzero"`
	Error       ZeekKerberosError `json:"error,omitzero"`
	Cipher      string            `json:"cipher,omitempty"`
	Forwardable OptBool           `json:"forwardable,omitzero"`
	Renewable   OptBool           `json:"renewable,omitzero"`
	Valid       ZeekKerberosValid `json:"valid,omitzero"`
}

// ZeekKerberosError is the KDC error a request failed with.
type ZeekKerberosError struct {
	Code OptInt `json:"code,omitzero"`
	Msg  string `json:"msg,omitempty"`
}

// ZeekKerberosValid is the validity window of the issued ticket.
type ZeekKerberosValid struct {
	From  OptTime `json:"from,omitzero"`
	Until OptTime `json:"until,omitzero"`
	Days  OptInt  `json:"days,omitzero"`
}
