// Package shared is the contract between the siemscore plugin (the host) and its companion
// trainer process: the go-plugin handshake, the Models interface the companion serves, and its
// net/rpc plumbing. Both sides import it, so a change here changes both at once; a change that
// old and new builds cannot both speak raises ProtocolVersion.
//
// # Why net/rpc
//
// go-plugin offers net/rpc and gRPC. Both ends are Go and ship from one repository, so gRPC's
// cross-language contract buys nothing, and net/rpc needs no generated code: the interface below
// is the protocol. Both run over go-plugin's multiplexed connection, and AutoMTLS (a fresh
// certificate pair per launch, exchanged through the environment and the handshake) secures
// either.
//
// # Getting new bundles
//
// The host long-polls: Poll blocks until the companion's state moves past the cursor the host
// holds (a new current bundle, a rejected one) or the wait runs out. A new bundle is then read
// in pieces of at most ReadLimit bytes, so no single RPC message holds a whole model, and its
// SHA-256 is checked against the announcement before the host decodes it.
package shared

import (
	"errors"
	"net/rpc"
	"time"

	"github.com/hashicorp/go-plugin"
)

// Handshake identifies the companion. The magic cookie only stops the binary from doing
// anything when run by hand; it is not a secret. ProtocolVersion is raised with every change to
// Models that an older build would misread.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SIEMSCORE_COMPANION",
	MagicCookieValue: "5f1d8c2e-model-bundles",
}

// Environment variables through which the plugin gives the companion its Elasticsearch
// connection: the command line of a process is visible to every user of the machine, its
// environment is not. They are the variables `siemscore assets install` reads.
const (
	EnvESURL      = "SIEMSCORE_ES_URL"
	EnvESAPIKey   = "SIEMSCORE_ES_API_KEY"
	EnvESUser     = "SIEMSCORE_ES_USER"
	EnvESPassword = "SIEMSCORE_ES_PASSWORD"
	// EnvBundleKey is the HMAC key bundles are signed and verified with, read by every siemscore
	// command that writes or reads bundles.
	EnvBundleKey = "SIEMSCORE_BUNDLE_KEY"
)

// The trainer's command line as the plugin writes it: the subcommand, then the flags through
// which the plugin's settings reach the companion (after the operator's companion_args, so that
// these win). The CLI registers its flags under these names.
const (
	TrainerCommand      = "trainer"
	FlagModelsIndex     = "models-index"
	FlagRetrainEvery    = "retrain-every"
	FlagESTimeout       = "es-timeout"
	FlagCacheDir        = "cache-dir"
	FlagCAFile          = "ca-file"
	FlagInsecure        = "insecure"
	FlagTLSSkipHostname = "tls-skip-hostname"
	// FlagCloudTrailIndex and FlagKerberosIndex name the data streams to train on; the plugin
	// passes them before companion_args (which may override them), matching es_data_streams.
	FlagCloudTrailIndex = "cloudtrail-index"
	FlagKerberosIndex   = "kerberos-index"
)

// PluginName is the name the Models implementation is dispensed under.
const PluginName = "models"

// ReadLimit bounds the bytes of one Read reply.
const ReadLimit = 4 << 20

// MaxWait bounds one Poll's wait, so a host notices a wedged connection within it.
const MaxWait = 5 * time.Minute

// Cursor is how far a host has followed a companion's state. Incarnation changes when the
// companion restarts (its sequence numbers start again).
type Cursor struct {
	Incarnation string
	Seq         uint64
}

// Announcement describes the companion's current bundle.
type Announcement struct {
	Version   string
	Size      int64
	SHA256    [32]byte
	TrainedAt time.Time
}

// Rejection is a bundle the companion refused to serve (a corrupt or invalid one found in the
// models index or the cache, or one it trained that failed validation).
type Rejection struct {
	Seq     uint64
	Version string
	Reason  string
}

// State is what Poll returns.
type State struct {
	Cursor Cursor
	// Current is the bundle being served; its Version is "" while there is none.
	Current Announcement
	// Rejections after the cursor the host sent (all of them kept, if the incarnation changed).
	Rejections []Rejection
}

// Models is what the companion serves.
type Models interface {
	// Poll returns the state once it has moved past after, or when wait (at most MaxWait) has
	// passed.
	Poll(after Cursor, wait time.Duration) (State, error)
	// Read returns up to limit (at most ReadLimit) bytes of the bundle of version, from offset.
	// It fails once the companion no longer serves that version.
	Read(version string, offset int64, limit int) ([]byte, error)
}

// ErrNotServed is the Read error for a version the companion does not serve (any more).
var ErrNotServed = errors.New("companion: version not served")

// Plugin is the go-plugin glue for Models. The companion sets Impl; the host leaves it nil.
type Plugin struct {
	Impl Models
}

// Server returns the RPC server of the companion's Models.
func (p *Plugin) Server(*plugin.MuxBroker) (any, error) {
	if p.Impl == nil {
		return nil, errors.New("companion: no Models implementation to serve")
	}
	return &RPCServer{impl: p.Impl}, nil
}

// Client returns the host's Models, which calls the companion.
func (*Plugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &rpcClient{c: c}, nil
}

// Plugins is the plugin set of both sides.
func Plugins(impl Models) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{PluginName: &Plugin{Impl: impl}}
}

// PollArgs and ReadArgs are the RPC arguments.
type (
	PollArgs struct {
		After Cursor
		Wait  time.Duration
	}
	ReadArgs struct {
		Version string
		Offset  int64
		Limit   int
	}
)

// RPCServer exposes Models over net/rpc (its methods follow net/rpc's conventions).
type RPCServer struct {
	impl Models
}

// Poll serves Models.Poll.
func (s *RPCServer) Poll(args PollArgs, reply *State) error {
	st, err := s.impl.Poll(args.After, min(args.Wait, MaxWait))
	*reply = st
	return err
}

// Read serves Models.Read.
func (s *RPCServer) Read(args ReadArgs, reply *[]byte) error {
	b, err := s.impl.Read(args.Version, args.Offset, min(args.Limit, ReadLimit))
	*reply = b
	return err
}

type rpcClient struct {
	c *rpc.Client
}

func (r *rpcClient) Poll(after Cursor, wait time.Duration) (State, error) {
	var st State
	err := r.c.Call("Plugin.Poll", PollArgs{After: after, Wait: wait}, &st)
	return st, err
}

func (r *rpcClient) Read(version string, offset int64, limit int) ([]byte, error) {
	var b []byte
	err := r.c.Call("Plugin.Read", ReadArgs{Version: version, Offset: offset, Limit: limit}, &b)
	return b, err
}
