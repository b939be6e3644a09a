"""Intraday trades for one simulated day, consistent to the VND with the daily bar.

Design (daily value vs ticks): the daily bar is the source of truth. simulator.daily picks O/H/L/C, volume
V (lots) and a value S (lot-VND) on the lattice S = V*L + tick(L)*k. Every grid price between L and H is
congruent to L modulo tick(L) (HOSE ticks 10 | 50 | 100 and the regime boundaries are multiples of all of
them), so S is exactly reachable. Per symbol:

1. a Brownian bridge on the ladder of grid prices in [L, H], pinned to O (first trade / ATO print) and C
   (last trade / ATC print), with L and H forced onto the path's own extreme trades;
2. trade sizes: lognormal weights exponentially tilted (one bisected parameter per symbol) so the VWAP lands
   on S/V, then integer lots by cumulative rounding (sum exactly V);
3. an exact integer repair of the small residual: whole lots moved between a trade at L and one at H, then
   a few one-lot trades at grid prices q with sum(q - L) = residual, each placed right after the existing
   trade closest in price to q (so the path stays plausible).

Hence sum(volume) == volume, sum(price*volume) == value, first == open, last == close, max == high and
min == low hold by construction, without generating ticks for history. Everything is vectorized numpy over
the concatenated trades of all symbols (numba was tried: its optimizer segfaults on this machine); only the
per-symbol random draws and the small repair loop are Python-level. Each symbol draws from its own generator
seeded by (seed, day, symbol position), so its trades do not depend on which other symbols are requested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EX_HOSE, EX_HNX, EX_UPCOM = 0, 1, 2
SESS_ATO, SESS_CONT, SESS_ATC, SESS_PLO = 0, 1, 2, 3  # positions in lib/market/sessions.SESSION_CODES
SIDE_NONE, SIDE_BUY, SIDE_SELL = 0, 1, 2
MAX_PLO = 4
MAX_EXTRA = 48  # repair trades per symbol (typically 0-12)
POOL_LOTS = 24  # lots kept on the L and H trades so the repair can move whole lots
ATO_PRINT, ATC_PRINT = 9 * 3600 + 15 * 60, 14 * 3600 + 45 * 60  # prints stamped at the auction end
DAY_END = 15 * 3600
TILT_ITERATIONS = 30


# ------------------------------------------------------------------------------------ grid indexing
# Grid index G(p): number of grid prices below p. HOSE: 10 VND steps below 10,000 (1,000 prices), 50 below
# 50,000 (800 more), then 100. HNX/UPCoM: p / 100. For off-grid p, G floors (largest grid price <= p).


def grid_index(codes: np.ndarray, p: np.ndarray) -> np.ndarray:
    hose = np.where(p < 10_000, p // 10, np.where(p < 50_000, 1_000 + (p - 10_000) // 50, 1_800 + (p - 50_000) // 100))
    return np.where(codes == EX_HOSE, hose, p // 100)


def grid_price(codes: np.ndarray, g: np.ndarray) -> np.ndarray:
    hose = np.where(g < 1_000, g * 10, np.where(g < 1_800, 10_000 + (g - 1_000) * 50, 50_000 + (g - 1_800) * 100))
    return np.where(codes == EX_HOSE, hose, g * 100)


def _scalar_floor_grid(code: int, p: int) -> int:
    """Largest grid price <= p."""
    c, q = np.array([code]), np.array([p])
    return int(grid_price(c, grid_index(c, q))[0])


# --------------------------------------------------------------------------------------- segments


def ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges 0..count-1 per group."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def _seg_cumsum(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    cs = np.cumsum(x)
    ends = np.cumsum(counts)
    before = np.concatenate([[0.0 if x.dtype.kind == "f" else 0], cs[ends[:-1] - 1]]) if len(counts) else cs
    return cs - np.repeat(before, counts)


def _seg_sum(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    starts = np.cumsum(counts) - counts
    return np.add.reduceat(x, starts) if len(x) else np.zeros(len(counts), x.dtype)


def _first_by(order_key: np.ndarray, seg: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Index of the smallest key within each segment."""
    order = np.lexsort((order_key, seg))
    return order[starts]


@dataclass
class DayTrades:
    counts: np.ndarray  # trades per symbol
    t: np.ndarray  # seconds since local midnight
    price: np.ndarray
    lots: np.ndarray
    session: np.ndarray  # int8 SESS_*
    side: np.ndarray  # int8 SIDE_*


