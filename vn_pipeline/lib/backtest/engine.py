"""Order generation: a day-by-day simulation that enforces the VN rules and emits exact share sizes.

Why precompute a plan instead of a vectorbt order function: the rules (lots, T+2 lot ageing, locked limits, pending
targets that survive blocked days, shared cash with sells first, bonus shares of stock dividends) are easier to get
right and to test as one self-contained loop, and the resulting order sizes are replayed through
``vbt.Portfolio.from_orders``, which then owns the accounting. The runner cross-checks that vectorbt filled exactly
these orders, so the two can never silently diverge.

The simulation runs on quoted (unadjusted) prices and real share counts, so a lot is 100 real shares and every
fill can be checked against the exchange's own prices and bands. A stock dividend credits
``floor(shares × (1 + ratio))`` at the ex-date's open; the fraction of a share is cancelled, as Vietnamese issuers
do, and the bonus shares can only be sold once listed (``Rules.bonus_lock_days``). A position can then hold an odd
lot (1-99 shares), which is sold on the odd-lot board together with, or apart from, whole lots.

Every other corporate action is credited in cash at the ex-date's open, on the shares held at the close before it
(the record date precedes the ex-date; T+2 makes the holder at the previous close the one who is paid), from the
``cash_credit`` panel (VND per share held before the ex-date, built by ``inputs.cash_credit``):

- a cash dividend credits its ``cash_per_share``. The payment date is weeks later in reality; crediting on the
  ex-date keeps the book's value continuous across the price cut (the cash is owed from that day) and is the
  convention of total-return indices.
- an ``unknown`` event (an adjustment whose kind the vendor's prices cannot tell, lib/sources/vendors/
  cafef_adjustments.py) credits ``reference_before − reference_after``: the vendor's adjusted series assumes the
  holder was made whole by exactly that price cut, so this keeps the book's return across the ex-date equal to the
  adjusted series' return, the series features and signals are computed on. Crediting nothing would book the cut
  as a loss no holder suffered (a stock dividend the data could not name); crediting shares would assume a kind
  the data does not show. Cash is the neutral value: at the ex-date's reference it is worth what bonus shares
  would be. A cut that raises the price (reference_after > reference_before, a vendor error) credits nothing:
  no corporate action takes cash from holders.
- a rights issue gets the same value as ``unknown``. Exercising it takes a subscription payment and the new shares
  list weeks later, and a holder may sell or let the right lapse; the neutral choice is the value the adjustment
  ascribes to the right, which is what a holder selling it would roughly receive.

The loop itself is a numba kernel over plain arrays: a full market (~1,600 symbols × 10 years) is ~4 M
symbol-bars, two passes each; the per-symbol Python loop took ~2 s per run, the kernel ~30 ms, which matters once
strategies are swept. Its results are identical to a plain Python reference (tested). The kernel is cached on disk
(``cache=True``): the compile (~4 s) is paid only by the first run after a change to this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from vn_pipeline.lib.backtest.rules import (
    Rules,
    cash_credit_panel,
    fill_price_panel,
    share_factor_panel,
    tradable_masks,
)

CASH_EPS = 1e-9  # relative headroom so float rounding in vectorbt can never reject a buy we sized to the cent
# shares × (1 + ratio) is whole up to float error (100 × 1.1 = 110.00000000000001); a smaller remainder is that error,
# not a fraction of a share to cancel.
_WHOLE_EPS = 1e-6


@dataclass(frozen=True)
class OrderPlan:
    size: np.ndarray  # (n_bars, n_symbols) signed shares, NaN = no order
    price: np.ndarray  # fill price on bars with an order
    fees: np.ndarray  # fractional fees per order (sell = sell_fee + sale_tax), for vectorbt
    positions: np.ndarray  # shares held after each bar
    cash: np.ndarray  # cash after each bar
    # (n_bars, n_symbols) int64: the weights row (decision bar) each order pursues, -1 = no order. Always < the
    # order's own bar; a retried order keeps its decision's row until a newer weight for its symbol supersedes it.
    signal: np.ndarray
    # Fractions of a share cancelled at a stock dividend's ex-date (floor(shares × (1 + ratio)) are credited).
    cancelled: np.ndarray
    # VND credited in cash at each bar's open for its corporate actions (shares held before × cash_credit).
    credited: np.ndarray


def plan_orders(
    weights: np.ndarray, bars: dict[str, np.ndarray], mark: np.ndarray, init_cash: float, rules: Rules
) -> OrderPlan:
    """Simulate rebalancing to ``weights`` under ``rules``.

    weights[t] is the target decided at bar t's close (all-NaN row = no new decision); it is acted on from bar t+1.
    A weight fixes a target *share count* for its symbol (floor to the lot) from equity and prices at the
    decision's close, the last prices known when the orders are placed; the symbol then trades toward that target
    on every following bar until reached or superseded, so a trade blocked by T+2, a locked limit, suspension or
    cash is retried, not dropped. A NaN inside a decision row gives its symbol no new target: a name that reached
    its target is left alone (not traded back to a weight), a pending one keeps going. When cash is short, every
    buy gets the same fraction of its lots. ``bars`` may carry a ``share_factor`` panel (1 + ratio on a stock
    dividend's ex-date, else 1) and a ``cash_credit`` panel (VND per share held before the ex-date).
    ``mark`` is the forward-filled close (in each bar's share units) that decisions
    are sized at.
    """
    args = kernel_inputs(weights, bars, mark, init_cash, rules)
    size, fees, positions, cash, signal, cancelled, credited = plan_kernel(*args)
    price = args[1]
    return OrderPlan(
        size=size,
        price=np.where(np.isfinite(size), price, np.nan),
        fees=fees,
        positions=positions,
        cash=cash,
        signal=signal,
        cancelled=cancelled,
        credited=credited,
    )


def kernel_inputs(
    weights: np.ndarray, bars: dict[str, np.ndarray], mark: np.ndarray, init_cash: float, rules: Rules
) -> tuple:
    """Positional arguments of :func:`plan_kernel` (separate so the kernel can be timed on its own)."""
    price = fill_price_panel(bars, rules.fill)
    can_buy, can_sell = tradable_masks(bars, rules.fill)
    factor = share_factor_panel(bars)
    credit = cash_credit_panel(bars)
    shape = np.shape(weights)
    if len(shape) != 2 or any(np.shape(a) != shape for a in (price, can_buy, can_sell, mark, factor, credit)):
        # The kernel does not bounds-check: a mismatched panel would read garbage instead of raising.
        raise ValueError(f"weights {shape}, fill price {np.shape(price)} and mark {np.shape(mark)} must match")

    def f64(a: np.ndarray) -> np.ndarray:
        # One C-contiguous float64 layout -> one compiled specialisation, and row-wise access stays cache friendly
        # (pandas' to_numpy() often hands back Fortran-ordered panels).
        return np.ascontiguousarray(a, dtype=np.float64)

    return (
        f64(weights),
        f64(price),
        np.ascontiguousarray(can_buy, dtype=np.bool_),
        np.ascontiguousarray(can_sell, dtype=np.bool_),
        f64(mark),
        f64(factor),
        f64(credit),
        float(init_cash),
        float(rules.lot),
        int(rules.min_hold_bars),
        int(rules.bonus_lock_days),
        float(rules.buy_fee),
        float(rules.sell_fee + rules.sale_tax),
        CASH_EPS,
    )


@numba.njit(cache=True)
def _sellable_lots(qty: float, held: float, lot: float) -> float:
    """Most shares <= ``qty`` that whole lots plus, optionally, the position's odd lot (odd-lot board) make up."""
    lots = np.floor(qty / lot) * lot
    odd = held % lot
    if odd > 0 and qty >= odd:
        lots = max(lots, np.floor((qty - odd) / lot) * lot + odd)
    return lots


@numba.njit(cache=True)
def plan_kernel(
    weights: np.ndarray,
    price: np.ndarray,
    can_buy: np.ndarray,
    can_sell: np.ndarray,
    mark: np.ndarray,
    share_factor: np.ndarray,
    cash_credit: np.ndarray,
    init_cash: float,
    lot: float,
    hold: int,
    bonus_lock: int,
    buy_fee: float,
    sell_rate: float,
    cash_eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The planning loop of :func:`plan_orders` on plain arrays; returns (size, fees, positions, cash, signal,
    cancelled, credited).

    Share counts are whole numbers held in float64, so the running unsettled sum below is exact.
    """
    n, m = weights.shape
    size = np.full((n, m), np.nan)
    fees = np.zeros((n, m))
    positions = np.empty((n, m))
    cash_path = np.empty(n)
    signal = np.full((n, m), -1, dtype=np.int64)
    cancelled = np.zeros((n, m))
    credited = np.zeros((n, m))

    pos = np.zeros(m)
    target = np.zeros(m)  # target shares of each symbol with a decision
    origin = np.full(m, -1, dtype=np.int64)  # weights row behind each target; -1 = none yet, trade nothing
    ref = np.empty(m)
    buy = np.zeros(m)  # whole lots each symbol would buy on the bar
    # Locked shares (unsettled buys, unlisted bonus shares) and when they unlock: release[t % span] becomes
    # sellable at the start of bar t. A buy's lock of 0 or 1 bar never binds (a bar's sells come before its buys);
    # bonus shares, credited before the sells, are locked by any lock >= 1.
    span = max(hold, bonus_lock, 1) + 1
    release = np.zeros((span, m))
    unsettled = np.zeros(m)
    cash = init_cash

    for t in range(n):
        slot = t % span
        for j in range(m):
            unsettled[j] -= release[slot, j]
            release[slot, j] = 0.0

        # Cash for the ex-date's other actions, on the shares held before it (before any bonus shares).
        for j in range(m):
            if cash_credit[t, j] != 0.0 and pos[j] > 0:
                credited[t, j] = pos[j] * cash_credit[t, j]
                cash += credited[t, j]

        # Stock dividends at the ex-date's open: bonus shares, fraction cancelled; targets follow in share units.
        for j in range(m):
            k = share_factor[t, j]
            if k == 1.0:  # finite and positive: checked by share_factor_panel
                continue
            if pos[j] > 0:
                exact = pos[j] * k
                whole = np.floor(exact + _WHOLE_EPS)
                if exact - whole > _WHOLE_EPS:
                    cancelled[t, j] = exact - whole
                bonus = whole - pos[j]
                pos[j] = whole
                if bonus > 0 and bonus_lock > 0:
                    unsettled[j] += bonus
                    release[(t + bonus_lock) % span, j] += bonus
            target[j] = np.floor(target[j] * k + _WHOLE_EPS)

        if t > 0:
            decided = False
            for j in range(m):
                if np.isfinite(weights[t - 1, j]):
                    decided = True
                    break
            if decided:
                held_value = 0.0
                for j in range(m):
                    # Sized at the decision's own close (in today's share units, less what today's actions paid
                    # out in cash, which equity now holds as cash): the fill price is not known yet.
                    r = (mark[t - 1, j] - cash_credit[t, j]) / share_factor[t, j]
                    if np.isfinite(r) and r > 0:
                        ref[j] = r
                        held_value += pos[j] * r
                    else:
                        ref[j] = np.nan
                equity = cash + held_value
                for j in range(m):
                    # NaN weight: no new target. An unpriceable symbol (never traded) cannot be sized either.
                    raw = np.floor(weights[t - 1, j] * equity / ref[j] / lot) * lot
                    if np.isfinite(raw):
                        target[j] = max(raw, 0.0)
                        origin[j] = t - 1

        # Sells first so their proceeds fund the same bar's buys.
        for j in range(m):
            want = pos[j] - target[j]
            if origin[j] < 0 or want <= 0 or not can_sell[t, j]:
                continue
            qty = _sellable_lots(min(want, pos[j] - unsettled[j]), pos[j], lot)
            if qty <= 0:
                continue
            cash += qty * price[t, j] * (1.0 - sell_rate)
            pos[j] -= qty
            size[t, j] = -qty
            fees[t, j] = sell_rate
            signal[t, j] = origin[j]
        # Buys: whole lots toward target. When the cash cannot pay for all of them, every name gets the same
        # fraction of its lots, so none is favoured by its place in the columns.
        need = 0.0
        for j in range(m):
            want = np.floor((target[j] - pos[j]) / lot) * lot
            buy[j] = want if origin[j] >= 0 and want > 0 and can_buy[t, j] else 0.0
            if buy[j] > 0:  # price is NaN on bars where a buy is impossible
                need += buy[j] * price[t, j] * (1.0 + buy_fee)
        budget = cash * (1.0 - cash_eps)
        scale = 1.0 if need <= budget else budget / need
        for j in range(m):
            if buy[j] <= 0:
                continue
            unit = price[t, j] * (1.0 + buy_fee)
            qty = min(np.floor(buy[j] * scale / lot) * lot, np.floor(cash * (1.0 - cash_eps) / unit / lot) * lot)
            if qty <= 0:
                continue
            cash -= qty * unit
            pos[j] += qty
            if hold > 1:
                unsettled[j] += qty
                release[(t + hold) % span, j] += qty
            size[t, j] = qty
            fees[t, j] = buy_fee
            signal[t, j] = origin[j]
        positions[t] = pos
        cash_path[t] = cash

    return size, fees, positions, cash_path, signal, cancelled, credited
