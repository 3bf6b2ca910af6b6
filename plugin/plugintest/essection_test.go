package plugintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/plugin/flbtest"
	"github.com/siemscore/siemscore/plugin/plugintest"
)

// TestESSectionUnderSiemscore runs the real Fluent Bit with an [OUTPUT] section of its es
// output, copied as it is under Name siemscore: HTTP_User, HTTP_Passwd and Index are read as
// es_user, es_password and es_index, so it starts and delivers. Host and Port are read by the
// core and never reach the plugin; es_hosts says where Elasticsearch is, and without it the
// plugin says so when it starts. `tls On` is refused by the core, with the message the README
// explains.
func TestESSectionUnderSiemscore(t *testing.T) {
	bin := flbtest.RequireFluentBit(t)
	so := plugin(t)
	db := newES(t)
	u, err := url.Parse(db.url)
	if err != nil {
		t.Fatal(err)
	}
	ns := estest.Namespace(t)
	index := "logs-siemscore.essection-" + ns
	t.Cleanup(func() { estest.DeleteDataStream(t, index) })

	dir := t.TempDir()
	const n = 25
	var lines strings.Builder
	for i := range n {
		ev, err := json.Marshal(plugintest.CloudTrail(i))
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(ev)
		lines.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "trail.json"), []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	input := fmt.Sprintf(`[SERVICE]
    Flush         0.2
    Log_Level     info

[INPUT]
    Name            tail
    Path            %s
    Read_from_Head  On
    DB              {{dir}}/tail.db
`, filepath.Join(dir, "trail.json"))
	esSection := fmt.Sprintf(`
[OUTPUT]
    Name         siemscore
    Match        *
    Host         %s
    Port         %s
    HTTP_User    fluent
    HTTP_Passwd  ${ES_PASSWORD}
    Index        %s
    Retry_Limit  no_limits
`, u.Hostname(), u.Port(), index)

	fb, err := flbtest.StartFluentBit(flbtest.FluentBitConfig{Binary: bin, Plugins: []string{so}, Env: []string{"ES_PASSWORD=not-checked-here"},
		Config: input + esSection + "    es_hosts     " + db.url + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	count := func() (int, error) {
		var c struct {
			Count int `json:"count"`
		}
		db.call("POST", "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "", nil)
		db.call("GET", "/"+index+"/_count?ignore_unavailable=true&allow_no_indices=true", "", &c)
		return c.Count, nil
	}
	if err := fb.WaitRecords(ctx, n, count); err != nil {
		t.Fatal(err)
	}
	if err := fb.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	logs := fb.Logs()
	if !strings.Contains(logs, "auth=\"basic user=fluent\"") || !strings.Contains(logs, "target="+index) || strings.Contains(logs, "es_hosts is not set") {
		t.Errorf("the es names must configure the plugin, and es_hosts was set:\n%s", logs)
	}

	// Without es_hosts, the section's Host and Port do not reach the plugin: it says so.
	fb2, err := flbtest.StartFluentBit(flbtest.FluentBitConfig{Binary: bin, Plugins: []string{so}, Env: []string{"ES_PASSWORD=x"},
		Config: input + esSection + "    es_retry_budget  0\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer fb2.Remove()
	said := func() (bool, error) { return strings.Contains(fb2.Logs(), "es_hosts is not set"), nil }
	if err := fb2.WaitFor(ctx, 20*time.Millisecond, said); err != nil {
		t.Fatal(err)
	}
	if logs := fb2.Logs(); !strings.Contains(logs, "Fluent Bit keeps Host, Port and tls* for its core") {
		t.Errorf("the warning must name the keys:\n%s", logs)
	}
	fb2.Stop(30 * time.Second)

	// tls On fails in the core before the plugin is called; the README gives this message.
	fb3, err := flbtest.StartFluentBit(flbtest.FluentBitConfig{Binary: bin, Plugins: []string{so}, Env: []string{"ES_PASSWORD=x"},
		Config: input + esSection + "    tls          On\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer fb3.Remove()
	err = fb3.WaitFor(ctx, 20*time.Millisecond, func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "does not support TLS") {
		t.Errorf("tls On: %v", err)
	}
}
