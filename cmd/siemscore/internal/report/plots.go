package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Class is a named set of values, such as the scores of normal traffic.
type Class struct {
	Name   string
	Values []float64
}

// Mark is a labelled vertical line at X.
type Mark struct {
	Label string
	X     float64
}

// HistogramSpec describes a histogram figure.
type HistogramSpec struct {
	ID, Title, XLabel, Caption string
	// Min, Max and Bins fix the bins, so that every class is binned alike.
	Min, Max float64
	Bins     int
	Classes  []Class
	Marks    []Mark
}

// Histogram draws each class's distribution as the share of the class in each bin, so that a
// class of a hundred values compares with one of a hundred thousand; marks are vertical lines
// named in the legend.
func Histogram(s HistogramSpec) (Figure, error) {
	if !(s.Max > s.Min) || s.Bins < 1 {
		return Figure{}, fmt.Errorf("report: histogram %q: need min < max and at least one bin", s.ID)
	}
	p, leg := newPlot(s.Title, s.XLabel, "share of class")
	ymax := 0.0
	for i, c := range s.Classes {
		if len(c.Values) == 0 {
			continue
		}
		h, err := classHistogram(c.Values, s.Min, s.Max, s.Bins)
		if err != nil {
			return Figure{}, fmt.Errorf("report: histogram %q: %w", s.ID, err)
		}
		h.FillColor, h.LineStyle.Color = translucent(colour(i), 0x99), colour(i)
		for _, b := range h.Bins {
			ymax = math.Max(ymax, b.Weight)
		}
		p.Add(h)
		leg.Add(fmt.Sprintf("%s (n=%d)", c.Name, len(c.Values)), h)
	}
	if err := addMarks(p, leg, s.Marks, 0, ymax*1.05); err != nil {
		return Figure{}, fmt.Errorf("report: histogram %q: %w", s.ID, err)
	}
	p.X.Min, p.X.Max = s.Min, s.Max
	return render(s.ID, s.Caption, p, leg, legendBelow, 8*vg.Inch, 4*vg.Inch)
}

// classHistogram bins values over [lo, hi] (values outside fall in the end bins) with each
// bar's height its share of the values.
func classHistogram(values []float64, lo, hi float64, bins int) (*plotter.Histogram, error) {
	// Zero-weight points at both ends make every class's bins span [lo, hi].
	xys := make(plotter.XYs, 0, len(values)+2)
	xys = append(xys, plotter.XY{X: lo}, plotter.XY{X: hi})
	for _, v := range values {
		xys = append(xys, plotter.XY{X: math.Max(lo, math.Min(hi, v)), Y: 1})
	}
	h, err := plotter.NewHistogram(xys, bins)
	if err != nil {
		return nil, err
	}
	h.Normalize(h.Width) // Normalize sets the area: a bar's height is then its share of the values
	return h, nil
}

// addMarks draws the marks as dashed vertical lines from y0 to y1.
func addMarks(p *plot.Plot, leg *plot.Legend, marks []Mark, y0, y1 float64) error {
	for i, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: y0}, {X: m.X, Y: y1}})
		if err != nil {
			return err
		}
		l.Color = markColors[i%len(markColors)]
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(l)
		leg.Add(m.Label, l)
	}
	return nil
}

