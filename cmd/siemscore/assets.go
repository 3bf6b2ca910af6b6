package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/siemscore/siemscore/elastic/assets"
	"github.com/siemscore/siemscore/elastic/esclient"
	"github.com/siemscore/siemscore/plugin/companion/shared"
)

// envKibanaURL names Kibana for the assets install command, beside the Elasticsearch variables
// the companion reads too (shared.EnvESURL and its credentials).
const envKibanaURL = "SIEMSCORE_KIBANA_URL"

func (a *app) assetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "List, print or install the Kibana dashboard, alerting rules and watches",
		Long: `assets handles siemscore's ready-made Elastic artifacts, embedded in the binary: the Kibana
data view and dashboard, a Kibana stack rule, Elastic Security detection rules, a Watcher
watch and an ElastAlert 2 rule.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.assetsListCmd(), a.assetsPrintCmd(), a.assetsInstallCmd())
	return cmd
}

func (a *app) assetsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the artifacts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tLICENCE\tDESCRIPTION")
			for _, art := range assets.List() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", art.Name, art.Kind, art.Target, art.Licence, art.Title)
			}
			return tw.Flush()
		},
	}
}

// lookupAll returns the artifacts named, or every artifact when none is.
func lookupAll(cmd *cobra.Command, names []string) ([]assets.Artifact, error) {
	if len(names) == 0 {
		return assets.List(), nil
	}
	arts := make([]assets.Artifact, 0, len(names))
	for _, n := range names {
		art, err := assets.Lookup(n)
		if err != nil {
			return nil, usagef(cmd, "%v", err)
		}
		arts = append(arts, art)
	}
	return arts, nil
}

func (a *app) assetsPrintCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "print [NAME...]",
		Short: "Print artifacts as their APIs take them, or write them to files",
		Long: `print writes the named artifacts (all of them when none is named) to stdout exactly as
their API or tool takes them: NDJSON for Kibana's saved-objects and detection-rules imports,
JSON for the alerting rule and the watch, YAML for ElastAlert 2. One artifact is printed as
is, ready to redirect to a file; several are each preceded by a "# name: ..." line. With
--dir each goes to its own file in that directory instead, which is created when absent.`,
		Example: "  siemscore assets print kibana-dashboard > siemscore-dashboard.ndjson\n  siemscore assets print --dir assets/",
		Args:    usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, names []string) error {
			arts, err := lookupAll(cmd, names)
			if err != nil {
				return err
			}
			if dir == "" {
				return assets.Print(a.stdout, arts...)
			}
			paths, err := assets.WriteFiles(dir, arts...)
			for _, p := range paths {
				fmt.Fprintln(a.stdout, p)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "write each artifact to <dir>/<its file name> instead of stdout (<dir> is created when absent)")
	return cmd
}

func (a *app) assetsInstallCmd() *cobra.Command {
	var (
		esURL, kibanaURL, apiKey, user, password, space, caFile string
		insecure                                                bool
		timeout                                                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "install [NAME...]",
		Short: "Install artifacts into Kibana and Elasticsearch",
		Long: `install puts the named artifacts (all of them when none is named) where they belong: the
data view, dashboard, stack rule and detection rules into Kibana, the watch into
Elasticsearch. Installing again updates what an earlier run installed. An artifact whose
target has no URL is skipped, as is the ElastAlert 2 rule (print it into ElastAlert's
rules_folder instead).

Credentials are Elasticsearch's (Kibana takes the same): an API key, or a user and password.
Prefer the environment variables to the flags, which other users of the machine can see:
` + shared.EnvESAPIKey + `, ` + shared.EnvESUser + `, ` + shared.EnvESPassword + `; the URLs may come from
` + shared.EnvESURL + ` and ` + envKibanaURL + `. Credentials are never printed.`,
		Example: "  SIEMSCORE_ES_API_KEY=... siemscore assets install --kibana-url https://kibana:5601 --es-url https://es:9200",
		Args:    usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, names []string) error {
			arts, err := lookupAll(cmd, names)
			if err != nil {
				return err
			}
			env := func(v *string, name string) {
				if *v == "" {
					*v = a.getenv(name)
				}
			}
			env(&esURL, shared.EnvESURL)
			env(&kibanaURL, envKibanaURL)
			env(&apiKey, shared.EnvESAPIKey)
			env(&user, shared.EnvESUser)
			env(&password, shared.EnvESPassword)
			if esURL == "" && kibanaURL == "" {
				return usagef(cmd, "nothing to install into: give --kibana-url and/or --es-url (or $%s, $%s)", envKibanaURL, shared.EnvESURL)
			}
			connect := func(hosts string) esclient.Config {
				c := esclient.DefaultConfig()
				c.Hosts = strings.Split(hosts, ",")
				c.APIKey, c.Username, c.Password = apiKey, user, password
				c.CAFile, c.TLSSkipVerify = caFile, insecure
				c.RequestTimeout = timeout
				return c
			}
			var in assets.Installer
			if esURL != "" {
				es, err := esclient.New(connect(esURL), nil)
				if err != nil {
					return usagef(cmd, "Elasticsearch: %v", err)
				}
				defer es.Close(cmd.Context())
				in.ES = es
			}
			if kibanaURL != "" {
				kb, err := assets.NewKibana(connect(kibanaURL), space, nil)
				if err != nil {
					return usagef(cmd, "Kibana: %v", err)
				}
				defer kb.Close(cmd.Context())
				in.Kibana = kb
			}
			results, err := in.Install(cmd.Context(), arts...)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			failed := 0
			for _, r := range results {
				detail := r.Detail
				if r.Err != nil {
					failed++
					detail = r.Err.Error()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Artifact.Name, r.Outcome, detail)
			}
			tw.Flush()
			if err != nil {
				return fmt.Errorf("%d of %d artifacts failed to install", failed, len(results))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&esURL, "es-url", "", "Elasticsearch URL(s), comma-separated (default $"+shared.EnvESURL+")")
	f.StringVar(&kibanaURL, "kibana-url", "", "Kibana URL, with its base path if any (default $"+envKibanaURL+")")
	f.StringVar(&apiKey, "api-key", "", "Elasticsearch API key, id:key or encoded (default $"+shared.EnvESAPIKey+")")
	f.StringVar(&user, "user", "", "user for basic authentication (default $"+shared.EnvESUser+")")
	f.StringVar(&password, "password", "", "password for --user (default $"+shared.EnvESPassword+")")
	f.StringVar(&space, "space", "", "Kibana space (default: the default space)")
	f.StringVar(&caFile, "ca-file", "", "PEM file of the certificate authorities to trust for https URLs")
	f.BoolVar(&insecure, "insecure", false, "do not verify TLS certificates (labs only)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "time limit of one request")
	return cmd
}
