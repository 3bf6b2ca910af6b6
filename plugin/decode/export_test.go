package decode

// MeasureFirst makes d decode every object as it decodes malformed ones: measured first, then
// decoded. The one-pass path for well-formed events must give the same events.
func MeasureFirst(d *Decoder) { d.measureFirst = true }