var markColors = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x2d, B: 0x8c, A: 0xff},
	color.RGBA{R: 0x2c, G: 0x2c, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// Point is one point of a scatter plot.
type Point struct{ X, Y float64 }

// Group is a named set of points drawn in one colour.
type Group struct {
	Name   string
	Points []Point
}

// Label is a point to highlight, with its text.
type Label struct {
	Text string
	X, Y float64
}

// ScatterSpec describes a scatter figure.
type ScatterSpec struct {
	ID, Title, XLabel, YLabel, Caption string
	Groups                             []Group
	// Highlights are ringed and labelled on top of the groups.
	Highlights []Label
	// LogY draws the Y axis on a log scale (every Y must then be positive).
	LogY bool
}

// Scatter draws each group in its own colour and rings the highlighted points.
func Scatter(s ScatterSpec) (Figure, error) {
	p, leg := newPlot(s.Title, s.XLabel, s.YLabel)
	if s.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	for i, g := range s.Groups {
		if len(g.Points) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(points(g.Points))
		if err != nil {
			return Figure{}, fmt.Errorf("report: scatter %q: group %q: %w", s.ID, g.Name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: translucent(colour(i), 0xb0), Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		leg.Add(fmt.Sprintf("%s (%d)", g.Name, len(g.Points)), sc)
	}
	if len(s.Highlights) > 0 {
		pts := make([]Point, len(s.Highlights))
		labels := plotter.XYLabels{XYs: make(plotter.XYs, len(s.Highlights)), Labels: make([]string, len(s.Highlights))}
		for i, h := range s.Highlights {
			pts[i] = Point{h.X, h.Y}
			labels.XYs[i] = plotter.XY{X: h.X, Y: h.Y}
			labels.Labels[i] = h.Text
		}
		ring, err := plotter.NewScatter(points(pts))
		if err != nil {
			return Figure{}, fmt.Errorf("report: scatter %q: highlights: %w", s.ID, err)
		}
		ring.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(6), Shape: draw.RingGlyph{}}
		l, err := plotter.NewLabels(labels)
		if err != nil {
			return Figure{}, fmt.Errorf("report: scatter %q: labels: %w", s.ID, err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Variant = "Sans"
			l.TextStyle[i].YAlign = draw.YCenter
		}
		l.Offset = vg.Point{X: vg.Points(5)}
		p.Add(ring, l)
		leg.Add("planted", ring)
	}
	return render(s.ID, s.Caption, p, leg, legendRight, 7*vg.Inch, 5*vg.Inch)
}

func points(ps []Point) plotter.XYs {
	xys := make(plotter.XYs, len(ps))
	for i, p := range ps {
		xys[i] = plotter.XY{X: p.X, Y: p.Y}
	}
	return xys
}

// TimeMark is a labelled vertical line at a time.
type TimeMark struct {
	Label string
	T     time.Time
}

// Line is a named time series.
type Line struct {
	Name   string
	Times  []time.Time
	Values []float64
}

// SeriesSpec describes a time-series figure.
type SeriesSpec struct {
	ID, Title, YLabel, Caption string
	Lines                      []Line
	Marks                      []TimeMark
}

// Series draws time series against dates, with marks as dashed vertical lines.
func Series(s SeriesSpec) (Figure, error) {
	p, leg := newPlot(s.Title, "", s.YLabel)
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	ymax := 0.0
	for i, ln := range s.Lines {
		if len(ln.Times) != len(ln.Values) {
			return Figure{}, fmt.Errorf("report: series %q: line %q has %d times and %d values", s.ID, ln.Name, len(ln.Times), len(ln.Values))
		}
		if len(ln.Times) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(ln.Times))
		for j, t := range ln.Times {
			xys[j] = plotter.XY{X: unix(t), Y: ln.Values[j]}
			ymax = math.Max(ymax, ln.Values[j])
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return Figure{}, fmt.Errorf("report: series %q: line %q: %w", s.ID, ln.Name, err)
		}
		l.Color, l.Width = colour(i), vg.Points(1.2)
		p.Add(l)
		if len(s.Lines) > 1 {
			leg.Add(ln.Name, l)
		}
	}
	marks := make([]Mark, len(s.Marks))
	for i, m := range s.Marks {
		marks[i] = Mark{Label: m.Label, X: unix(m.T)}
	}
	if err := addMarks(p, leg, marks, 0, math.Max(ymax, 1)*1.05); err != nil {
		return Figure{}, fmt.Errorf("report: series %q: %w", s.ID, err)
	}
	p.Y.Min = 0
	return render(s.ID, s.Caption, p, leg, legendRight, 6.5*vg.Inch, 2.4*vg.Inch)
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

// BarsSpec describes a grouped bar chart: one bar per category and group.
type BarsSpec struct {
	ID, Title, XLabel, YLabel, Caption string
	Categories                         []string
	// Groups hold one value per category.
	Groups []Class
	// HLines are horizontal reference lines (dashed), e.g. a threshold and its negative.
	HLines []float64
}

// Bars draws a grouped bar chart.
func Bars(s BarsSpec) (Figure, error) {
	if len(s.Categories) == 0 || len(s.Groups) == 0 {
		return Figure{}, fmt.Errorf("report: bars %q: no categories or no groups", s.ID)
	}
	p, leg := newPlot(s.Title, s.XLabel, s.YLabel)
	// The bars of a category share 80% of its slot of the plot's width (about 6.8 inches).
	width := 0.8 * 6.8 * vg.Inch / vg.Length(len(s.Categories)*len(s.Groups))
	for i, g := range s.Groups {
		if len(g.Values) != len(s.Categories) {
			return Figure{}, fmt.Errorf("report: bars %q: group %q has %d values for %d categories", s.ID, g.Name, len(g.Values), len(s.Categories))
		}
		vals := make(plotter.Values, len(g.Values))
		for j, v := range g.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0 // an undefined value (a constant series' autocorrelation) draws no bar
			}
			vals[j] = v
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return Figure{}, fmt.Errorf("report: bars %q: %w", s.ID, err)
		}
		b.Color, b.LineStyle.Width = colour(i), 0
		b.Offset = width * (vg.Length(i) - vg.Length(len(s.Groups)-1)/2)
		p.Add(b)
		leg.Add(g.Name, b)
	}
	for _, y := range s.HLines {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: y}, {X: float64(len(s.Categories)) - 0.5, Y: y}})
		if err != nil {
			return Figure{}, fmt.Errorf("report: bars %q: %w", s.ID, err)
		}
		l.Color, l.Dashes = color.Gray{Y: 0x60}, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	p.NominalX(s.Categories...)
	return render(s.ID, s.Caption, p, leg, legendBelow, 8*vg.Inch, 3.5*vg.Inch)
}

