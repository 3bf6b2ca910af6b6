// Command siemscore trains the models, scores records offline, runs the self-contained demo and
// manages the Kibana and alerting artifacts. See README.md in this directory.
//
// Exit codes: 0 success, 1 failure, 2 usage error (a bad flag or argument), 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// app is what the commands talk to: the process's streams and environment, replaced by tests.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes the command line args and returns the exit code. Errors go to stderr.
func run(ctx context.Context, args []string, a *app) int {
	root := a.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(a.stderr, "siemscore: %v\n", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", ue.cmd)
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailure
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "siemscore",
		Short: "Score CloudTrail, Zeek Kerberos and GuardDuty records with siemscore's models",
		Long: `siemscore trains the anomaly models (IP, Kerberos hosts, API periodicity) into a model
bundle, scores records offline with it exactly as the Fluent Bit plugin does, runs a complete
demonstration on generated data, and installs the Kibana and alerting artifacts.

Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{cmd: cmd.CommandPath(), err: err} })
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(a.trainCmd(), a.scoreCmd(), a.demoCmd(), a.assetsCmd(), a.trainerCmd(), a.deadletterCmd(), a.versionCmd())
	return root
}

// usageError is a mistake on the command line: the exit code is exitUsage.
type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageArgs makes an argument validator's complaints usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{cmd: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// usagef reports a bad flag value or argument combination found after parsing.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return usageError{cmd: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}
