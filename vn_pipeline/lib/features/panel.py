"""Long (trading_date, symbol) rows ⇄ "bar-number" panels.

A panel has one column per symbol and one row per *that symbol's own* bar: row k of column s is the k-th bar
of s in the input, whatever the calendar date. Every symbol's history therefore starts on row 0 and has no
holes for days it did not trade, so one rolling/recursive computation over axis 0 treats all symbols at once
and gives each symbol exactly what it would get alone (windows count the symbol's own trading days, as a
per-symbol TA-Lib loop does). Shorter histories end early; the rows below are NaN padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BarPanel:
    """Where each long row lives in the panel, and the long rows themselves in (trading_date, symbol) order."""

    rows: np.ndarray  # bar number of each long row
    cols: np.ndarray  # symbol column of each long row
    shape: tuple[int, int]
    symbols: np.ndarray
    long: pd.DataFrame  # the input rows sorted by (trading_date, symbol), with a datetime64 ``_ts`` key

    def to_panel(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Scatter one long column (in ``long`` order) into a float64 panel."""
        out = np.full(self.shape, np.nan)
        out[self.rows, self.cols] = np.asarray(values, dtype=np.float64)
        return out

    def to_long(self, panel: np.ndarray) -> np.ndarray:
        """Gather a panel back to one value per long row."""
        return panel[self.rows, self.cols]


def build_panel(frame: pd.DataFrame) -> BarPanel:
    """Index a long frame with unique (trading_date, symbol) rows as a bar-number panel."""
    long = frame.assign(_ts=pd.to_datetime(frame["trading_date"]))
    if long.duplicated(["_ts", "symbol"]).any():
        raise ValueError("bars have duplicate (trading_date, symbol) rows")
    long = long.sort_values(["_ts", "symbol"], kind="stable").reset_index(drop=True)
    codes, symbols = pd.factorize(long["symbol"], sort=True)
    # Bar number = rank of the date within the symbol: the long frame is date-sorted, so cumcount is that rank.
    rows = long.groupby(codes, sort=False).cumcount().to_numpy()
    shape = (int(rows.max()) + 1 if len(rows) else 0, len(symbols))
    return BarPanel(rows=rows, cols=codes.astype(np.int64), shape=shape, symbols=np.asarray(symbols), long=long)
