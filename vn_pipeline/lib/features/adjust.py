"""Point-in-time price adjustment for corporate actions (stock dividends, bonus shares, rights).

Choice: FORWARD adjustment. Every action multiplies the prices of its ex-date and all later days by
``factor = reference_before / reference_after`` (the exchange's own reference-price cut; ``1 + ratio`` when a
reference is missing), and divides volumes by it. Day D's adjusted bar is therefore

    price_adj(D) = price(D) × Π factor over the symbol's actions with ex_date <= D
    volume_adj(D) = volume(D) / same product;  value (VND traded) is unchanged

so it depends only on actions already known on D: a later action never rescales the past, and a features
partition written yesterday stays valid. The series is continuous across ex-dates (post-action prices are
expressed in pre-action share units: 1 old share = (1 + ratio) new shares). The cost: adjusted levels drift
away from quoted prices and off the tick grid after actions, so level features (sma_20 in VND) are not
comparable to today's quotes, while every ratio feature is unaffected. Backward adjustment (the vendor
convention, e.g. CafeF's GiaDieuChinh) would rewrite history at each new action and leak the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close", "vwap")


def action_factors(actions: pd.DataFrame) -> pd.DataFrame:
    """(symbol, _ts, cum_factor): cumulative forward factor in force from each ex-date on."""
    if actions is None or actions.empty:
        return pd.DataFrame({"symbol": [], "_ts": pd.to_datetime([]), "cum_factor": []})
    before = pd.to_numeric(actions["reference_before"], errors="coerce").to_numpy(np.float64)
    after = pd.to_numeric(actions["reference_after"], errors="coerce").to_numpy(np.float64)
    ratio = pd.to_numeric(actions["ratio"], errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(before) & np.isfinite(after) & (before > 0) & (after > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(ok, before / after, 1.0 + ratio)
    if not np.all(np.isfinite(factor) & (factor > 0)):
        raise ValueError("corporate action without a usable factor (reference_before/after or ratio)")
    f = pd.DataFrame({"symbol": actions["symbol"].to_numpy(), "_ts": pd.to_datetime(actions["ex_date"]), "f": factor})
    # Several actions on one ex-date compound; then the running product in ex-date order.
    f = f.groupby(["symbol", "_ts"], sort=True)["f"].prod().reset_index()
    f["cum_factor"] = f.groupby("symbol", sort=False)["f"].cumprod()
    return f[["symbol", "_ts", "cum_factor"]]


def adjust_prices(bars: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Forward-adjusted copy of ``bars`` (same rows and order): float prices/vwap and float volume."""
    out = bars.copy()
    factors = action_factors(actions)
    cum = np.ones(len(out))
    if len(out) and not factors.empty:
        keys = pd.DataFrame({"symbol": out["symbol"].to_numpy(), "_ts": pd.to_datetime(out["trading_date"])})
        keys["_row"] = np.arange(len(out))
        keys = keys.sort_values("_ts", kind="stable")
        merged = pd.merge_asof(keys, factors.sort_values("_ts"), on="_ts", by="symbol", direction="backward")
        cum[merged["_row"].to_numpy()] = merged["cum_factor"].fillna(1.0).to_numpy()
    for name in PRICE_COLUMNS:
        if name in out.columns:
            out[name] = pd.to_numeric(out[name], errors="coerce").to_numpy(np.float64) * cum
    if "volume" in out.columns:
        out["volume"] = pd.to_numeric(out["volume"], errors="coerce").to_numpy(np.float64) / cum
    return out
