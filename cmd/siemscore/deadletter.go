package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siemscore/siemscore/elastic/deadletter"
	"github.com/siemscore/siemscore/elastic/deadletter/replay"
	"github.com/siemscore/siemscore/elastic/deliver"
	"github.com/siemscore/siemscore/elastic/target"
)

func (a *app) deadletterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "Work with the records the plugin dead-lettered",
		Long: `The plugin dead-letters a record Elasticsearch refuses for a reason of the record's own (a
mapping conflict, a value that cannot be parsed) into the dead-letter data stream
(logs-siemscore.deadletter-<namespace>), and a record too large for any request into the
dead-letter files of dead_letter_path, always whole and with the reason. Once the cause is fixed,
replay writes them again.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.replayCmd())
	return cmd
}

func (a *app) replayCmd() *cobra.Command {
	var (
		conn      esConnection
		files     []string
		index, ns string
		batch     int
	)
	cmd := &cobra.Command{
		Use:   "replay [flags]",
		Short: "Write dead-lettered records again, each once",
		Long: `replay reads dead letters from the dead-letter data stream (the default) or from dead-letter
files (--file, a file or a directory, repeatable) and writes each record again to the index or
data stream it was meant for, under its own _id, exactly as it was first sent. Run it after the
cause is fixed (the mapping corrected, the size limit raised).

Each record is written once: a record already in its target (replayed before, or written in
between) is found and counted, not written again, so replaying twice creates no duplicate. A
record refused again is counted with the reason and stays in the dead letter. Dead letters of
input that never became a record (bytes that are not a log event) cannot be replayed and are
counted apart. The dead letters themselves are left in place.

It prints the counts on stdout. Exit code 1 when a record was refused again or could not be
written (Elasticsearch unreachable or refusing writes: run it again once that is fixed).`,
		Example: `  siemscore deadletter replay --es-url https://es:9200 --namespace prod
  siemscore deadletter replay --file /var/lib/fluent-bit/siemscore-deadletter`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 {
				return usagef(cmd, "--batch must be positive")
			}
			if err := target.ValidateNamespace(ns); err != nil {
				return usagef(cmd, "--namespace: %v", err)
			}
			es, err := conn.client(a, nil)
			if err != nil {
				return err
			}
			defer es.Close(context.Background())
			cfg := deliver.DefaultConfig()
			cfg.Namespace, cfg.Templates.Enabled = ns, false
			d, err := deliver.New(es, cfg, nil)
			if err != nil {
				return err
			}
			defer d.Close(context.Background())
			source := index
			if source == "" {
				source = target.DeadLetter(ns)
			}
			read := func(fn func(deadletter.Entry) error) error {
				return deadletter.ReadIndex(cmd.Context(), es, source, fn)
			}
			if len(files) > 0 {
				source = strings.Join(files, ", ")
				read = func(fn func(deadletter.Entry) error) error {
					for _, f := range files {
						if err := deadletter.ReadPath(f, fn); err != nil {
							return err
						}
					}
					return nil
				}
			}
			c, err := replay.Replayer{ES: es, Deliver: d, Batch: batch}.Run(cmd.Context(), read)
			fmt.Fprintf(a.stdout, "read %d dead letters from %s: %d written, %d already there, %d refused again (left in the dead letter), %d not records (undecodable input), %d unreadable\n",
				c.Read, source, c.Written, c.AlreadyThere, c.Refused, c.NotRecords, c.Unreadable)
			for _, p := range c.Problems {
				fmt.Fprintf(a.stderr, "  %s\n", p)
			}
			switch {
			case err != nil:
				return err
			case c.Refused > 0:
				return fmt.Errorf("%d records were refused again; fix the cause and replay again", c.Refused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	conn.register(f)
	f.StringArrayVar(&files, "file", nil, "dead-letter file, or directory of them (dead_letter_path), to replay instead of the data stream (repeatable)")
	f.StringVar(&ns, "namespace", target.DefaultNamespace, "data stream namespace (es_namespace) whose dead-letter data stream is read")
	f.StringVar(&index, "index", "", "dead-letter index or data stream to read (es_dead_letter_index; default logs-siemscore.deadletter-<namespace>)")
	f.IntVar(&batch, "batch", 500, "records per bulk request")
	return cmd
}
