package processors_test

import (
	"testing"

	"github.com/siemscore/siemscore/processors"
	"github.com/siemscore/siemscore/processors/ecs"
	"github.com/siemscore/siemscore/processors/geoip"
	"github.com/siemscore/siemscore/processors/geoip/geoiptest"
)

// TestConsoleLoginAsTheIntegration runs the input of Elastic's CloudTrail pipeline test for a
// ConsoleLogin (test-console-login-json.log) with the geo and ASN test databases, and compares
// the enriched fields with that test's expected output: source.geo, source.as, user_agent.*,
// related.user. (The integration writes Firefox's version as "24.0.", see processors/useragent.)
func TestConsoleLoginAsTheIntegration(t *testing.T) {
	dir := t.TempDir()
	db, err := geoip.Open(geoip.Config{CityDB: geoiptest.WriteCity(t, dir), ASNDB: geoiptest.WriteASN(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	p := newProc(t, processors.Options{Geo: geoip.NewEnricher(db)})
	in := `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/JohnDoe","accountId":"111122223333","userName":"JohnDoe"},
	"eventTime":"2014-07-16T15:49:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-2","sourceIPAddress":"89.160.20.156",
	"userAgent":"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},
	"additionalEventData":{"MobileVersion":"No","LoginTo":"https://console.aws.amazon.com/s3/","MFAUsed":"No"},"eventID":"3fcfb182-98f8-4744-bd45-10aEXAMPLE"}`
	d := process(t, p, body(t, in))[0].Doc
	wantGeo := ecs.Geo{CityName: "Linköping", ContinentName: "Europe", CountryISOCode: "SE", CountryName: "Sweden",
		RegionISOCode: "SE-E", RegionName: "Östergötland County", Location: &ecs.GeoPoint{Lat: 58.4167, Lon: 15.6167}}
	if g := d.Source.Geo; g == nil || *g.Location != *wantGeo.Location {
		t.Fatalf("source.geo = %+v", g)
	}
	g := *d.Source.Geo
	g.Location, wantGeo.Location = nil, nil
	if g != wantGeo {
		t.Errorf("source.geo = %+v\nwant         %+v", g, wantGeo)
	}
	if d.Source.AS == nil || *d.Source.AS != (ecs.AS{Number: 29518, Organization: ecs.ASOrg{Name: "Bredband2 AB"}}) {
		t.Errorf("source.as = %+v", d.Source.AS)
	}
	wantUA := ecs.UserAgent{Original: "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0", Name: "Firefox", Version: "24.0",
		OS: ecs.UserAgentOS{Name: "Windows", Version: "7", Full: "Windows 7"}, Device: ecs.UserAgentDevice{Name: "Other"}}
	if *d.UserAgent != wantUA {
		t.Errorf("user_agent = %+v", d.UserAgent)
	}
	if len(d.Related.User) != 1 || d.Related.User[0] != "JohnDoe" || d.Event.Outcome != "success" || d.Event.Category[0] != "authentication" {
		t.Errorf("related %+v event %+v", d.Related, d.Event)
	}
}
