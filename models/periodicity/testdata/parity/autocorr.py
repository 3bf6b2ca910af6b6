#!/usr/bin/env python3
"""pandas' Series.autocorr(lag), lags 1..7, on every series of series.csv -> pandas_autocorr.json.

This is the reference the Go model (models/periodicity.Autocorr) is checked against: the SEC351
notebook computes `df['count'].autocorr(lag=i+1)` for i in range(7), and the Go code must give the
same numbers (within 1e-9) and NaN exactly where pandas gives NaN.

Setup (pandas from PyPI, in a throwaway virtualenv):

    python3 -m venv /tmp/pandas-venv
    /tmp/pandas-venv/bin/pip install pandas==3.1.1

Run from the repository root after
`go test ./models/periodicity -run TestSeriesFileIsCurrent -update` rewrote series.csv:

    /tmp/pandas-venv/bin/python models/periodicity/testdata/parity/autocorr.py

series.csv has one row per value: series id, index, value (empty = NaN). The output maps each
series id to its seven autocorrelations, null for NaN (JSON has no NaN), floats written with
repr() so they read back bit-exactly.
"""

import json
import math
import pathlib

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
LAGS = list(range(1, 8))


def main() -> None:
    # Values are parsed with Python's float() (correctly rounded), so every series is exactly
    # the one Go wrote.
    rows = pd.read_csv(HERE / "series.csv", dtype=str, keep_default_na=False)
    rows["index"] = rows["index"].astype(np.int64)
    out = {}
    for sid, group in rows.groupby("series", sort=True):
        cells = group.sort_values("index")["value"]
        s = pd.Series([float(v) if v else math.nan for v in cells], dtype=np.float64)
        out[sid] = [none_if_nan(s.autocorr(lag=lag)) for lag in LAGS]
    result = {"pandas": pd.__version__, "numpy": np.__version__, "lags": LAGS, "series": out}
    with open(HERE / "pandas_autocorr.json", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(out)} series x {len(LAGS)} lags -> pandas_autocorr.json (pandas {pd.__version__})")


def none_if_nan(v: float):
    v = float(v)
    return None if math.isnan(v) else v


if __name__ == "__main__":
    main()