// newPlot returns a plot with a sans-serif face, a light grid and readable tick labels, and the
// legend to fill: it is drawn outside the data area (see render), where it hides nothing.
func newPlot(title, xlabel, ylabel string) (*plot.Plot, *plot.Legend) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font} {
		f.Variant = "Sans"
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Gray{Y: 0xe4}, color.Gray{Y: 0xe4}
	p.Add(g)
	leg := plot.NewLegend()
	leg.TextStyle.Font.Variant, leg.TextStyle.Font.Size = "Sans", vg.Points(10)
	leg.Top, leg.Left = true, true
	return p, &leg
}

// plainTicks are gonum's default ticks labelled in the shortest form ("250", not "250.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}

// tab10 is matplotlib's default colour cycle, the colours the product's notebooks plotted in.
var tab10 = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, color.RGBA{0xbc, 0xbd, 0x22, 0xff},
	color.RGBA{0x17, 0xbe, 0xcf, 0xff},
}

func colour(i int) color.Color { return tab10[i%len(tab10)] }

func translucent(c color.Color, alpha uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// Premultiplied, as color.RGBA requires.
	a := uint32(alpha)
	return color.RGBA{R: uint8((r >> 8) * a / 0xff), G: uint8((g >> 8) * a / 0xff), B: uint8((b >> 8) * a / 0xff), A: alpha}
}

// Where render puts the legend.
const (
	legendBelow = iota
	legendRight
)

// legendGap separates the legend from the plot.
const legendGap = 4 * vg.Millimeter

// overhang is the room render leaves above and to the right of p so that no text is clipped.
// gonum aligns the title's top a font descent above the plot's canvas (Plot.Draw places it at
// Max.Y + descent), which cuts off its tallest glyphs. The last x tick label, centred on the
// axis's end, reaches exactly to the canvas's right edge in the face it was measured with, and
// past it in a wider substitute (DejaVu Sans, a common fallback, is about 15% wider): a fifth
// of the widest label covers faces up to 40% wider.
func overhang(p *plot.Plot) (top, right vg.Length) {
	if p.Title.Text != "" {
		top = p.Title.TextStyle.FontExtents().Descent
	}
	lo, hi := p.X.Min, p.X.Max
	if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return top, right // an axis with no data: gonum makes one up when it draws
	}
	for _, t := range p.X.Tick.Marker.Ticks(lo, hi) {
		if t.Label != "" {
			right = max(right, p.X.Tick.Label.Width(t.Label)/5)
		}
	}
	return top, right
}

// render draws p as SVG, w×h for the plot itself plus room for the legend below or to the
// right of it. The XML prolog is dropped: the SVG is inlined into HTML.
func render(id, caption string, p *plot.Plot, leg *plot.Legend, where int, w, h vg.Length) (Figure, error) {
	size := leg.Rectangle(draw.New(vgsvg.New(w, h))).Size()
	top, right := overhang(p)
	cw, ch := w+right, h+top
	if size.X > 0 {
		if where == legendRight {
			// A tenth more than the metrics say, for viewers that substitute a wider face.
			cw += size.X*11/10 + legendGap
		} else {
			ch += size.Y + legendGap
		}
	}
	c, err := draw.NewFormattedCanvas(cw, ch, "svg")
	if err != nil {
		return Figure{}, fmt.Errorf("report: figure %q: %w", id, err)
	}
	dc := draw.New(c)
	if where == legendRight {
		p.Draw(draw.Crop(dc, 0, w-cw, 0, -top))
		leg.Draw(draw.Crop(dc, w+right+legendGap/2, 0, 0, -(top + legendGap)))
	} else {
		p.Draw(draw.Crop(dc, 0, w-cw, ch-h-top, -top))
		leg.Draw(draw.Crop(dc, legendGap, 0, 0, -(top + h + legendGap/2)))
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return Figure{}, fmt.Errorf("report: figure %q: %w", id, err)
	}
	svg := buf.String()
	i := strings.Index(svg, "<svg")
	if i < 0 {
		return Figure{}, errors.New("report: figure " + id + ": the SVG writer wrote no <svg> element")
	}
	// The SVG names the face the text was measured with and nothing else; few machines have
	// it, and a browser falls back to its default, usually a serif. Arial and Helvetica share
	// Liberation Sans's metrics, so labels still fit.
	svg = strings.ReplaceAll(svg[i:], "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return Figure{ID: id, Caption: caption, svg: []byte(svg)}, nil
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
