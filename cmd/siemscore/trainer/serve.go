package trainer

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/siemscore/siemscore/plugin/companion/shared"
)

// parentCheck is how often a companion checks that the plugin that started it is alive.
const parentCheck = time.Second

// Serve runs svc as the plugin's companion until the plugin stops it: it answers the go-plugin
// handshake (AutoMTLS when the plugin asks for it), serves shared.Models over net/rpc, and
// returns once the plugin closed the connection and svc's loop has stopped.
//
// go-plugin ends a companion that its host closes cleanly; one whose host died without closing
// (Fluent Bit killed with SIGKILL) would run on, orphaned, so Serve also exits when its parent
// process changes.
func Serve(svc *Service, log hclog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	go watchParent(ctx, log, cancel)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins:         shared.Plugins(svc),
		Logger:          log.Named("go-plugin"),
	})
	cancel()
	<-done
}

// watchParent exits the process when the parent that started it is gone.
func watchParent(ctx context.Context, log hclog.Logger, cancel context.CancelFunc) {
	parent := os.Getppid()
	t := time.NewTicker(parentCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if os.Getppid() != parent {
			log.Warn("the plugin that started this companion is gone; exiting", "parent", parent)
			cancel()
			os.Exit(0)
		}
	}
}
