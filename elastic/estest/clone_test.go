package estest

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A clone may sit in a folder that only its owner may enter: a `mktemp -d` folder, or /root,
// where root's es.sh must still run the server as an unprivileged user. A copy of es.sh in
// such a folder must start its own server and stop only that one, while this clone's server,
// which tests in other packages are using meanwhile, keeps answering.
func TestServerStartsFromAPrivateFolder(t *testing.T) {
	if u := externalURL(); u != "" {
		t.Skipf("estest: %s=%s: the copy would need the local server installed, which es.sh never did here", envURL, u)
	}
	// Holding this clone's server keeps other packages' outage tests from stopping it, so it
	// must answer throughout; the copy reuses the install it was started from.
	main := URL(t)

	// As `mktemp -d` makes it.
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(private, "siemscore", filepath.FromSlash(harnessDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := localHarness(t)
	for _, name := range []string{"es.sh", "pom.xml"} {
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copied := harness{dir: dir}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == envURL || name == "ES_PORT"
	})
	env = append(env, "ES_HEAP=256m")
	es := func(verb string) string {
		t.Helper()
		cmd := exec.Command(copied.script(), verb)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("copy's es.sh %s: %s", verb, strings.TrimSpace(stderr.String()))
		if err != nil {
			t.Fatalf("copy's es.sh %s: %v", verb, err)
		}
		return strings.TrimSpace(string(out))
	}
	var node string
	t.Cleanup(func() {
		es("clean")
		if _, err := os.Lstat(node); node != "" && err == nil {
			t.Errorf("es.sh clean left the copy's server directory %s behind", node)
		}
	})

	u := es("start")
	node, _ = os.Readlink(filepath.Join(copied.run(), "server"))
	if node == "" || strings.HasPrefix(node, private) {
		t.Errorf("the copy's server directory is %q, want a link to a folder outside the private one", node)
	}
	if err := ping(u); err != nil {
		t.Fatalf("the copy's server at %s: %v", u, err)
	}
	if u == main || nodeID(t, u) == nodeID(t, main) {
		t.Fatalf("the copy's es.sh answered with this clone's server (%s): each clone must run its own", main)
	}
	if _, err := os.Stat(filepath.Join(copied.run(), "maven.log")); err == nil {
		t.Error("the copy fetched Elasticsearch again instead of reusing the installed one")
	}

	es("stop")
	hc := http.Client{Timeout: 10 * time.Second}
	if res, err := hc.Get(u + "/_cluster/health"); err == nil {
		res.Body.Close()
		t.Errorf("the copy's server at %s still answers after its es.sh stop", u)
	}
	if err := ping(main); err != nil {
		t.Fatalf("this clone's server at %s stopped answering when the copy's stopped: %v", main, err)
	}
}

// nodeID returns the id of the single node at u, which Elasticsearch keeps in its data
// directory: two servers sharing one would have the same.
func nodeID(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u + "/_nodes/_local?filter_path=nodes.*.name")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct {
		Nodes map[string]json.RawMessage `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil || len(info.Nodes) != 1 {
		t.Fatalf("nodes info of %s: %d nodes, %v", u, len(info.Nodes), err)
	}
	for id := range info.Nodes {
		return id
	}
	return ""
}
