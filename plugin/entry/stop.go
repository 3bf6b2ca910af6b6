package entry

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/siemscore/siemscore/plugin/safe"
)

// stopSignals are the signals Fluent Bit stops on (fluent-bit.c, flb_signal_init).
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}

// signals is how the plugin watches the stop signals; tests replace it.
type signals struct {
	notify func(c chan<- os.Signal, sig ...os.Signal)
	stop   func(c chan<- os.Signal)
	// pass hands a signal on to Fluent Bit: its own handler back in place, raised again.
	pass func(sig os.Signal) error
}

var osSignals = signals{
	notify: signal.Notify,
	stop:   signal.Stop,
	pass: func(sig os.Signal) error {
		signal.Reset(stopSignals...)
		return syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	},
}

// stopWatch learns that Fluent Bit is stopping, so that deliveries hanging on Elasticsearch are
// cut after shutdown_grace. Exit cannot do it alone: Fluent Bit joins the worker thread a flush
// runs on before it calls Exit (flb_output_thread_pool_destroy), and a flush without workers
// holds the engine thread itself, so a hung flush would delay the stop by es_retry_budget +
// es_timeout. Each stop signal is passed on to Fluent Bit at once: the plugin's handler is
// removed, Fluent Bit's own (installed before the plugin was loaded) is back, and the signal is
// raised again, so Fluent Bit stops exactly as it would without the plugin.
type stopWatch struct {
	sigs chan os.Signal
	quit chan struct{}
	done chan struct{}
}

// watchStop starts the watch when the first instance starts. Callers hold p.mu.
func (p *Plugin) watchStop() {
	if p.watch != nil {
		return
	}
	w := &stopWatch{sigs: make(chan os.Signal, 1), quit: make(chan struct{}), done: make(chan struct{})}
	p.watch = w
	p.signals.notify(w.sigs, stopSignals...)
	safe.Go(p.log, "stop-signal watcher", func() {
		defer close(w.done)
		select {
		case <-w.quit:
			p.signals.stop(w.sigs)
		case sig := <-w.sigs:
			p.signals.stop(w.sigs)
			if err := p.signals.pass(sig); err != nil {
				p.log.Error("could not pass the stop signal on to Fluent Bit", "signal", sig.String(), "error", err)
			}
			p.stopping(sig)
		}
	})
}

// stopping tells every instance that Fluent Bit is stopping.
func (p *Plugin) stopping(sig os.Signal) {
	p.mu.Lock()
	live := make([]*running, 0, len(p.instances))
	for _, r := range p.instances {
		live = append(live, r)
	}
	p.mu.Unlock()
	p.log.Info("Fluent Bit is stopping; deliveries still running after shutdown_grace will be cancelled and retried after the restart", "signal", sig.String())
	for _, r := range live {
		_ = safe.Do(r.log, "stop of an instance", r.inst.Stopping)
	}
}

// unwatchStop ends the watch once the last instance has exited (Fluent Bit's own handlers are
// back then). Callers must not hold p.mu: the watch may be taking it.
func (p *Plugin) unwatchStop(w *stopWatch) {
	if w == nil {
		return
	}
	close(w.quit)
	<-w.done
}
