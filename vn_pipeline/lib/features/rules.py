"""Quality rules for the feature matrix: NaN only inside a symbol's warm-up or on a flat window, and drift
against the model's training window.

Flat windows. Some features are 0/0 on a window where nothing moved (core.UNDEFINED_ON_FLAT); illiquid names
(one tick is a large move, days without a print) have such windows long after their warm-up. A NaN there is
the documented value, not a bug, so ``flat_windows`` recomputes, from the adjusted bars alone, whether each
such feature's own window was flat on each row; ``nan_outside_warmup`` then flags every other NaN. "Flat"
per feature, the same condition that makes the feature's formula divide zero by zero (d = the window):

- bb_pctb_20: the 20 closes up to the day are equal (zero-width band);
- fib_pos_60 / fib_level_60 / fib_dist_60: max high == min low over 60 bars (no range);
- spread_ratio_20, vsa_climax / vsa_no_demand / vsa_no_supply: the 20 bars *before* the day all had
  high == low (zero mean prior spread); volume_ratio_20 and the vsa_* again: the 20 bars before the day traded
  nothing (zero mean prior volume: vendor history of illiquid names has such months);
- obv_change_20: the 20 bars up to the day traded nothing;
- rsqr_d: the d closes are equal (no variance to explain);
- corr_d: the sample std of close or of log(volume + 1) over d bars is <= 2e-5 (Qlib's near-constant test);
- cord_d: the same on close / previous close or log(volume / previous volume + 1), or a previous volume of
  0 inside the window (an infinite ratio).

Missing proprietary flows. The proprietary-flow features (flows.PROP_WINDOWS) are NaN, by design, where their
window holds no proprietary row of the symbol (no data is not zero flow: the simulator, and most symbols of a
vendor that has such data, have none) or no traded value (0/0); ``without_proprietary_data`` marks those rows.

Missing foreign flows. The foreign-flow features (flows.NAMES) are NaN, by design, where their window lacks a
foreign-flow row of the symbol on any of its bars, or traded nothing (0/0): rolling windows are full or nothing
(rolling.py) and no data is not zero flow. On CafeF the all-zero padding rows before a ticker's first foreign
trade, and on illiquid names on days foreigners did not trade, are rejected (ACB: 5 days of 2016-2019 without a
row after its first foreign trade), and a symbol without GDKhoiNgoai.csv has no row at all.
``without_foreign_data`` marks those rows from the flow rows and traded values alone (FOREIGN_WINDOWS: each
feature's window and the lags it compares; ``foreign_room_*`` read room_remaining only).

Missing index levels. The rotation features (ROTATION_WINDOWS, against VN30) are NaN where their lookback
holds a bar without a VN30 close: real VN30 levels start 2018-08-20, and a range without index data is reported,
never filled from another series. ``without_index_data`` marks those rows; the check reports the ranges.

xrank_<base> is NaN exactly where its base is, so each rule marks the xrank of a base it covers too.

"Equal" allows float rounding only (spread <= 1e-9 of the level): adjusted prices are products of quotes
and factors, so the same quote can differ in the last bits across rows, while one tick is >= 1e-4 of a price.

Drift. A model ranks names within a day, so what can break it is a change in the *cross-sectional* shape of
its inputs, not a market-wide move that lifts or sinks every name together (one −3.65% day shifts every
return feature and is not a new population). ``feature_drift`` therefore standardizes each feature within
each day (z-score across that day's symbols, as Qlib's CSZScoreNorm; a day where every name has the same
value maps to 0) and computes the population stability index of a window of days against the reference
window on the reference's deciles, of the z-scores and of the raw values. A feature drifts when both exceed
0.25 and the largest PSI any equally long stretch of the reference has against the rest of it: the window is
further from the training population than the training window ever strayed from itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vn_pipeline.lib.features import UNDEFINED_ON_FLAT
from vn_pipeline.lib.features.alpha158 import CORR_FLAT_STD, WINDOWS
from vn_pipeline.lib.features.classic import FIB_WINDOW, RRG_BASE, RRG_LAG, RRG_SMOOTH, VSA_WINDOW
from vn_pipeline.lib.features.core import FLOW_INPUTS, PROP_INPUTS, XRANK_BASES, _index_values, aligned_columns
from vn_pipeline.lib.features.flows import NAMES as FOREIGN_NAMES
from vn_pipeline.lib.features.flows import PROP_WINDOWS, proprietary_rows
from vn_pipeline.lib.features.panel import build_panel
from vn_pipeline.lib.features.rolling import Panel, rolling_max, rolling_min, rolling_std, rolling_sum, shift

KEY = ["trading_date", "symbol"]
BB_WINDOW = 20
ROUNDING = 1e-9  # relative spread below which two adjusted prices are the same quote
# Per foreign-flow ratio feature: (bars summed, lags of that sum it reads). chg_5 compares the 5-bar ratio with
# itself 5 bars earlier, acc_5 the change with itself 5 bars earlier (flows.py).
FOREIGN_WINDOWS: dict[str, tuple[int, tuple[int, ...]]] = {
    "foreign_net_ratio": (1, (0,)),
    "foreign_net_ratio_5": (5, (0,)),
    "foreign_net_ratio_20": (20, (0,)),
    "foreign_net_chg_5": (5, (0, 5)),
    "foreign_net_acc_5": (5, (0, 5, 10)),
    "foreign_participation_20": (20, (0,)),
}
ROOM_WINDOWS: dict[str, int] = {"foreign_room_usage_60": 60, "foreign_room_full": 1}
# Bars of VN30 closes each rotation feature reads: SMA10 of RS / SMA50(RS), then that 10 bars earlier.
ROTATION_WINDOWS: dict[str, int] = {
    "rrg_rs_ratio": RRG_BASE + RRG_SMOOTH - 1,
    "rrg_rs_momentum": RRG_BASE + RRG_SMOOTH - 1 + RRG_LAG,
}


def _constant(x: Panel, n: int) -> Panel:
    """True where the n values up to each row are equal up to float rounding (False inside the warm-up)."""
    hi, lo = rolling_max(x, n), rolling_min(x, n)
    return hi - lo <= ROUNDING * np.abs(hi)


def _near_constant(x: Panel, n: int) -> Panel:
    """Qlib's Corr test: the window's sample std is within 2e-5 of zero (the same kernel as the feature)."""
    return rolling_std(x, n) <= CORR_FLAT_STD


def _holds_nan(x: Panel, n: int) -> Panel:
    return rolling_max(np.isnan(x).astype(np.float64), n) > 0


def flat_windows(bars: pd.DataFrame) -> pd.DataFrame:
    """Per (trading_date, symbol) of adjusted daily bars: one boolean column per UNDEFINED_ON_FLAT feature,
    True where that feature's window is flat (see the module docstring), so a NaN there is by design.

    ``bars`` must be adjusted exactly as the features were (same rows, same factors) and reach back over the
    longest window (the features' lookback), or early rows read as not flat.
    """
    frame = bars[["trading_date", "symbol", "high", "low", "close", "volume"]]
    bp = build_panel(frame)
    high, low, close, volume = (bp.to_panel(bp.long[c]) for c in ("high", "low", "close", "volume"))
    prev_close, prev_volume = shift(close, 1), shift(volume, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        close_ratio = close / prev_close
        volume_ratio_log = np.log(volume / prev_volume + 1)
        log_volume = np.log(volume + 1)
    volume_ratio_log[~np.isfinite(volume_ratio_log)] = np.nan
    zero_range = (high - low <= ROUNDING * np.abs(high)).astype(np.float64)
    no_prior_range = shift(rolling_min(zero_range, VSA_WINDOW), 1) == 1
    hi, lo = rolling_max(high, FIB_WINDOW), rolling_min(low, FIB_WINDOW)
    no_range = hi - lo <= ROUNDING * np.abs(hi)
    flat: dict[str, Panel] = {"bb_pctb_20": _constant(close, BB_WINDOW)}
    flat |= {name: no_range for name in ("fib_pos_60", "fib_level_60", "fib_dist_60")}
    no_volume = rolling_sum(np.where(np.isnan(volume), np.nan, (volume > 0).astype(np.float64)), VSA_WINDOW) == 0
    no_prior_volume = shift(no_volume, 1) == 1
    flat["spread_ratio_20"] = no_prior_range
    flat |= {name: no_prior_range | no_prior_volume for name in ("vsa_climax", "vsa_no_demand", "vsa_no_supply")}
    flat["volume_ratio_20"] = no_prior_volume
    flat["obv_change_20"] = no_volume
    for d in WINDOWS:
        flat[f"rsqr_{d}"] = _constant(close, d)
        flat[f"corr_{d}"] = _near_constant(close, d) | _near_constant(log_volume, d)
        flat[f"cord_{d}"] = (
            _near_constant(close_ratio, d) | _near_constant(volume_ratio_log, d) | _holds_nan(volume_ratio_log, d)
        )
    if set(flat) != set(UNDEFINED_ON_FLAT):  # a feature was added to the list without its rule: say so
        raise RuntimeError(f"flat-window rules != UNDEFINED_ON_FLAT: {sorted(set(flat) ^ set(UNDEFINED_ON_FLAT))}")
    out = bp.long[KEY].copy()
    for name in UNDEFINED_ON_FLAT:
        out[name] = bp.to_long(flat[name])
    return _with_xrank(out)


def without_proprietary_data(bars: pd.DataFrame, proprietary: pd.DataFrame | None) -> pd.DataFrame:
    """Per (trading_date, symbol) of the daily bars: one boolean column per proprietary-flow feature, True where
    its window (PROP_WINDOWS bars up to the day) holds no row of ``proprietary`` (market.proprietary_flows) for the
    symbol, or traded nothing: a NaN there is the documented value. ``bars`` as the features saw them, reaching
    back over the longest window."""
    bp = build_panel(bars[[*KEY, "value"]])
    aligned = aligned_columns(bp.long, proprietary, ("buy_value",), "proprietary flows")
    panels = {PROP_INPUTS["buy_value"]: bp.to_panel(aligned["buy_value"])}
    value = bp.to_panel(bp.long["value"])
    out = bp.long[KEY].copy()
    for name, n in PROP_WINDOWS.items():
        out[name] = bp.to_long(~(proprietary_rows(panels, n) > 0) | (rolling_sum(value, n) == 0))
    return out


def _complete(present: Panel, n: int) -> Panel:
    """True where each of the n bars up to the row has the input (False inside the first n - 1 bars)."""
    return rolling_min(present.astype(np.float64), n) == 1


def _any_lag(undefined: Panel, lags: tuple[int, ...]) -> Panel:
    # shift pads with NaN, and NaN != 0: a lag reaching before the first bar counts as undefined
    return np.logical_or.reduce([shift(undefined.astype(np.float64), lag) != 0 for lag in lags])


def _with_xrank(out: pd.DataFrame) -> pd.DataFrame:
    for base in XRANK_BASES:
        if base in out.columns:
            out[f"xrank_{base}"] = out[base]
    return out


def without_foreign_data(bars: pd.DataFrame, flows: pd.DataFrame | None) -> pd.DataFrame:
    """Per (trading_date, symbol) of the daily bars: one boolean column per foreign-flow feature (and
    xrank_foreign_net_ratio_5), True where its window lacks a row of ``flows`` (market.foreign_flows) for the
    symbol on one of its bars, or, for the ratios, traded nothing: a NaN there is the documented value.
    ``bars`` as the features saw them, reaching back over the longest window."""
    bp = build_panel(bars[[*KEY, "value"]])
    aligned = {name: bp.to_panel(col) for name, col in aligned_columns(bp.long, flows, FLOW_INPUTS, "flows").items()}
    traded = ~(np.isnan(aligned["buy_value"]) | np.isnan(aligned["sell_value"]))
    value = bp.to_panel(bp.long["value"])
    out = bp.long[KEY].copy()
    for name, (n, lags) in FOREIGN_WINDOWS.items():
        undefined = ~_complete(traded, n) | (rolling_sum(value, n) == 0)
        out[name] = bp.to_long(_any_lag(undefined, lags))
    room = ~np.isnan(aligned["room_remaining"])
    for name, n in ROOM_WINDOWS.items():
        out[name] = bp.to_long(~_complete(room, n))
    ruled = set(FOREIGN_WINDOWS) | set(ROOM_WINDOWS)
    if ruled != set(FOREIGN_NAMES):  # a feature was added to flows.NAMES without its window: say so
        raise RuntimeError(f"foreign-flow windows != flows.NAMES: {sorted(ruled ^ set(FOREIGN_NAMES))}")
    return _with_xrank(out)


def without_index_data(bars: pd.DataFrame, index_close: pd.Series | None) -> pd.DataFrame:
    """Per (trading_date, symbol) of the daily bars: one boolean column per rotation feature (and
    xrank_rrg_rs_ratio), True where its lookback (ROTATION_WINDOWS bars of the symbol up to the day) holds a bar
    without an ``index_close`` (VN30 by trading date, as compute_features takes it; None: no levels at all)."""
    bp = build_panel(bars[KEY])
    level = bp.to_panel(_index_values(bp.long["_ts"], index_close))
    out = bp.long[KEY].copy()
    for name, n in ROTATION_WINDOWS.items():
        out[name] = bp.to_long(~_complete(~np.isnan(level), n))
    return _with_xrank(out)


def explained_nan(
    bars: pd.DataFrame,
    flows: pd.DataFrame | None,
    index_close: pd.Series | None,
    proprietary: pd.DataFrame | None,
) -> pd.DataFrame:
    """Every rule above on one frame (flat windows, no foreign flows, no VN30 levels, no proprietary flows), for
    ``nan_outside_warmup``: the inputs exactly as compute_features saw them."""
    explained = flat_windows(bars)
    for rule in (
        without_foreign_data(bars, flows),
        without_index_data(bars, index_close),
        without_proprietary_data(bars, proprietary),
    ):
        explained = explained.merge(rule, on=KEY, how="outer")
    return explained


def nan_outside_warmup(
    features: pd.DataFrame, history_days: pd.Series, warmup_days: int, flat: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows with a NaN feature that neither the warm-up nor a flat window explains.

    ``history_days`` holds, per (trading_date, symbol), how many bars the symbol had before that day; rows with
    at most ``warmup_days`` are in the warm-up. ``flat`` (from ``flat_windows``) marks where a feature of
    UNDEFINED_ON_FLAT is undefined by design; without it every NaN after the warm-up is flagged.
    Returns trading_date, symbol and the names of the unexplained NaN features.
    """
    keys = pd.MultiIndex.from_frame(features[KEY])
    seasoned = history_days.reindex(keys).to_numpy() > warmup_days
    names = np.asarray([c for c in features.columns if c not in KEY])
    allowed = None if flat is None else flat.set_index(KEY).reindex(keys)
    # Column by column: a full-market window is ~10^8 values, and a frame-wide isna() would copy it all.
    nan = np.zeros((len(features), len(names)), dtype=bool)
    for j, name in enumerate(names):
        nan[:, j] = features[name].isna().to_numpy()
        if allowed is not None and name in allowed.columns:
            nan[:, j] &= ~allowed[name].fillna(False).to_numpy(bool)
    bad = seasoned & nan.any(axis=1)
    return pd.DataFrame(
        {
            "trading_date": features["trading_date"].to_numpy()[bad],
            "symbol": features["symbol"].to_numpy()[bad],
            "nan_features": [",".join(names[row]) for row in nan[bad]],
        }
    )


def population_stability(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` on the reference's deciles (0.1: look, 0.25: shifted)."""
    reference = reference[np.isfinite(reference)]
    current = current[np.isfinite(current)]
    if len(reference) < bins or len(current) == 0:
        return float("nan")
    edges = _edges(reference, bins)
    expected = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    return float(_psi(expected, actual))


def _edges(reference: np.ndarray, bins: int) -> np.ndarray:
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _psi(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """PSI of bin counts along the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # a small floor keeps an empty bin from making the index infinite
        p = np.maximum(expected / expected.sum(axis=-1, keepdims=True), 1e-4)
        q = np.maximum(actual / actual.sum(axis=-1, keepdims=True), 1e-4)
    return np.sum((q - p) * np.log(q / p), axis=-1)


def cross_sectional_center(frame: pd.DataFrame, names: list[str], scale: bool = True) -> pd.DataFrame:
    """Each feature standardized within its day: (x − day mean) / day std (population), or only centred
    (``scale=False``). NaN stays NaN; a day whose values are all equal (std 0) gives 0: nothing distinguishes
    one name from another there."""
    values = frame[names].astype(np.float64)
    by_day = values.groupby(frame["trading_date"].to_numpy())
    centred = values - by_day.transform("mean")
    if not scale:
        return centred
    std = by_day.transform("std", ddof=0)
    return (centred / std.where(std > 0)).where(~(std <= 0) | values.isna(), 0.0)


def _day_bins(values: np.ndarray, day: np.ndarray, n_days: int, edges: np.ndarray) -> np.ndarray:
    """(days × bins) counts of the finite values of each day."""
    ok = np.isfinite(values)
    cells = day[ok] * (len(edges) + 1) + np.searchsorted(edges, values[ok], side="right")
    return np.bincount(cells, minlength=n_days * (len(edges) + 1)).reshape(n_days, len(edges) + 1)


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    block_days: int | None = None,
    standardize: bool = True,
    bins: int = 10,
    threshold: float = 0.25,
) -> pd.DataFrame:
    """Drift per feature between a reference window (the model's training rows) and a current window of days.

    Columns: ``psi`` of the current window against the reference, on the reference's deciles, of values
    standardized within each day; with ``block_days``, ``stable_psi``: the largest PSI any ``block_days``
    consecutive days *of the reference* have against the rest of it — how far a window of that length strays
    while nothing has changed (with 30 names and slow features a month's PSI is noisy: a fixed threshold alone
    would flag noise); ``psi_raw`` / ``stable_psi_raw``: the same on the values as they are. ``drifted``: both
    PSIs above ``threshold`` and above their stable PSI. Requiring the standardized one removes a market-wide
    move (it shifts the raw values only); requiring the raw one removes what standardizing invents on discrete
    features (a 0/1 flag's z-scores move with each day's share of ones). ``standardize=False``: the raw
    columns only, as psi / stable_psi. Sorted by psi, highest first.
    """
    day, n_days = pd.factorize(reference["trading_date"], sort=True)[0], reference["trading_date"].nunique()
    raw = _drift(reference[names], current[names], day, n_days, block_days, bins, threshold)
    if not standardize:
        return raw.sort_values("psi", ascending=False)
    z = _drift(
        cross_sectional_center(reference, names), cross_sectional_center(current, names), day, n_days, block_days,
        bins, threshold,
    )  # fmt: skip
    out = z[["psi", "stable_psi"]].join(raw[["psi", "stable_psi"]].add_suffix("_raw"))
    out["drifted"] = z["drifted"] & raw["drifted"]
    return out.sort_values("psi", ascending=False)


def _drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    day: np.ndarray,
    n_days: int,
    block_days: int | None,
    bins: int,
    threshold: float,
) -> pd.DataFrame:
    rows = {}
    for name in reference.columns:
        ref = reference[name].to_numpy(np.float64)
        cur = current[name].to_numpy(np.float64)
        finite = ref[np.isfinite(ref)]
        if len(finite) < bins or not np.isfinite(cur).any():
            rows[name] = (np.nan, np.nan)
            continue
        edges = _edges(finite, bins)
        counts = _day_bins(ref, day, n_days, edges)
        total = counts.sum(axis=0)
        actual = np.bincount(np.searchsorted(edges, cur[np.isfinite(cur)], side="right"), minlength=len(edges) + 1)
        psi = float(_psi(total, actual))
        stable = np.nan
        if block_days is not None and n_days >= 2 * block_days:
            running = np.vstack([np.zeros(len(total), dtype=np.int64), np.cumsum(counts, axis=0)])
            block = running[block_days:] - running[:-block_days]  # every run of block_days consecutive days
            stable = float(np.nanmax(_psi(total - block, block)))
        rows[name] = (psi, stable)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["psi", "stable_psi"])
    out["drifted"] = out["psi"] > np.fmax(threshold, out["stable_psi"].to_numpy())
    return out
