"""Display formatting for report values: the kind of a number (percent, ratio, VND, days, ...) follows from its key.

Stats and risk dicts carry plain floats with the convention "fractions, not percents" (0.1234 = 12.34%; VaR/CVaR
are positive loss fractions of NAV; max_drawdown is a negative fraction). The key names are stable across the
backtest and risk code, so the format is chosen from the tokens of the key rather than from a hand-kept table that
would silently miss new keys. Missing values (None, NaN, NA, NaT) are rendered as an em dash.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re

import numpy as np
import pandas as pd

MISSING = "—"

# Monte Carlo band keys: "<base>_p05", "<base>_p95", "<base>_p2.5" ...
_BAND = re.compile(r"^(?P<base>.+)_p(?P<q>\d{1,2}(?:\.\d+)?)$")

_PCT_TOKENS = frozenset(
    {
        "return", "returns", "drawdown", "volatility", "vol", "var", "cvar", "es", "kelly", "loss", "losses",
        "weight", "weights", "exposure", "rate", "pct", "percent", "alpha", "stress", "cagr", "fraction", "share",
        "tracking", "invested", "usage",
    }
)  # fmt: skip
_RATIO_TOKENS = frozenset(
    {"sharpe", "sortino", "calmar", "information", "ratio", "beta", "ir", "skew", "kurtosis", "corr", "correlation"}
)
_DAY_TOKENS = frozenset({"days", "day", "duration", "horizon"})
# Foreign "room" is a share count in the risk tables (shares foreigners may still buy); its ratio to the book
# (share_of_foreign_room) and the used part of the foreign cap (foreign_room_usage) are caught as fractions first.
_COUNT_TOKENS = frozenset({"shares", "volume", "qty", "quantity", "count", "n", "trades", "fills", "positions", "room"})
_MONEY_TOKENS = frozenset({"value", "nav", "equity", "cash", "vnd", "notional", "fees", "fee", "tax", "pnl"})

_LABEL_WORDS = {
    "var": "VaR",
    "cvar": "CVaR",
    "es": "ES",
    "hist": "historical",
    "param": "parametric",
    "mc": "Monte Carlo",
    "hhi": "HHI",
    "nav": "NAV",
    "vnd": "VND",
    "pnl": "P&L",
    "ir": "IR",
    "vn30": "VN30",
    "adv": "ADV",
    "adv20": "ADV20",
    "kelly": "Kelly",
}
_LABELS = {
    "total_return": "Total return",
    "annualized_return": "Annualised return",
    "annualized_volatility": "Annualised volatility",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "calmar": "Calmar ratio",
    "max_drawdown": "Max drawdown",
    "turnover": "Turnover (× per year)",
    "win_rate": "Win rate",
    "excess_return": "Excess return vs benchmark",
    "information_ratio": "Information ratio",
    "half_kelly": "Half Kelly",
    "hhi": "Concentration (HHI)",
    "days_to_exit": "Days to exit",
}


def tokens(key: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", str(key).lower()) if t]


def kind_of(key: str) -> str:
    """'pct' | 'ratio' | 'days' | 'count' | 'money' | 'turnover' | 'hhi' | 'number' for a stat/column name.

    Order matters: "drawdown_days" is a duration, "stress_loss_vnd" an amount, "cash_weight" a fraction.
    """
    m = _BAND.match(str(key))
    toks = tokens(m.group("base") if m else key)
    ts = set(toks)
    if "hhi" in ts:
        return "hhi"
    if "turnover" in ts:
        return "turnover"
    if ts & _DAY_TOKENS:
        return "days"
    if "vnd" in ts:
        return "money"
    if ts & _PCT_TOKENS:
        return "pct"
    if ts & _COUNT_TOKENS:
        return "count"
    if ts & _MONEY_TOKENS:
        return "money"
    if ts & _RATIO_TOKENS:
        return "ratio"
    return "number"


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return math.isnan(float(value))
    try:
        return bool(pd.isna(value))  # np.datetime64('NaT'), pd.NaT subclasses ...
    except (TypeError, ValueError):
        return False


def format_number(value: float, kind: str) -> str:
    """Format a finite-or-infinite float as ``kind`` (see ``kind_of``)."""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "turnover":
        return f"{value:.2f}×"
    if kind == "hhi":
        return f"{value:.3f}"
    if kind == "days":
        return f"{value:,.1f}"
    if kind in ("count", "money"):
        return f"{value:,.0f}"
    # Unknown quantity: 2 decimals like a ratio, but keep tiny values visible and large ones readable.
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if 0 < a < 0.01:
        return f"{value:.3g}"
    return f"{value:.2f}"


def format_value(key: str, value: object, kind: str | None = None) -> str:
    """Display text (not yet HTML-escaped) for ``value`` under stat/column name ``key``."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, numbers.Integral):
        k = kind or kind_of(key)
        return format_number(float(value), k) if k in ("pct", "ratio", "turnover", "hhi") else f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return format_number(float(value), kind or kind_of(key))
    return str(value)


def format_param(value: object) -> str:
    """Parameters are configuration, not statistics: show them exactly (0.0015 stays 0.0015, 1e9 -> 1,000,000,000)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        f = float(value)
        if f.is_integer() and abs(f) < 1e15:
            return f"{f:,.0f}"
        return repr(f)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def label(key: str) -> str:
    """Human label for a stat key: known keys by name, otherwise built from tokens ("var_hist_95" -> "VaR historical
    95%")."""
    if key in _LABELS:
        return _LABELS[key]
    toks, words, i = tokens(key), [], 0
    while i < len(toks):
        t = toks[i]
        if re.fullmatch(r"\d{2}", t):
            # Confidence-level tag: "95" -> "95%", "97_5" -> "97.5%" (the risk code's level_tag spelling).
            if i + 1 < len(toks) and toks[i + 1].isdigit():
                t, i = f"{t}.{toks[i + 1]}", i + 1
            words.append(f"{t}%")
        else:
            words.append(_LABEL_WORDS.get(t, t))
        i += 1
    text = " ".join(words) or str(key)
    return text[:1].upper() + text[1:]


def split_bands(stats: dict[str, object]) -> tuple[list[str], list[str], dict[str, dict[str, object]]]:
    """Separate Monte Carlo band keys from point values.

    Returns (row keys in first-seen order, band quantile labels sorted numerically like ["p05", "p95"], and
    {row key: {"value": point value, "p05": ..., "p95": ...}}). A band without a point value still gets a row.
    """
    rows: dict[str, dict[str, object]] = {}
    quantiles: set[str] = set()
    for key, value in stats.items():
        m = _BAND.match(str(key))
        if m and m.group("base") not in ("", None):
            base, q = m.group("base"), "p" + m.group("q")
            rows.setdefault(base, {})[q] = value
            quantiles.add(q)
        else:
            rows.setdefault(str(key), {})["value"] = value
    order = sorted(quantiles, key=lambda q: float(q[1:]))
    return list(rows), order, rows
