"""Symbol universes for the simulated market.

"vn30" is the real VN30 list (data/vn30.csv). "full" is those 30 followed by ~1,570 synthetic tickers spread
across HOSE/HNX/UPCoM. The synthetic part is generated from a FIXED seed, independent of the simulator seed,
so symbol lists are stable across simulations; and because "vn30" is exactly the first 30 rows of "full", the
simulator can treat every universe as a prefix of "full" (see simulator.daily: same draws, same paths).
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# Universe sizes per exchange for "full" (HOSE includes the 30 real VN30 names).
FULL_COUNTS: dict[str, int] = {"HOSE": 400, "HNX": 330, "UPCOM": 870}
_UNIVERSE_SEED = 20_190_102  # fixed: the universe must not change with the simulation seed

SECTORS: tuple[str, ...] = (
    "Banks",
    "Real Estate",
    "Financial Services",
    "Insurance",
    "Basic Resources",
    "Food & Beverage",
    "Retail",
    "Technology",
    "Oil & Gas",
    "Utilities",
    "Industrial Goods & Services",
    "Construction & Materials",
    "Chemicals",
    "Travel & Leisure",
    "Personal & Household Goods",
    "Health Care",
    "Automobiles & Parts",
    "Media & Telecom",
)
# Rough share of listed companies per sector (construction/industrials dominate small caps in Vietnam).
_SECTOR_WEIGHTS = np.array([2, 10, 4, 1, 7, 8, 3, 4, 3, 6, 14, 14, 6, 4, 6, 3, 2, 3], dtype=float)

# Columns of the public universe frame; the rest are simulator parameters.
PUBLIC_COLUMNS = ["symbol", "exchange", "instrument_type", "sector", "listed_on", "foreign_cap_pct"]


@cache
def vn30() -> pd.DataFrame:
    """The real VN30 rows with their seed parameters (price level, shares, liquidity, beta)."""
    text = resources.files("vn_pipeline.lib.sources.simulator").joinpath("data/vn30.csv").read_text("utf-8")
    lines = "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    df = pd.read_csv(io.StringIO(lines))
    df["listed_on"] = [dt.date.fromisoformat(s) for s in df["listed_on"]]
    df["shares_outstanding"] = df.pop("shares_outstanding_m").astype(np.int64) * 1_000_000
    return df


def _synthetic_tickers(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    letters = np.array(list("ABCDEFGHIKLMNOPQRSTUVXY"))  # Vietnamese tickers rarely use J, W, Z
    out: list[str] = []
    seen = set(taken)
    while len(out) < n:
        cand = "".join(rng.choice(letters, 3))
        if cand not in seen:
            seen.add(cand)
            out.append(cand)
    return out


@cache
def full() -> pd.DataFrame:
    """VN30 + synthetic listings: ~400 HOSE, ~330 HNX, ~870 UPCoM (1,600 rows), deterministic."""
    rng = np.random.default_rng(_UNIVERSE_SEED)
    base = vn30()
    n_hose = FULL_COUNTS["HOSE"] - len(base)
    exch = np.array(["HOSE"] * n_hose + ["HNX"] * FULL_COUNTS["HNX"] + ["UPCOM"] * FULL_COUNTS["UPCOM"])
    n = len(exch)
    order = rng.permutation(n)  # interleave exchanges so a small n_symbols cap still spans all three
    exch = exch[order]
    symbols = _synthetic_tickers(rng, n, set(base["symbol"]))
    sector = np.array(SECTORS)[rng.choice(len(SECTORS), n, p=_SECTOR_WEIGHTS / _SECTOR_WEIGHTS.sum())]
    # Price levels: HOSE names are larger; UPCoM has many penny stocks (a few hundred to a few thousand VND).
    median = np.select([exch == "HOSE", exch == "HNX"], [18_000.0, 12_000.0], 7_000.0)
    price = median * np.exp(rng.normal(0.0, 0.8, n))
    price = np.clip(price, 500, 250_000)
    price = np.where(price < 10_000, np.round(price / 100) * 100, np.round(price / 1000) * 1000)
    price = np.maximum(price, 200).astype(np.int64)  # on every exchange's grid
    adv_median = np.select([exch == "HOSE", exch == "HNX"], [400_000.0, 80_000.0], 8_000.0)
    adv = np.round(adv_median * np.exp(rng.normal(0.0, 1.2, n)), -2).astype(np.int64)
    adv = np.maximum(adv, 200)
    shares = (np.round(60e6 * np.exp(rng.normal(0.0, 1.0, n)), -5)).astype(np.int64)
    cap = np.where(sector == "Banks", 30.0, np.where(rng.random(n) < 0.1, 100.0, 49.0))
    # ~90% listed before the default genesis; ~10% list during 2019-2025 (first-day bands, new listings).
    old = rng.random(n) < 0.9
    days_old = rng.integers(0, (dt.date(2018, 12, 1) - dt.date(2006, 1, 1)).days, n)
    days_new = rng.integers(0, (dt.date(2025, 12, 1) - dt.date(2019, 2, 1)).days, n)
    listed = [
        (dt.date(2006, 1, 1) + dt.timedelta(int(a))) if o else (dt.date(2019, 2, 1) + dt.timedelta(int(b)))
        for o, a, b in zip(old, days_old, days_new, strict=True)
    ]
    beta = np.clip(rng.normal(1.0, 0.3, n), 0.2, 2.0)
    synth = pd.DataFrame(
        {
            "symbol": symbols,
            "exchange": exch,
            "sector": sector,
            "listed_on": listed,
            "foreign_cap_pct": cap,
            "price": price,
            "adv_shares": adv,
            "beta": beta,
            "shares_outstanding": shares,
        }
    )
    df = pd.concat([base, synth], ignore_index=True)
    df["instrument_type"] = "stock"
    df["foreign_cap_pct"] = df["foreign_cap_pct"].astype(float)
    return df


def universe_frame(name: str) -> pd.DataFrame:
    """Full parameter frame for a universe name ("vn30" or "full")."""
    if name == "vn30":
        return full().iloc[: len(vn30())].reset_index(drop=True)
    if name == "full":
        return full()
    raise ValueError(f"unknown universe {name!r}; expected 'vn30' or 'full'")
