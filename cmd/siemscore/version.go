package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3"; otherwise the
// module version and VCS stamp Go embeds in the binary are reported.
var version = ""

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of siemscore",
		Long:  "Print siemscore's version, the commit it was built from and the Go version that built it.",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, versionString())
			return err
		},
	}
}

func versionString() string {
	v, commit, goVersion := version, "", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v == "" {
			v = info.Main.Version
		}
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			commit = rev + dirty
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "siemscore " + v
	if commit != "" {
		out += " commit " + commit
	}
	if goVersion != "" {
		out += " " + goVersion
	}
	return out
}
