"""Entry point: plan VN-rule-compliant orders, replay them in vectorbt, and package the result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import vectorbt as vbt

from vn_pipeline.lib.backtest.engine import plan_orders
from vn_pipeline.lib.backtest.rules import Rules
from vn_pipeline.lib.backtest.stats import compute_stats

BAR_FIELDS = ("open", "high", "low", "close", "vwap", "volume", "ceiling", "floor")
TRADE_COLUMNS = ["date", "symbol", "side", "shares", "price", "fees", "tax", "signal_date"]
ORDER_COLUMNS = ["signal_date", "symbol", "target_weight"]


@dataclass
class BacktestResult:
    equity: pd.Series
    trades: pd.DataFrame  # one row per fill: date, symbol, side, shares, price, fees, tax, signal_date
    positions: pd.DataFrame  # shares held after each bar
    orders: pd.DataFrame  # the decisions: signal_date, symbol, target_weight (the book and its exits)
    marks: pd.DataFrame  # the prices positions are valued at (last close, forward-filled)
    cash: pd.Series
    stats: dict[str, float] = field(default_factory=dict)
    portfolio: object | None = None  # the vectorbt Portfolio, for further analysis


def _align(target_weights: pd.DataFrame, bars: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    missing = [k for k in BAR_FIELDS if k not in bars]
    if missing:
        raise ValueError(f"bars missing panels: {missing}")
    idx, cols = target_weights.index, target_weights.columns
    return {k: bars[k].reindex(index=idx, columns=cols).to_numpy(dtype=float) for k in BAR_FIELDS}


def _trade_table(plan, index: pd.Index, columns: pd.Index, rules: Rules) -> pd.DataFrame:
    ti, sj = np.nonzero(np.isfinite(plan.size))
    shares = plan.size[ti, sj]
    price = plan.price[ti, sj]
    value = np.abs(shares) * price
    sell = shares < 0
    return pd.DataFrame(
        {
            "date": index[ti],
            "symbol": columns[sj],
            "side": np.where(sell, "sell", "buy"),
            "shares": np.abs(shares).astype(np.int64),
            "price": price,
            "fees": value * np.where(sell, rules.sell_fee, rules.buy_fee),
            "tax": value * np.where(sell, rules.sale_tax, 0.0),
            "signal_date": index[plan.signal[ti, sj]],
        },
        columns=TRADE_COLUMNS,
    )


def order_table(target_weights: pd.DataFrame) -> pd.DataFrame:
    """Each decision's book: every non-zero target, plus a zero for each name the decision exits."""
    decisions = target_weights.dropna(how="all").fillna(0.0)
    exits = (decisions == 0) & (decisions.shift(1).fillna(0.0) > 0)
    long = decisions.where((decisions > 0) | exits).stack().dropna().rename("target_weight").reset_index()
    long.columns = ORDER_COLUMNS
    return long


def run_backtest(
    target_weights: pd.DataFrame,
    bars: dict[str, pd.DataFrame],
    init_cash: float,
    rules: Rules | None = None,
    benchmark: pd.Series | None = None,
) -> BacktestResult:
    """Backtest long-only target weights (rows = decision dates, columns = symbols) under VN rules.

    A row dated D is a decision at D's close; orders fill on the next bar at ``rules.fill``. NaN rows mean
    "no new decision". Weights are fractions of equity; their sum should be <= 1 (cash never goes negative:
    buys are cut to the lots the cash can pay for). ``benchmark``: the benchmark's daily returns, for the
    excess return and information ratio.
    """
    rules = rules or Rules()
    if (target_weights.fillna(0.0) < 0).to_numpy().any():
        raise ValueError("long-only: negative target weights are not allowed (no short selling in VN retail)")
    arr = _align(target_weights, bars)
    mark = pd.DataFrame(arr["close"]).ffill().to_numpy()
    plan = plan_orders(target_weights.to_numpy(dtype=float), arr, mark, float(init_cash), rules)

    idx, cols = target_weights.index, target_weights.columns
    close = pd.DataFrame(mark, index=idx, columns=cols).bfill()  # vectorbt needs a finite valuation price
    pf = vbt.Portfolio.from_orders(
        close=close,
        size=pd.DataFrame(plan.size, index=idx, columns=cols),
        size_type="amount",
        price=pd.DataFrame(plan.price, index=idx, columns=cols),
        fees=pd.DataFrame(plan.fees, index=idx, columns=cols),
        init_cash=float(init_cash),
        cash_sharing=True,
        group_by=True,
        # The planner's own order: sells first, then buys by column. Precomputed, it is ~4x faster than "auto",
        # which sorts every bar by order value.
        call_seq=np.argsort(~(plan.size < 0), axis=1, kind="stable"),
        allow_partial=False,
        raise_reject=True,
        freq="1D",
    )
    vbt_pos = pf.assets().to_numpy()
    vbt_cash = pf.cash().to_numpy()
    if not (np.allclose(vbt_pos, plan.positions, atol=1e-6) and np.allclose(vbt_cash, plan.cash, rtol=1e-9, atol=1e-4)):
        raise RuntimeError("vectorbt fills diverged from the rule-enforcing order plan")

    trades = _trade_table(plan, idx, cols, rules)
    equity = pf.value().rename("equity")
    return BacktestResult(
        equity=equity,
        trades=trades,
        positions=pd.DataFrame(plan.positions, index=idx, columns=cols),
        orders=order_table(target_weights),
        marks=close,
        cash=pd.Series(vbt_cash, index=idx, name="cash"),
        stats=compute_stats(pf.returns(), equity, trades, pf.trades.closed, benchmark),
        portfolio=pf,
    )


def hold_index(levels: pd.Series, init_cash: float, benchmark: pd.Series | None = None) -> BacktestResult:
    """The index itself as a strategy: ``init_cash`` invested at the first close, no trades, no costs."""
    levels = levels.dropna()
    equity = (levels / levels.iloc[0] * init_cash).rename("equity")
    returns = equity.pct_change().fillna(0.0)
    empty = pd.DataFrame(index=equity.index)
    return BacktestResult(
        equity=equity,
        trades=pd.DataFrame(columns=TRADE_COLUMNS),
        positions=empty,
        orders=pd.DataFrame(columns=ORDER_COLUMNS),
        marks=empty,
        cash=pd.Series(0.0, index=equity.index, name="cash"),
        stats=compute_stats(returns, equity, pd.DataFrame(columns=TRADE_COLUMNS), None, benchmark),
    )
