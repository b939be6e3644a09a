"""Entry point: plan VN-rule-compliant orders, replay them in vectorbt, and package the result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import vectorbt as vbt

from vn_pipeline.lib.backtest.engine import OrderPlan, plan_orders
from vn_pipeline.lib.backtest.rules import Rules, share_factor_panel
from vn_pipeline.lib.backtest.stats import compute_stats

BAR_FIELDS = ("open", "high", "low", "close", "vwap", "volume", "ceiling", "floor")
TRADE_COLUMNS = ["date", "symbol", "side", "shares", "price", "fees", "tax", "signal_date"]
ORDER_COLUMNS = ["signal_date", "symbol", "target_weight"]


@dataclass
class BacktestResult:
    equity: pd.Series
    trades: pd.DataFrame  # one row per fill: date, symbol, side, shares, price, fees, tax, signal_date
    positions: pd.DataFrame  # shares held after each bar
    orders: pd.DataFrame  # the decisions: signal_date, symbol, target_weight (NaN = keep the shares held)
    marks: pd.DataFrame  # the quoted prices positions are valued at (last close, carried across ex-dates)
    cash: pd.Series
    stats: dict[str, float] = field(default_factory=dict)
    # The vectorbt Portfolio, for further analysis. Its cash and value include the cash credits of corporate actions
    # not yet paid (prefunded, see run_backtest): ``equity`` and ``cash`` above are the book's own.
    portfolio: object | None = None


def _align(target_weights: pd.DataFrame, bars: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    missing = [k for k in BAR_FIELDS if k not in bars]
    if missing:
        raise ValueError(f"bars missing panels: {missing}")
    idx, cols = target_weights.index, target_weights.columns
    arr = {k: bars[k].reindex(index=idx, columns=cols).to_numpy(dtype=float) for k in BAR_FIELDS}
    if "share_factor" in bars:
        arr["share_factor"] = bars["share_factor"].reindex(index=idx, columns=cols).fillna(1.0).to_numpy(dtype=float)
    if "cash_credit" in bars:
        arr["cash_credit"] = bars["cash_credit"].reindex(index=idx, columns=cols).fillna(0.0).to_numpy(dtype=float)
    return arr


def _replay_orders(plan: OrderPlan, cum: np.ndarray, close_adj: np.ndarray) -> dict[str, np.ndarray]:
    """The plan as vectorbt orders in share units fixed at the panel's first bar (shares / cumulative factor,
    prices × factor), in which bonus shares are no event at all. Only the cancelled fraction of a share is: it
    leaves the position at no proceeds, folded into the bar's order with a fixed fee that takes its value back
    out, so vectorbt's cash equals the plan's to the VND."""
    size = plan.size / cum
    price = plan.price * cum
    fees = plan.fees.copy()
    fixed = np.zeros_like(fees)
    ti, sj = np.nonzero(plan.cancelled > 0)
    for t, j in zip(ti, sj, strict=True):
        gone = plan.cancelled[t, j] / cum[t, j]
        if np.isfinite(plan.size[t, j]):
            q, p = plan.size[t, j], plan.price[t, j]
            cash_delta = -q * p - fees[t, j] * abs(q) * p  # what the plan booked for the real fill
            size[t, j] -= gone
        else:
            cash_delta = 0.0
            size[t, j], price[t, j] = -gone, close_adj[t, j]
        s, pr = size[t, j], price[t, j]
        fixed[t, j] = -cash_delta - s * pr - fees[t, j] * abs(s) * pr
    return {"size": size, "price": price, "fees": fees, "fixed_fees": fixed}


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
    """Each decision's book: every non-zero target, a zero for each name it exits, and NaN for each name it keeps
    at the shares held (a NaN weight inside a decision row)."""
    decisions = target_weights.dropna(how="all")
    in_book = (decisions > 0).where(decisions.notna()).ffill().fillna(False).astype(bool)
    listed = (decisions > 0) | in_book.shift(1, fill_value=False)
    long = decisions.stack()[listed.stack().to_numpy()].rename("target_weight").reset_index()
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
    "no new decision"; a NaN inside a decision row keeps that name's shares as they are. Weights are fractions of
    equity; their sum should be <= 1 (cash never goes negative: buys are cut to the lots the cash can pay for).
    ``bars``: quoted (unadjusted) prices, and optionally ``share_factor`` (1 + ratio on a stock dividend's ex-date)
    so that holdings receive their bonus shares, and ``cash_credit`` (VND per share held before an ex-date: cash
    dividends, the value of unknown events and rights; engine.py) so that they receive the cash.
    ``benchmark``: the benchmark's daily returns, for the excess
    return and information ratio.
    """
    rules = rules or Rules()
    if (target_weights.fillna(0.0) < 0).to_numpy().any():
        raise ValueError("long-only: negative target weights are not allowed (no short selling in VN retail)")
    arr = _align(target_weights, bars)
    cum = np.cumprod(share_factor_panel(arr), axis=0)
    # Carried across a day without a trade in first-bar share units, so an ex-date falling on it still cuts the mark.
    mark_adj = pd.DataFrame(arr["close"] * cum).ffill().to_numpy()
    mark = mark_adj / cum
    plan = plan_orders(target_weights.to_numpy(dtype=float), arr, mark, float(init_cash), rules)

    idx, cols = target_weights.index, target_weights.columns
    close = pd.DataFrame(mark_adj, index=idx, columns=cols).bfill()  # vectorbt needs a finite valuation price
    orders = _replay_orders(plan, cum, close.to_numpy())
    # vectorbt has no cash-dividend input, so the credits are prefunded: its initial cash holds every credit the
    # plan will receive, and what is not yet received on a bar is taken back out of its cash and value below.
    # Fills are amounts, so the extra cash changes none of them.
    credits = plan.credited.sum(axis=1)
    pending = credits.sum() - np.cumsum(credits)
    pf = vbt.Portfolio.from_orders(
        close=close,
        **{name: pd.DataFrame(values, index=idx, columns=cols) for name, values in orders.items()},
        size_type="amount",
        init_cash=float(init_cash) + float(credits.sum()),
        cash_sharing=True,
        group_by=True,
        # The planner's own order: sells first, then buys by column. Precomputed, it is ~4x faster than "auto",
        # which sorts every bar by order value.
        call_seq=np.argsort(~(orders["size"] < 0), axis=1, kind="stable"),
        allow_partial=False,
        raise_reject=True,
        freq="1D",
    )
    vbt_pos = pf.assets().to_numpy() * cum
    vbt_cash = pf.cash().to_numpy() - pending
    # Two float sums of the same fills part by rounding that grows with the VND they have moved: a book grown
    # 120-fold over 13 real years, fully invested, holds a few VND of cash after 10^4 fills of 10^9 VND each.
    traded = np.cumsum(np.nansum(np.abs(orders["size"] * orders["price"]), axis=1))
    cash_tolerance = 1e-4 + 1e-12 * (float(init_cash) + float(credits.sum()) + traded)
    if not (
        np.allclose(vbt_pos, plan.positions, rtol=1e-9, atol=1e-6)
        and (np.abs(vbt_cash - plan.cash) <= cash_tolerance + 1e-9 * np.abs(plan.cash)).all()
    ):
        raise RuntimeError("vectorbt fills diverged from the rule-enforcing order plan")

    trades = _trade_table(plan, idx, cols, rules)
    equity = (pf.value() - pending).rename("equity")
    returns = equity / equity.shift(1, fill_value=float(init_cash)) - 1.0
    closed = pf.trades.closed
    cancel_only = (plan.cancelled > 0) & ~np.isfinite(plan.size)
    if cancel_only.any():  # a cancelled fraction alone is no round trip: keep it out of the win rate
        records = closed.values
        closed = closed.apply_mask(~cancel_only[records["exit_idx"], records["col"]])
    return BacktestResult(
        equity=equity,
        trades=trades,
        positions=pd.DataFrame(plan.positions, index=idx, columns=cols),
        orders=order_table(target_weights),
        marks=pd.DataFrame(mark, index=idx, columns=cols).bfill(),
        cash=pd.Series(vbt_cash, index=idx, name="cash"),
        stats=compute_stats(returns, equity, trades, closed, benchmark),
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
