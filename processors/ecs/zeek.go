package ecs

// Zeek holds the `zeek.*` fields, named as Elastic's Zeek integration names them.
type Zeek struct {
	SessionID string        `json:"session_id,omitempty"`
	Kerberos  *ZeekKerberos `json:"kerberos,omitempty"`
}

// ZeekKerberos is `zeek.kerberos.*`, one row of Zeek's kerberos.log.
type ZeekKerberos struct {
	RequestType string             `json:"request_type,omitempty"`
	Client      string             `json:"client,omitempty"`
	Service     string             `json:"service,omitempty"`
	Success     OptBool            `json:"success,omitzero"`
	Error       ZeekKerberosError  `json:"error,omitzero"`
	Cipher      string             `json:"cipher,omitempty"`
	Forwardable OptBool            `json:"forwardable,omitzero"`
	Renewable   OptBool            `json:"renewable,omitzero"`
	Valid       ZeekKerberosValid  `json:"valid,omitzero"`
	Cert        ZeekKerberosCerts  `json:"cert,omitzero"`
	Ticket      ZeekKerberosTicket `json:"ticket,omitzero"`
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

// ZeekKerberosCerts are the PKINIT certificates of the exchange.
type ZeekKerberosCerts struct {
	Client ZeekKerberosCert `json:"client,omitzero"`
	Server ZeekKerberosCert `json:"server,omitzero"`
}

// ZeekKerberosCert is one PKINIT certificate: its subject and Zeek's file ID for it.
type ZeekKerberosCert struct {
	Subject string `json:"subject,omitempty"`
	FUID    string `json:"fuid,omitempty"`
}

// ZeekKerberosTicket holds the ticket hashes Zeek's ticket-logging policy adds.
type ZeekKerberosTicket struct {
	Auth string `json:"auth,omitempty"`
	New  string `json:"new,omitempty"`
}
