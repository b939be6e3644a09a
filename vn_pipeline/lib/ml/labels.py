"""Forward-return labels for the daily models, aligned to what a Vietnamese retail trader can actually do.

A signal is formed at day D's close. The position is entered on D+1 (at the open or the VWAP) and, because
cash equities settle T+2 (VN_MARKET.md: shares bought on T can be sold from the afternoon of T+2), the earliest
exit is the afternoon of D+1+2 = D+3: the default label is close(D+3) / open(D+1) - 1. Day offsets count
TRADING days taken from the bars themselves (the union of dates present), so weekends and holidays are skipped.

The label of D looks at bars up to `label_end_date(D)` = D + 1 + horizon trading days; training code uses that
window to purge rows whose label overlaps validation/test periods (lib/ml/walk_forward.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from vn_pipeline.lib.market import calendar

LABEL_COLUMNS: tuple[str, ...] = ("label", "entry_date", "exit_date")
# Column names that must never appear in a feature matrix (a label there would be the purest look-ahead).
_FORBIDDEN_FEATURE_PREFIXES: tuple[str, ...] = ("label", "fwd_", "forward_", "target")

Entry = Literal["open", "vwap"]
ExitPrice = Literal["close", "vwap"]
CrossSectional = Literal["zscore", "rank"] | None


def label_span(horizon_days: int = 2) -> int:
    """How many trading days after D the label of D looks at (entry D+1, exit D+1+horizon)."""
    if horizon_days < 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    return 1 + horizon_days


def label_end_date(day: dt.date, horizon_days: int = 2, dates: Sequence[dt.date] | None = None) -> dt.date:
    """Last trading date the label of `day` depends on (its exit date).

    `dates` is the trading-date axis (e.g. the sorted unique dates of the bars); default: the exchange calendar.
    Raises if the axis does not reach that far (an unknown end must not be silently treated as "no overlap").
    """
    span = label_span(horizon_days)
    if dates is None:
        return calendar.next_trading_day(day, span)
    axis = np.asarray(sorted(dates), dtype=object)
    i = int(np.searchsorted(axis, day, side="left"))
    if i >= len(axis) or axis[i] != day:
        raise ValueError(f"{day} is not on the given trading-date axis")
    if i + span >= len(axis):
        raise ValueError(f"label of {day} ends {span} trading days later, beyond the axis end {axis[-1]}")
    return axis[i + span]


def _vwap(bars: pd.DataFrame) -> pd.Series:
    if "vwap" in bars.columns:
        return bars["vwap"].astype(float)
    if {"value", "volume"} <= set(bars.columns):  # vendor/simulator EOD bars carry value and volume, not vwap
        vol = bars["volume"].astype(float)
        return (bars["value"].astype(float) / vol).where(vol > 0)
    raise ValueError("vwap requested but bars have neither a vwap column nor value/volume")


def make_labels(
    bars: pd.DataFrame,
    entry: Entry = "open",
    horizon_days: int = 2,
    exit_price: ExitPrice = "close",
    cross_sectional: CrossSectional = None,
    within: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forward return per (trading_date, symbol): exit(D+1+horizon) / entry(D+1) - 1.

    Returns columns trading_date, symbol, label, entry_date, exit_date, one row per input bar. label is NaN
    when the symbol has no bar on the entry or exit date (not traded, or past the end of the data): we do not
    substitute a later day, since a fill that did not happen is not a return anyone earned.
    cross_sectional="zscore"|"rank" standardises the label per trading_date (rank -> [0, 1] percentile).
    ``within`` (trading_date, symbol rows: each day's universe) keeps only those rows, before standardising, so a
    day's labels are standardised across the names a model ranks that day, as Qlib normalises over its pool.
    """
    if entry not in ("open", "vwap") or exit_price not in ("close", "vwap"):
        raise ValueError(f"entry must be open|vwap and exit_price close|vwap, got {entry!r}, {exit_price!r}")
    span = label_span(horizon_days)
    cols = ["trading_date", "symbol", *LABEL_COLUMNS]
    if bars.empty:
        return pd.DataFrame(columns=cols)
    px = pd.DataFrame({"trading_date": bars["trading_date"].to_numpy(), "symbol": bars["symbol"].to_numpy()})
    px["entry_px"] = _vwap(bars).to_numpy() if entry == "vwap" else bars["open"].astype(float).to_numpy()
    px["exit_px"] = _vwap(bars).to_numpy() if exit_price == "vwap" else bars["close"].astype(float).to_numpy()
    if px.duplicated(["trading_date", "symbol"]).any():
        raise ValueError("bars have duplicate (trading_date, symbol) rows")

    # The trading-day axis is the union of dates in the bars: offsets are in trading days, never calendar days.
    axis = np.array(sorted(px["trading_date"].unique()), dtype=object)
    pos = pd.Series(np.arange(len(axis)), index=pd.Index(axis))
    i = pos.loc[px["trading_date"]].to_numpy()
    entry_i, exit_i = i + 1, i + span
    inside = exit_i < len(axis)
    px["entry_date"] = np.where(entry_i < len(axis), axis[np.minimum(entry_i, len(axis) - 1)], None)
    px["exit_date"] = np.where(inside, axis[np.minimum(exit_i, len(axis) - 1)], None)

    lookup = px.set_index(["trading_date", "symbol"])
    e_px = lookup["entry_px"].reindex(pd.MultiIndex.from_arrays([px["entry_date"], px["symbol"]])).to_numpy()
    x_px = lookup["exit_px"].reindex(pd.MultiIndex.from_arrays([px["exit_date"], px["symbol"]])).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        label = np.where((e_px > 0) & (x_px > 0), x_px / e_px - 1.0, np.nan)
    out = px[["trading_date", "symbol", "entry_date", "exit_date"]].copy()
    out["label"] = label
    if within is not None:
        out = out.merge(within[["trading_date", "symbol"]].drop_duplicates(), on=["trading_date", "symbol"])
    if cross_sectional is not None:
        out["label"] = _standardise(out, cross_sectional)
    return out[cols].sort_values(["trading_date", "symbol"], ignore_index=True)


def _standardise(frame: pd.DataFrame, how: str) -> pd.Series:
    g = frame.groupby("trading_date")["label"]
    if how == "zscore":
        return (frame["label"] - g.transform("mean")) / g.transform("std")
    if how == "rank":
        return g.rank(pct=True)
    raise ValueError(f"cross_sectional must be None, 'zscore' or 'rank', got {how!r}")


def check_no_label_columns(features: pd.DataFrame) -> None:
    """Raise if anything that looks like a label is in a feature matrix."""
    bad = [c for c in features.columns if str(c).lower().startswith(_FORBIDDEN_FEATURE_PREFIXES)]
    bad += [c for c in ("entry_date", "exit_date") if c in features.columns]
    if bad:
        raise ValueError(f"label-like columns in the feature matrix (look-ahead): {bad}")


def join_features_labels(features: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Align features and labels on (trading_date, symbol) and return them as two separate frames.

    Returns (X, y): X = trading_date, symbol + feature columns; y = trading_date, symbol, label, entry_date,
    exit_date, row-aligned with X (inner join; rows with a NaN label are kept, callers drop them for training).
    Labels never enter X: raises if a label-like column is already in `features`.
    """
    check_no_label_columns(features)
    keys = ["trading_date", "symbol"]
    lab = labels[[*keys, *LABEL_COLUMNS]]
    merged = features.merge(lab, on=keys, how="inner", validate="1:1").sort_values(keys, ignore_index=True)
    return merged[list(features.columns)], merged[[*keys, *LABEL_COLUMNS]]
