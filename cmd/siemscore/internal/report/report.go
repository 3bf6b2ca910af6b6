// Package report renders a self-contained HTML report: facts, tables and figures drawn with
// gonum/plot, each figure inlined as SVG so the page needs no other file and no network. The
// demo writes one to show what the models found; the figures are the plots the product's
// notebooks drew by hand (score histograms to choose an alert threshold, clusters of Kerberos
// hosts, daily series of API calls and their autocorrelation).
package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
)

// Report is one HTML page.
type Report struct {
	Title    string
	Subtitle string
	// Summary is shown first, as a definition list.
	Summary  []Fact
	Sections []Section
}

// Fact is one named value.
type Fact struct{ Name, Value string }

// Section is a titled part of the report: its text, facts, figures and tables, in that order.
type Section struct {
	ID, Title string
	// Text is plain text; blank lines separate paragraphs.
	Text    string
	Facts   []Fact
	Figures []Figure
	Tables  []Table
}

// Figure is a plot rendered as SVG.
type Figure struct {
	// ID becomes the figure element's id, so links (and tests) can find it.
	ID      string
	Caption string
	svg     []byte
}

// SVG returns the figure's SVG document.
func (f Figure) SVG() []byte { return f.svg }

// Table is a small table of text cells.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// WriteHTML writes the report as one HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	return nil
}

// WriteFile writes the report to path, creating its directory.
func (r *Report) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := r.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	// The SVG comes from gonum/plot's own writer, never from report input, so it is safe to
	// inline as markup; labels inside it were escaped by the SVG writer.
	"svg":        func(f Figure) template.HTML { return template.HTML(f.svg) },
	"paragraphs": paragraphs,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.subtitle { color: #666; margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.5em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
nav a { margin-right: 1em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Subtitle}}<p class="subtitle">{{.}}</p>{{end}}
{{with .Sections}}<nav>{{range .}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}</nav>{{end}}
{{with .Summary}}<h2>Summary</h2>
<dl class="facts">{{range .}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}
{{range .Sections}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{range paragraphs .Text}}<p>{{.}}</p>
{{end}}
{{with .Facts}}<dl class="facts">{{range .}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}
{{range .Figures}}<figure id="{{.ID}}">
{{svg .}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
{{range .Tables}}<table>
{{with .Caption}}<caption>{{.}}</caption>{{end}}
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}
</section>
{{end}}
</body>
</html>
`))
