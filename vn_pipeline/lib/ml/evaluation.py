"""Signal evaluation: daily IC / Rank IC, their ICIR, monthly table, coverage, feature importance, IC plot.

Conventions (same as Qlib's benchmark table, so numbers are comparable: LightGBM on Alpha158/CSI300 reports
IC 0.045, ICIR 0.37, Rank IC 0.047, Rank ICIR 0.39):
- IC = Pearson correlation between score and realised label across symbols of one day; Rank IC = Spearman.
- ICIR = mean(daily IC) / std(daily IC), per day and NOT annualised (multiply by sqrt(252) for that).
- t-stats use Newey-West standard errors: labels of consecutive days overlap (a 2-day-hold label shares
  2 of its 3 days with the next one), so daily ICs are autocorrelated and the naive mean/std*sqrt(n)
  overstates significance by ~sqrt(span). `lags` defaults to the label span.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from vn_pipeline.lib.ml.labels import label_span

KEYS = ["trading_date", "symbol"]
MIN_NAMES_PER_DAY = 5  # below this a daily correlation is noise, not information


def daily_ic(predictions: pd.DataFrame, labels: pd.DataFrame, min_names: int = MIN_NAMES_PER_DAY) -> pd.DataFrame:
    """Per trading_date: ic (Pearson), rank_ic (Spearman), n (scored names with a realised label)."""
    m = predictions[[*KEYS, "score"]].merge(labels[[*KEYS, "label"]], on=KEYS, how="inner")
    m = m[m["score"].notna() & m["label"].notna()]
    rows = []
    for day, g in m.groupby("trading_date", sort=True):
        if len(g) < min_names or g["score"].nunique() < 2 or g["label"].nunique() < 2:
            continue
        s, y = g["score"].to_numpy(float), g["label"].to_numpy(float)
        rows.append((day, np.corrcoef(s, y)[0, 1], g["score"].rank().corr(g["label"].rank()), len(g)))
    return pd.DataFrame(rows, columns=["trading_date", "ic", "rank_ic", "n"])


def newey_west_t(x: Sequence[float] | np.ndarray, lags: int) -> float:
    """t-stat of mean(x) with a Bartlett-kernel (Newey-West) long-run variance."""
    v = np.asarray(x, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n < 2:
        return float("nan")
    e = v - v.mean()
    lrv = e @ e / n
    for k in range(1, min(lags, n - 1) + 1):
        lrv += 2 * (1 - k / (lags + 1)) * (e[k:] @ e[:-k]) / n
    return float(v.mean() / np.sqrt(lrv / n)) if lrv > 0 else float("nan")


def summarize_ic(daily: pd.DataFrame, lags: int = label_span(2)) -> dict[str, float]:
    """Means, per-day ICIRs (not annualised), naive and Newey-West t-stats, day count."""
    out: dict[str, float] = {"n_days": float(len(daily))}
    for col, name in (("ic", "ic"), ("rank_ic", "rank_ic")):
        s = daily[col].dropna() if col in daily else pd.Series(dtype=float)
        mean, std = (s.mean(), s.std()) if len(s) > 1 else (float("nan"), float("nan"))
        out[f"{name}_mean"] = float(mean)
        out[f"{name}_std"] = float(std)
        out[f"{name}ir"] = float(mean / std) if std and std > 0 else float("nan")
        out[f"{name}_t"] = float(mean / std * np.sqrt(len(s))) if std and std > 0 else float("nan")
        out[f"{name}_t_nw"] = newey_west_t(s.to_numpy(), lags)
    return out


def monthly_ic(daily: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: days, mean IC / Rank IC and their per-day ICIR within the month."""
    d = daily.assign(month=pd.to_datetime(daily["trading_date"]).dt.to_period("M").astype(str))
    g = d.groupby("month")
    table = g.agg(n_days=("ic", "size"), ic_mean=("ic", "mean"), rank_ic_mean=("rank_ic", "mean"))
    table["icir"] = g["ic"].mean() / g["ic"].std()
    table["rank_icir"] = g["rank_ic"].mean() / g["rank_ic"].std()
    return table.reset_index()


