package template

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/siemscore/siemscore/elastic/estest"
	"github.com/siemscore/siemscore/elastic/target"
)

func put(t *testing.T, url, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %v %v", path, res, err)
	}
	res.Body.Close()
}

func del(t *testing.T, url, path string) {
	req, _ := http.NewRequest(http.MethodDelete, url+path, nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
}

// TestIntegrationLandingTemplates: the score fields are merged into each dataset's @custom
// component template without touching what else it holds, Elastic's template is left alone
// and gets no stand-in, a dataset without one gets siemscore's stand-in below Fleet's
// priority, and a second installation writes nothing.
func TestIntegrationLandingTemplates(t *testing.T) {
	url := estest.URL(t)
	cl := newClient(t, url)
	cfg := isolatedConfig(t)
	tag := strings.TrimPrefix(cfg.Name, "sstest-")
	withElastic, without := "sstest"+tag+".one", "sstest"+tag+".two"
	cfg.Landing, cfg.Integrations = target.LandingIntegration, []string{withElastic, without}
	// What a user and Fleet have put there before.
	put(t, url, "/_component_template/"+CustomFor(withElastic),
		`{"template":{"settings":{"index.refresh_interval":"5s"},"mappings":{"properties":{"team":{"type":"keyword"},"event":{"properties":{"reason":{"type":"keyword"}}}}}},"_meta":{"managed_by":"fleet","package":{"name":"aws"}}}`)
	put(t, url, "/_index_template/"+ElasticTemplate(withElastic),
		`{"index_patterns":["`+target.IntegrationPattern(withElastic)+`"],"priority":200,"data_stream":{},"composed_of":["`+CustomFor(withElastic)+`"],"_meta":{"managed_by":"fleet"}}`)
	t.Cleanup(func() {
		for _, p := range []string{"/_index_template/" + ElasticTemplate(withElastic), "/_index_template/" + cfg.StandIn(without),
			"/_index_template/" + cfg.StandIn(withElastic), "/_component_template/" + CustomFor(withElastic), "/_component_template/" + CustomFor(without)} {
			del(t, url, p)
		}
	})

	res, err := Install(context.Background(), cl, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{CustomFor(withElastic), CustomFor(without), cfg.StandIn(without)} {
		if !slices.Contains(res.Written, want) {
			t.Errorf("%s not written: %+v", want, res)
		}
	}
	if slices.Contains(res.Written, cfg.StandIn(withElastic)) || !slices.Equal(res.Elastic, []string{ElasticTemplate(withElastic)}) {
		t.Errorf("Elastic's template must be left to map its dataset: %+v", res)
	}

	var comp struct {
		ComponentTemplates []struct {
			ComponentTemplate struct {
				Template struct {
					Settings map[string]any `json:"settings"`
					Mappings struct {
						Properties map[string]map[string]any `json:"properties"`
					} `json:"mappings"`
				} `json:"template"`
				Meta map[string]any `json:"_meta"`
			} `json:"component_template"`
		} `json:"component_templates"`
	}
	getJSON(t, url, "/_component_template/"+CustomFor(withElastic), &comp)
	ct := comp.ComponentTemplates[0].ComponentTemplate
	props := ct.Template.Mappings.Properties
	event, _ := props["event"]["properties"].(map[string]any)
	if props["team"]["type"] != "keyword" || event["reason"] == nil || ct.Template.Settings["index"] == nil || ct.Meta["managed_by"] != "fleet" {
		t.Errorf("what was there is gone: %+v", ct)
	}
	if props["siemscore"] == nil || event["risk_score_norm"] == nil || ct.Meta["siemscore"] == nil {
		t.Errorf("score fields not merged in: %+v", ct)
	}

	var tmpl struct {
		IndexTemplates []struct {
			IndexTemplate struct {
				Priority   int      `json:"priority"`
				ComposedOf []string `json:"composed_of"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	getJSON(t, url, "/_index_template/"+cfg.StandIn(without), &tmpl)
	if it := tmpl.IndexTemplates[0].IndexTemplate; it.Priority != IntegrationPriority || !slices.Equal(it.ComposedOf, []string{CustomFor(without)}) {
		t.Errorf("stand-in: %+v", it)
	}

	res, err = Install(context.Background(), cl, cfg, nil)
	if err != nil || len(res.Written) != 0 {
		t.Errorf("second install wrote %v (%v)", res.Written, err)
	}
}
