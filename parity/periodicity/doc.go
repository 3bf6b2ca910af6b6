// Package parity holds the pandas reference for models/periodicity's autocorrelation: the
// series (series.csv, written by `go test ./parity/periodicity -update`), the script that runs
// pandas on them (autocorr.py) and its committed output (pandas_autocorr.json). The tests here
// compare the Go numbers with pandas'.
package parity