def build_day(
    codes: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    vol: np.ndarray,
    s_target: np.ndarray,
    n_total: np.ndarray,
    rngs: list[np.random.Generator],
    minute_start: np.ndarray,
    cdf: np.ndarray,
) -> DayTrades:
    """Trades of all symbols of a day. vol/s_target in lots / lot-VND; minute_start/cdf rows per exchange."""
    k = len(o)
    tiny = (vol < 3) & (codes != EX_UPCOM)  # too few lots for auction prints: continuous trades only
    n_pre = ((codes == EX_HOSE) & ~tiny).astype(np.int64)
    n_atc = ((codes != EX_UPCOM) & ~tiny).astype(np.int64)
    scal = np.array([r.random(6) for r in rngs]).reshape(k, 6)
    n_plo = np.where(
        (codes == EX_HNX) & ~tiny,
        np.minimum(np.minimum((scal[:, 4] * 5).astype(np.int64), MAX_PLO), np.maximum((n_total - 6) // 4, 0)),
        0,
    )
    n_c = np.where(tiny, n_total, np.maximum(n_total - n_pre - n_atc - n_plo, 1))
    n = n_pre + n_c + n_atc + n_plo

    # Per-symbol draws (Python loop over symbols only).
    z_walk, z_size, u_cont, u_plo, u_side = [], [], [], [], []
    for i, r in enumerate(rngs):
        nc, npl = int(n_c[i]), int(n_plo[i])
        z = r.standard_normal(2 * nc)
        z_walk.append(z[:nc])
        z_size.append(z[nc:])
        e = r.exponential(size=nc + 1)
        u_cont.append(np.cumsum(e)[:nc] / e.sum())
        ep = r.exponential(size=npl + 1)
        u_plo.append(np.cumsum(ep)[:npl] / ep.sum())
        u_side.append(r.random(int(n[i]) + MAX_EXTRA))
    z_walk_a = np.concatenate(z_walk) if k else np.zeros(0)
    z_size_a = np.concatenate(z_size) if k else np.zeros(0)
    u_cont_a = np.concatenate(u_cont) if k else np.zeros(0)

    # ---- base layout: [ATO] [continuous ...] [ATC] [PLO ...]
    seg = np.repeat(np.arange(k), n)
    pos_in = ranges(n)
    starts = np.cumsum(n) - n
    n_pre_r, n_c_r = np.repeat(n_pre, n), np.repeat(n_c, n)
    is_cont = (pos_in >= n_pre_r) & (pos_in < n_pre_r + n_c_r)
    sess = np.full(len(seg), SESS_CONT, dtype=np.int8)
    sess[(pos_in == 0) & (n_pre_r == 1)] = SESS_ATO
    sess[(pos_in == n_pre_r + n_c_r) & (np.repeat(n_atc, n) == 1)] = SESS_ATC
    sess[pos_in > n_pre_r + n_c_r] = SESS_PLO

    # ---- continuous price path on the ladder
    cseg = np.repeat(np.arange(k), n_c)
    ck = ranges(n_c)
    cstarts = np.cumsum(n_c) - n_c
    g_lo = grid_index(codes, lo)
    m = grid_index(codes, h) - g_lo + 1
    i_o = grid_index(codes, o) - g_lo
    i_c = grid_index(codes, c) - g_lo
    w_cum = _seg_cumsum(z_walk_a, n_c)
    last = np.repeat(w_cum[cstarts + n_c - 1], n_c)
    denom = np.repeat(np.maximum(n_c - 1, 1), n_c)
    frac = ck / denom
    bridge = w_cum - frac * last
    span = np.maximum.reduceat(bridge, cstarts) - np.minimum.reduceat(bridge, cstarts) if k else np.zeros(0)
    scale = np.repeat(0.6 * (m - 1) / np.maximum(span, 1e-9), n_c)
    # Bridge from O to C plus a hump toward the day's VWAP level: the path's mean sits near the VWAP, so
    # the size tilt below only has to make small corrections (and stays feasible with >= 1 lot a trade).
    i_vw = (s_target / np.maximum(vol, 1) - lo) / np.maximum(h - lo, 1) * (m - 1)
    hump = 1.5 * (i_vw - (i_o + i_c) / 2.0)
    base = np.repeat(i_o, n_c) + np.repeat(i_c - i_o, n_c) * frac + np.repeat(hump, n_c) * 4 * frac * (1 - frac)
    mc = np.repeat(m, n_c)
    pos = np.clip(np.rint(base + scale * bridge).astype(np.int64), 0, mc - 1)
    ccodes = np.repeat(codes, n_c)
    fix_first = (ck == 0) & (ccodes != EX_HOSE)
    fix_last = (ck == np.repeat(n_c - 1, n_c)) & (ccodes == EX_UPCOM)
    pos = np.where(fix_first, np.repeat(i_o, n_c), pos)
    pos = np.where(fix_last, np.repeat(i_c, n_c), pos)
    free = ~(fix_first | fix_last)
    big = np.iinfo(np.int64).max
    need_low = (lo != o) & (lo != c)
    need_high = (h != o) & (h != c)
    if k:
        k_low = _first_by(np.where(free, pos, big), cseg, cstarts)
        pos[k_low[need_low]] = 0
        taken = np.zeros(len(pos), dtype=bool)
        taken[k_low[need_low]] = True
        k_high = _first_by(np.where(free & ~taken, -pos, big), cseg, cstarts)
        pos[k_high[need_high]] = (m - 1)[need_high]
    p_cont = grid_price(ccodes, np.repeat(g_lo, n_c) + pos)

    price = np.empty(len(seg), dtype=np.int64)
    price[is_cont] = p_cont
    price[sess == SESS_ATO] = o[n_pre == 1]
    price[sess == SESS_ATC] = c[n_atc == 1]
    price[sess == SESS_PLO] = np.repeat(c, n_plo)

    # ---- times
    t = np.zeros(len(seg), dtype=np.int64)
    t_cont = np.zeros(len(p_cont), dtype=np.int64)
    for code in (EX_HOSE, EX_HNX, EX_UPCOM):
        sel = ccodes == code
        if not sel.any():
            continue
        cd, ms = cdf[code], minute_start[code]
        mi = np.minimum(np.searchsorted(cd, u_cont_a[sel]), len(cd) - 1)
        prev = np.where(mi > 0, cd[np.maximum(mi - 1, 0)], 0.0)
        f = (u_cont_a[sel] - prev) / np.maximum(cd[mi] - prev, 1e-12)
        t_cont[sel] = ms[mi] + np.minimum((f * 60).astype(np.int64), 59)
    ato_t = ATO_PRINT + (scal[:, 0] * 6).astype(np.int64)
    # HOSE continuous trading opens with the ATO print: nothing may be stamped before it.
    t_cont = np.where(ccodes == EX_HOSE, np.maximum(t_cont, np.repeat(ato_t, n_c)), t_cont)
    t[is_cont] = t_cont
    t[sess == SESS_ATO] = ato_t[n_pre == 1]
    t[sess == SESS_ATC] = (ATC_PRINT + (scal[:, 1] * 10).astype(np.int64))[n_atc == 1]
    if n_plo.any():
        u_plo_a = np.concatenate(u_plo)
        t[sess == SESS_PLO] = ATC_PRINT + 10 + (u_plo_a * (DAY_END - ATC_PRINT - 11)).astype(np.int64)

    # ---- lots
    lots = np.ones(len(seg), dtype=np.int64)
    roomy = vol - (n - n_c) > 4 * n_c  # enough volume to give the auction prints a real share
    ato_lots = np.where(roomy, np.maximum(1, (vol * (0.02 + 0.04 * scal[:, 2])).astype(np.int64)), 1)
    atc_lots = np.where(roomy, np.maximum(1, (vol * (0.04 + 0.06 * scal[:, 3])).astype(np.int64)), 1)
    lots[sess == SESS_ATO] = ato_lots[n_pre == 1]
    lots[sess == SESS_ATC] = atc_lots[n_atc == 1]
    fixed = ~is_cont
    fixed_lots = np.bincount(seg[fixed], weights=lots[fixed], minlength=k).astype(np.int64)
    fixed_val = np.bincount(seg[fixed], weights=(lots * price)[fixed], minlength=k)  # float ok: tilt only
    extra = vol - fixed_lots - n_c
    if (extra < 0).any():
        raise RuntimeError("fewer lots than trades: trade count exceeds volume")
    rng_px = np.maximum(h - lo, 1).astype(float)
    x = (p_cont - np.repeat(lo, n_c)) / np.repeat(rng_px, n_c)
    goal = ((s_target - fixed_val) - _seg_sum(p_cont.astype(float), n_c) - lo * extra) / (np.maximum(extra, 1) * rng_px)
    goal = np.clip(goal, 0.0, 1.0)
    w0 = np.exp(0.8 * z_size_a)
    a, b = np.full(k, -60.0), np.full(k, 60.0)
    tilt = (h > lo) & (extra > 0)
    for _ in range(TILT_ITERATIONS):
        mid = 0.5 * (a + b)
        e = w0 * np.exp(np.repeat(mid, n_c) * x)
        vw = _seg_sum(e * x, n_c) / _seg_sum(e, n_c)
        low_side = vw < goal
        a = np.where(low_side, mid, a)
        b = np.where(low_side, b, mid)
    theta = np.where(tilt, 0.5 * (a + b), 0.0)
    wt = w0 * np.exp(np.repeat(theta, n_c) * x)
    cum = _seg_cumsum(wt, n_c) / np.repeat(_seg_sum(wt, n_c), n_c)
    q = np.rint(np.repeat(extra, n_c) * cum).astype(np.int64)
    q[cstarts + n_c - 1] = extra
    prev_q = np.concatenate([[0], q[:-1]]) if len(q) else q
    prev_q[cstarts] = 0
    lots[is_cont] = 1 + q - prev_q

    # ---- exact repair (per symbol, scalar arithmetic on small slices)
    extra_host: list[int] = []
    extra_price: list[int] = []
    extra_count = np.zeros(k, dtype=np.int64)
    for i in np.flatnonzero(h > lo):
        a0, b0 = int(starts[i]), int(starts[i] + n[i])
        ps, vs = price[a0:b0], lots[a0:b0]
        L, H, code = int(lo[i]), int(h[i]), int(codes[i])
        i_l = int(np.argmax(np.where(ps == L, vs, -1)))
        i_h = int(np.argmax(np.where(ps == H, vs, -1)))
        _top_up(vs, i_l, POOL_LOTS, i_h)
        _top_up(vs, i_h, POOL_LOTS, i_l)
        delta = int(s_target[i]) - int(ps @ vs)
        if delta < 0:  # too much value: move lots from the priciest trades down to the L trade
            delta = _shift_or_retry(ps, vs, i_l, delta, i_h)
        if delta >= H - L:  # too little: move lots from the cheapest trades up to the H trade
            delta = _shift_or_retry(ps, vs, i_h, delta, i_l)
        c0, c1 = int(n_pre[i]), int(n_pre[i] + n_c[i])
        if code == EX_UPCOM:
            c1 -= 1  # UPCoM's last continuous trade is the close: nothing may follow it
        while delta > 0:
            # one lot from the cheapest trade that can spare it (normally the L pool) to a new trade at q
            src = i_l if vs[i_l] > 1 else int(np.argmin(np.where(vs > 1, ps, np.iinfo(np.int64).max)))
            p_src = int(ps[src])
            qp = _scalar_floor_grid(code, min(p_src + delta, H))
            if extra_count[i] >= MAX_EXTRA or vs[src] <= 1 or qp <= p_src:
                raise RuntimeError(f"value repair failed (symbol #{i}, residual {delta}, L={L}, H={H})")
            vs[src] -= 1
            extra_host.append(a0 + c0 + int(np.argmin(np.abs(ps[c0:c1] - qp))))
            extra_price.append(qp)
            extra_count[i] += 1
            delta -= qp - p_src

    # ---- assemble: each repair trade right after its host, same second
    host = np.array(extra_host, dtype=np.int64)
    n_base = len(seg)
    key = np.concatenate([np.arange(n_base, dtype=np.int64) * (MAX_EXTRA + 1), host * (MAX_EXTRA + 1) + 1])
    order = np.argsort(key, kind="stable")
    t_all = np.concatenate([t, t[host]])[order]
    p_all = np.concatenate([price, np.array(extra_price, dtype=np.int64)])[order]
    v_all = np.concatenate([lots, np.ones(len(host), dtype=np.int64)])[order]
    s_all = np.concatenate([sess, np.full(len(host), SESS_CONT, dtype=np.int8)])[order]
    counts = n + extra_count
    side = _sides(p_all, s_all, counts, u_side)
    return DayTrades(counts=counts, t=t_all, price=p_all, lots=v_all, session=s_all, side=side)


def _top_up(vs: np.ndarray, target: int, need: int, keep: int) -> None:
    """Give trade `target` at least `need` lots, taken from the largest other trades (never `keep`)."""
    while vs[target] < need:
        masked = vs.copy()
        masked[target] = -1
        masked[keep] = min(masked[keep], 1)
        big = int(np.argmax(masked))
        take = min(int(vs[big]) - 2, need - int(vs[target]))
        if take <= 0:
            return
        vs[big] -= take
        vs[target] += take


def _shift_or_retry(ps: np.ndarray, vs: np.ndarray, dst: int, delta: int, keep: int) -> int:
    """_shift protecting the other pool; on thin days (few lots) retry without the protection."""
    backup = vs.copy()
    try:
        return _shift(ps, vs, dst, delta, keep)
    except RuntimeError:
        vs[:] = backup
        return _shift(ps, vs, dst, delta, -1)


def _shift(ps: np.ndarray, vs: np.ndarray, dst: int, delta: int, keep: int) -> int:
    """Move whole lots onto trade `dst` from the trades farthest in price from it; returns the new delta.

    delta = target - current value. Onto the L trade (delta < 0) we overshoot to delta >= 0; onto the H trade
    (delta > 0) we stop short, leaving 0 <= delta < H - L for the one-lot repair trades. The other pool
    (`keep`) keeps half its lots for those repair trades.
    """
    gain = ps - ps[dst]  # value change per lot moved from j to dst is -gain[j]
    order = np.argsort(-gain if delta < 0 else gain, kind="stable")
    for j in order:
        g = int(gain[j])
        if j == dst or g == 0 or (g > 0) != (delta < 0) or vs[j] <= 1:
            continue
        per = abs(g)
        spare = int(vs[j]) - (max(1, POOL_LOTS // 2) if j == keep else 1)
        take = min(spare, (-delta + per - 1) // per if delta < 0 else delta // per)
        if take <= 0:
            continue
        vs[j] -= take
        vs[dst] += take
        delta += take * g if delta < 0 else -take * per
        if (delta >= 0) if g > 0 else (delta < per):
            break
    if delta < 0:
        raise RuntimeError(
            f"value repair failed: not enough lots to move (residual {delta}, {vs.sum()} lots, {len(vs)} trades)"
        )
    return delta


def _sides(p: np.ndarray, sess: np.ndarray, counts: np.ndarray, u_side: list[np.ndarray]) -> np.ndarray:
    """Aggressor side by the tick rule: up-tick buy, down-tick sell; unchanged repeats (30% flips).

    Auction prints have no aggressor. PLO trades (matched at the close after the ATC) get a side like
    continuous trades.
    """
    side = np.zeros(len(p), dtype=np.int8)
    if not len(p):
        return side
    k = len(counts)
    seg = np.repeat(np.arange(k), counts)
    u = np.concatenate(
        [us[: int(cn)] if len(us) >= cn else np.resize(us, int(cn)) for us, cn in zip(u_side, counts, strict=True)]
    )
    matched = (sess == SESS_CONT) | (sess == SESS_PLO)
    idx = np.flatnonzero(matched)
    mp, mseg = p[idx], seg[idx]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = mseg[1:] != mseg[:-1]
    dp = np.zeros(len(idx), dtype=np.int64)
    dp[1:] = mp[1:] - mp[:-1]
    dp[first] = 0
    tick_side = np.where(dp > 0, SIDE_BUY, np.where(dp < 0, SIDE_SELL, 0)).astype(np.int8)
    mu = u[idx]
    start_side = np.where(mu < 0.5, SIDE_BUY, SIDE_SELL).astype(np.int8)
    tick_side = np.where(first & (tick_side == 0), start_side, tick_side)
    defined = tick_side > 0
    last = np.maximum.accumulate(np.where(defined, np.arange(len(idx)), 0))
    carried = tick_side[last]
    flip = np.where(carried == SIDE_BUY, SIDE_SELL, SIDE_BUY).astype(np.int8)
    res = np.where(defined, tick_side, np.where(mu < 0.3, flip, carried))
    side[idx] = res
    return side
