package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wellFormed fails unless svg parses as XML with an <svg> root.
func wellFormed(t *testing.T, f Figure) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(f.SVG()))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("figure %s: SVG is not well-formed: %v", f.ID, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("figure %s: root element %q", f.ID, root)
	}
}

func TestHistogram(t *testing.T) {
	f, err := Histogram(HistogramSpec{
		ID: "h", Title: "scores", XLabel: "score_norm", Min: 0, Max: 100, Bins: 10,
		Classes: []Class{{Name: "normal", Values: []float64{0, 1, 2, 3}}, {Name: "planted", Values: []float64{90, 95, 250}}},
		Marks:   []Mark{{Label: "1% FPR: score_norm ≥ 48.0", X: 48}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, f)
	svg := string(f.SVG())
	for _, want := range []string{"normal (n=4)", "planted (n=3)", "1% FPR: score_norm ≥ 48.0", "scores", "sans-serif"} {
		if !strings.Contains(svg, want) {
			t.Errorf("histogram SVG lacks %q", want)
		}
	}
	if strings.HasPrefix(svg, "<?xml") {
		t.Error("the XML prolog is kept; it does not belong inside HTML")
	}
	for _, bad := range []HistogramSpec{{ID: "x", Min: 1, Max: 1, Bins: 5}, {ID: "y", Min: 0, Max: 1, Bins: 0}} {
		if _, err := Histogram(bad); err == nil {
			t.Errorf("spec %+v accepted", bad)
		}
	}
}

func TestScatterSeriesBars(t *testing.T) {
	sc, err := Scatter(ScatterSpec{
		ID: "s", Title: "hosts", XLabel: "servers", YLabel: "requests", LogY: true,
		Groups:     []Group{{Name: "cluster 0", Points: []Point{{1, 3}, {2, 5}}}, {Name: "cluster 1", Points: []Point{{3, 80}}}},
		Highlights: []Label{{Text: "spray", X: 3, Y: 80}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, sc)
	for _, want := range []string{"cluster 0 (2)", "cluster 1 (1)", "spray", "planted"} {
		if !strings.Contains(string(sc.SVG()), want) {
			t.Errorf("scatter SVG lacks %q", want)
		}
	}

	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	se, err := Series(SeriesSpec{
		ID: "t", Title: "role ListBuckets", YLabel: "calls",
		Lines: []Line{{Name: "calls", Times: []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2)}, Values: []float64{5, 5, 50}}},
		Marks: []TimeMark{{Label: "planted burst", T: day.AddDate(0, 0, 2)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, se)
	if !strings.Contains(string(se.SVG()), "planted burst") {
		t.Error("series SVG lacks its mark")
	}
	if _, err := Series(SeriesSpec{ID: "u", Lines: []Line{{Name: "x", Times: []time.Time{day}, Values: []float64{1, 2}}}}); err == nil {
		t.Error("a line with more values than times was accepted")
	}

	b, err := Bars(BarsSpec{
		ID: "b", Title: "acf", Categories: []string{"1", "2", "3"},
		Groups: []Class{{Name: "job", Values: []float64{0.9, -0.2, 0.1}}, {Name: "constant", Values: []float64{0, 0, 0}}},
		HLines: []float64{0.5, -0.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b)
	if _, err := Bars(BarsSpec{ID: "c", Categories: []string{"1"}, Groups: []Class{{Name: "x", Values: []float64{1, 2}}}}); err == nil {
		t.Error("a group with more values than categories was accepted")
	}
}

func TestWriteHTML(t *testing.T) {
	fig, err := Histogram(HistogramSpec{ID: "fig-1", Min: 0, Max: 1, Bins: 2, Classes: []Class{{Name: "a", Values: []float64{0.2}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{
		Title:   "demo <b>report</b>",
		Summary: []Fact{{Name: "AUC", Value: "0.96"}},
		Sections: []Section{{
			ID: "ip", Title: "IP", Text: "First paragraph.\n\nSecond & last.",
			Figures: []Figure{fig},
			Tables:  []Table{{Caption: "top", Header: []string{"ip", "score"}, Rows: [][]string{{"198.51.100.7", "<99>"}}}},
		}},
	}
	path := filepath.Join(t.TempDir(), "sub", "report.html")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"<title>demo &lt;b&gt;report&lt;/b&gt;</title>",
		`<section id="ip">`, `<a href="#ip">IP</a>`,
		"<p>First paragraph.</p>", "<p>Second &amp; last.</p>",
		"<dt>AUC</dt><dd>0.96</dd>",
		`<figure id="fig-1">`, "<svg",
		"<td>&lt;99&gt;</td>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Count(html, "<svg") != 1 {
		t.Errorf("%d inline SVGs, want 1", strings.Count(html, "<svg"))
	}
}

// The bars are shares of their class, whatever the bin width, and values outside the range
// fall in the end bins.
func TestHistogramShares(t *testing.T) {
	h, err := classHistogram([]float64{10, 30, 30, 80, -5, 250}, 0, 100, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2.0 / 6, 2.0 / 6, 0, 2.0 / 6}
	if len(h.Bins) != len(want) {
		t.Fatalf("%d bins", len(h.Bins))
	}
	for i, b := range h.Bins {
		if math.Abs(b.Weight-want[i]) > 1e-12 || b.Min != float64(25*i) {
			t.Errorf("bin %d [%v, %v): %v, want %v", i, b.Min, b.Max, b.Weight, want[i])
		}
	}
}

// The title and the x axis's last tick label fit inside the figure: the title's tallest glyphs
// below the top edge, the label with room for a face 15% wider than the one it was measured in.
func TestTextInsideFigure(t *testing.T) {
	title := "Typography (jgpq)"
	f, err := Histogram(HistogramSpec{ID: "h", Title: title, XLabel: "x", Min: 0, Max: 100, Bins: 10,
		Classes: []Class{{Name: "normal", Values: []float64{0, 1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	var width, height float64
	texts := map[string][2]float64{} // text -> x, y (y measured down from the top edge)
	d := xml.NewDecoder(bytes.NewReader(f.SVG()))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]float64{}
		for _, a := range se.Attr {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(a.Value, "pt"), 64)
			attr[a.Name.Local] = v
		}
		switch se.Name.Local {
		case "svg":
			width, height = attr["width"], attr["height"]
		case "text":
			var body string
			if err := d.DecodeElement(&body, &se); err != nil {
				t.Fatal(err)
			}
			texts[body] = [2]float64{attr["x"], height + attr["y"]} // y is negated (flipped axis)
		}
	}
	p, _ := newPlot(title, "", "")
	ascent := p.Title.TextStyle.FontExtents().Ascent.Points()
	if at, ok := texts[title]; !ok || at[1] < ascent {
		t.Errorf("title baseline %.2f below the top edge, less than the face's ascent %.2f: clipped", at[1], ascent)
	}
	if at, ok := texts["100"]; !ok || at[0]+1.15*p.X.Tick.Label.Width("100").Points() > width {
		t.Errorf("tick label 100 at x %.2f does not fit %.2f wide in a 15%% wider face", at[0], width)
	}
}