MONTHLY_COLUMNS = ["month", "n_days", "ic_mean", "rank_ic_mean", "icir", "rank_icir"]


def monthly_series(monthly: pd.DataFrame) -> pd.DataFrame:
    """``monthly_ic``'s table as ml.evaluation_monthly stores it: each month as its first day (a date column the
    partition writes can replace a window of)."""
    out = monthly.assign(month=pd.to_datetime(monthly["month"].astype(str) + "-01").dt.date)
    return out.astype({"n_days": "int64"})[MONTHLY_COLUMNS]


def coverage(predictions: pd.DataFrame, tradable: pd.DataFrame) -> pd.DataFrame:
    """Per day: tradable names, of which scored, and the share (1.0 = every tradable symbol has a score)."""
    t = tradable[KEYS].drop_duplicates()
    scored = predictions.loc[predictions["score"].notna(), KEYS].drop_duplicates().assign(scored=True)
    m = t.merge(scored, on=KEYS, how="left")
    m["scored"] = m["scored"].notna()
    out = m.groupby("trading_date").agg(n_tradable=("symbol", "size"), n_scored=("scored", "sum")).reset_index()
    out["coverage"] = out["n_scored"] / out["n_tradable"]
    return out


def feature_importance(boosters: Sequence[lgb.Booster] | lgb.Booster, importance_type: str = "gain") -> pd.DataFrame:
    """Total split gain per feature (summed over boosters), with its share; sorted, largest first."""
    items = [boosters] if isinstance(boosters, lgb.Booster) else list(boosters)
    total: pd.Series | None = None
    for b in items:
        s = pd.Series(b.feature_importance(importance_type=importance_type), index=b.feature_name(), dtype=float)
        total = s if total is None else total.add(s, fill_value=0.0)
    if total is None:
        return pd.DataFrame(columns=["feature", importance_type, "share"])
    out = total.rename(importance_type).rename_axis("feature").reset_index()
    out["share"] = out[importance_type] / out[importance_type].sum() if out[importance_type].sum() > 0 else 0.0
    return out.sort_values(importance_type, ascending=False, ignore_index=True)


def plot_ic(daily: pd.DataFrame, title: str = "Daily IC and cumulative Rank IC") -> bytes:
    """PNG: daily IC as bars, cumulative Rank IC as a line on a second axis."""
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        x = pd.to_datetime(daily["trading_date"])
        ax.bar(x, daily["ic"], width=1.0, color=np.where(daily["ic"] >= 0, "tab:blue", "tab:red"), label="daily IC")
        ax.set_ylabel("daily IC")
        ax2 = ax.twinx()
        ax2.plot(x, daily["rank_ic"].fillna(0).cumsum(), color="black", label="cumulative Rank IC")
        ax2.set_ylabel("cumulative Rank IC")
        ax.set_title(title)
        fig.autofmt_xdate()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)


@dataclass
class EvaluationReport:
    daily: pd.DataFrame
    summary: dict[str, float]
    monthly: pd.DataFrame
    coverage: pd.DataFrame | None
    importance: pd.DataFrame | None


def evaluate(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    tradable: pd.DataFrame | None = None,
    boosters: Sequence[lgb.Booster] | None = None,
    horizon_days: int = 2,
) -> EvaluationReport:
    """Everything above in one call; Newey-West lags = label span of `horizon_days`."""
    daily = daily_ic(predictions, labels)
    return EvaluationReport(
        daily=daily,
        summary=summarize_ic(daily, lags=label_span(horizon_days)),
        monthly=monthly_ic(daily),
        coverage=coverage(predictions, tradable) if tradable is not None else None,
        importance=feature_importance(boosters) if boosters else None,
    )
