package kerberos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Zeek's kerberos.log columns, in its own order (Zeek 5–7; the certificate columns are always
// unset here because the generated exchanges use passwords, not PKINIT).
var zeekFields = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "request_type", "client", "service",
	"success", "error_msg", "from", "till", "cipher", "forwardable", "renewable",
	"client_cert_subject", "client_cert_fuid", "server_cert_subject", "server_cert_fuid",
}

var zeekTypes = []string{
	"time", "string", "addr", "port", "addr", "port", "string", "string", "string",
	"bool", "string", "time", "time", "string", "bool", "bool",
	"string", "string", "string", "string",
}

// zeekJSON is one kerberos.log line as Zeek writes it with LogAscii::use_json=T: dotted field
// names, unset fields omitted.
type zeekJSON struct {
	TS          json.Number  `json:"ts"`
	UID         string       `json:"uid"`
	OrigH       string       `json:"id.orig_h"`
	OrigP       uint16       `json:"id.orig_p"`
	RespH       string       `json:"id.resp_h"`
	RespP       uint16       `json:"id.resp_p"`
	RequestType string       `json:"request_type"`
	Client      string       `json:"client,omitempty"`
	Service     string       `json:"service,omitempty"`
	Success     bool         `json:"success"`
	ErrorMsg    string       `json:"error_msg,omitempty"`
	Till        *json.Number `json:"till,omitempty"`
	Cipher      string       `json:"cipher,omitempty"`
	Forwardable *bool        `json:"forwardable,omitempty"`
	Renewable   *bool        `json:"renewable,omitempty"`
}

// WriteZeekJSON writes the records as JSON lines, as Zeek does with LogAscii::use_json=T.
func WriteZeekJSON(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	for i := range recs {
		r := &recs[i]
		line := zeekJSON{
			TS: zeekTime(r.Time), UID: r.UID, OrigH: r.Source.String(), OrigP: r.OrigPort,
			RespH: r.Dest.String(), RespP: r.RespPort, RequestType: r.RequestType, Client: r.Client,
			Service: r.Service, Success: r.Success, ErrorMsg: r.ErrorMsg, Cipher: r.Cipher,
		}
		if !r.Till.IsZero() {
			till := zeekTime(r.Till)
			line.Till = &till
		}
		if r.Cipher != "" {
			line.Forwardable, line.Renewable = &r.Forwardable, &r.Renewable
		}
		if err := enc.Encode(&line); err != nil {
			return fmt.Errorf("models/synth/kerberos: record %d: %w", i, err)
		}
	}
	return nil
}

func zeekTime(t time.Time) json.Number { return json.Number(appendZeekTime(nil, t)) }

// appendZeekTime writes seconds since the epoch with microseconds, as Zeek does.
func appendZeekTime(b []byte, t time.Time) []byte {
	return strconv.AppendFloat(b, float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

// WriteZeekTSV writes the records as Zeek's default tab-separated kerberos.log, with its
// header and footer.
func WriteZeekTSV(w io.Writer, recs []Record, opened time.Time) error {
	bw := bufio.NewWriter(w)
	const stamp = "2006-01-02-15-04-05"
	bw.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tkerberos\n")
	bw.WriteString("#open\t" + opened.UTC().Format(stamp) + "\n")
	bw.WriteString("#fields\t" + strings.Join(zeekFields, "\t") + "\n#types\t" + strings.Join(zeekTypes, "\t") + "\n")
	var b []byte
	last := opened
	for i := range recs {
		r := &recs[i]
		b = appendZeekTime(b[:0], r.Time)
		b = tsvString(b, r.UID)
		b = tsvString(b, r.Source.String())
		b = strconv.AppendUint(append(b, '\t'), uint64(r.OrigPort), 10)
		b = tsvString(b, r.Dest.String())
		b = strconv.AppendUint(append(b, '\t'), uint64(r.RespPort), 10)
		b = tsvString(b, r.RequestType)
		b = tsvString(b, r.Client)
		b = tsvString(b, r.Service)
		b = append(b, '\t', tsvBool(r.Success))
		b = tsvString(b, r.ErrorMsg)
		b = append(b, "\t-"...) // from
		if r.Till.IsZero() {
			b = append(b, "\t-"...)
		} else {
			b = appendZeekTime(append(b, '\t'), r.Till)
		}
		b = tsvString(b, r.Cipher)
		if r.Cipher == "" {
			b = append(b, "\t-\t-"...)
		} else {
			b = append(b, '\t', tsvBool(r.Forwardable), '\t', tsvBool(r.Renewable))
		}
		b = append(b, "\t-\t-\t-\t-\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		last = r.Time
	}
	bw.WriteString("#close\t" + last.UTC().Format(stamp) + "\n")
	return bw.Flush()
}

// tsvString writes a string column: "-" when unset. Generated values never contain tabs or
// newlines, which Zeek would escape as \x09 and \x0a.
func tsvString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "\t-"...)
	}
	return append(append(b, '\t'), s...)
}

func tsvBool(v bool) byte {
	if v {
		return 'T'
	}
	return 'F'
}
