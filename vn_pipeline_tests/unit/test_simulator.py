"""Simulated market: determinism, point-in-time, exchange rules, tick/bar consistency."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market.exchanges import board_lot, on_tick_grid, price_limits_array, tick_sizes
from vn_pipeline.lib.sources.simulator import market as simmod
from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig

START = dt.date(2019, 1, 2)
DAY = dt.date(2024, 6, 4)
MIXED = SimulatorConfig(universe="full", n_symbols=150)  # VN30 + interleaved HOSE/HNX/UPCoM names


def _fresh(config: SimulatorConfig) -> MarketSimulator:
    simmod._shared_path.cache_clear()  # no shared cache: really recompute
    return MarketSimulator(config)


@pytest.fixture(scope="module")
def mixed() -> MarketSimulator:
    return MarketSimulator(MIXED)


@pytest.fixture(scope="module")
def history(mixed: MarketSimulator) -> pd.DataFrame:
    """Bars joined to listings over 2019-2024 for the mixed universe."""
    bars = mixed.daily_bars(START, dt.date(2024, 12, 31))
    lst = mixed.listings(START, dt.date(2024, 12, 31))
    return bars.merge(lst, on=["trading_date", "symbol"], how="left", validate="1:1")


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    a = _fresh(SimulatorConfig(seed=3))
    bars_a, ticks_a = a.daily_bars(START, dt.date(2019, 6, 28)), a.ticks(dt.date(2019, 6, 28), ["FPT", "HPG"])
    b = _fresh(SimulatorConfig(seed=3))
    pd.testing.assert_frame_equal(bars_a, b.daily_bars(START, dt.date(2019, 6, 28)))
    pd.testing.assert_frame_equal(ticks_a, b.ticks(dt.date(2019, 6, 28), ["FPT", "HPG"]))
    c = _fresh(SimulatorConfig(seed=4))
    assert not bars_a.equals(c.daily_bars(START, dt.date(2019, 6, 28)))


def test_point_in_time_day_does_not_depend_on_window_or_later_days() -> None:
    d = dt.date(2020, 3, 2)
    short = _fresh(MIXED).daily_bars(d, d)
    long = _fresh(MIXED).daily_bars(START, dt.date(2021, 12, 31))
    pd.testing.assert_frame_equal(short, long[long["trading_date"] == d].reset_index(drop=True))
    # ticks are a function of (seed, day, symbol) only
    full = _fresh(MIXED).ticks(d)
    some = _fresh(MIXED).ticks(d, ["VNM"])
    pd.testing.assert_frame_equal(some, full[full["symbol"] == "VNM"].reset_index(drop=True))


def test_vn30_is_a_prefix_of_the_full_market() -> None:
    vn30 = MarketSimulator(SimulatorConfig()).daily_bars(DAY, DAY)
    full = MarketSimulator(MIXED).daily_bars(DAY, DAY)
    pd.testing.assert_frame_equal(vn30, full[full["symbol"].isin(vn30["symbol"])].reset_index(drop=True))


def test_prices_on_grid_and_inside_the_band(history: pd.DataFrame) -> None:
    h = history
    ex = h["exchange"].to_numpy()
    for col in ("open", "high", "low", "close"):
        assert on_tick_grid(ex, h[col].to_numpy()).all(), col
    assert (h["low"] >= h["floor_price"]).all() and (h["high"] <= h["ceiling_price"]).all()
    assert (h["low"] <= h[["open", "close"]].min(axis=1)).all()
    assert (h["high"] >= h[["open", "close"]].max(axis=1)).all()
    floor, ceil = price_limits_array(ex, h["reference_price"].to_numpy(), h["first_day"].to_numpy())
    assert (floor == h["floor_price"]).all() and (ceil == h["ceiling_price"]).all()
    assert on_tick_grid(ex, h["reference_price"].to_numpy()).all()


def test_volumes_in_board_lots(history: pd.DataFrame) -> None:
    lots = np.array([board_lot(e, d) for e, d in zip(history["exchange"], history["trading_date"], strict=True)])
    assert (history["volume"] % lots == 0).all() and (history["volume"] > 0).all()
    recent = history[history["trading_date"] >= dt.date(2021, 1, 4)]
    assert (recent["volume"] % 100 == 0).all()


def test_limit_days_exist_and_trade_thinly(history: pd.DataFrame) -> None:
    h = history.copy()
    up = h["close"] == h["ceiling_price"]
    assert 0.005 < up.mean() < 0.08
    rel = h["volume"] / h.groupby("symbol")["volume"].transform("median")
    locked = up & (h["open"] == h["close"]) & (h["low"] == h["high"]) & ~h["first_day"]
    assert locked.sum() > 20
    assert rel[locked].mean() < 0.5 * rel[~up].mean()


def test_some_symbols_skip_days_but_stay_listed(mixed: MarketSimulator) -> None:
    lst = mixed.listings(DAY, DAY)
    bars = mixed.daily_bars(DAY, DAY)
    assert set(bars["symbol"]) < set(lst["symbol"])
    assert list(lst.columns) == simmod.LISTING_COLUMNS and list(bars.columns) == simmod.BAR_COLUMNS


def test_stock_dividend_adjusts_reference_on_ex_date(mixed: MarketSimulator, history: pd.DataFrame) -> None:
    ca = mixed.corporate_actions(START, dt.date(2024, 12, 31))
    assert len(ca) > 20 and set(ca["kind"]) == {"stock_dividend"}
    lst = mixed.listings(START, dt.date(2024, 12, 31)).set_index(["trading_date", "symbol"])
    refs = lst.loc[list(zip(ca["ex_date"], ca["symbol"], strict=True)), "reference_price"].to_numpy()
    assert (refs == ca["reference_after"].to_numpy()).all()
    expected = np.rint(ca["reference_before"] / (1 + ca["ratio"]))
    ex = ca["symbol"].map(mixed.universe().set_index("symbol")["exchange"]).to_numpy()
    tick = tick_sizes(ex, ca["reference_after"].to_numpy())
    assert (np.abs(ca["reference_after"] - expected) <= tick / 2).all()  # nearest grid price
    assert (ca["reference_after"] < ca["reference_before"]).all()


def test_foreign_flows(mixed: MarketSimulator, history: pd.DataFrame) -> None:
    ff = mixed.foreign_flows(START, dt.date(2024, 12, 31))
    assert (ff["room_remaining"] >= 0).all()
    m = ff.merge(history, on=["trading_date", "symbol"])
    assert (m["buy_volume"] <= m["volume"]).all() and (m["sell_volume"] <= m["volume"]).all()
    b = m[m["buy_volume"] > 0]
    assert (b["buy_value"] % b["buy_volume"] == 0).all()
    px = b["buy_value"] // b["buy_volume"]
    assert ((px >= b["low"]) & (px <= b["high"])).all()
    # room moves with net foreign buying
    first = ff.sort_values("trading_date").groupby("symbol")["room_remaining"].nunique()
    assert (first > 1).mean() > 0.5


def test_shares_outstanding_are_point_in_time_through_stock_dividends(mixed: MarketSimulator) -> None:
    end = dt.date(2024, 12, 31)
    lst = mixed.listings(START, end)
    caps = mixed.universe().set_index("symbol")["foreign_cap_pct"] / 100.0
    assert (lst["foreign_limit"].to_numpy() == caps[lst["symbol"]].to_numpy()).all()
    assert set(lst["foreign_limit"]) == {0.30, 0.34, 0.49, 1.0}
    assert (lst["shares_outstanding"] > 0).all() and lst["shares_outstanding"].dtype == np.int64
    vcb = lst[(lst["symbol"] == "VCB") & (lst["trading_date"] == START)]
    ca = mixed.corporate_actions(START, START)
    if not (ca["symbol"] == "VCB").any():
        assert vcb["shares_outstanding"].item() == 5_589_000_000  # data/vn30.csv
    # Outstanding shares change on an ex-date only, by the stock dividend's new shares.
    ca = mixed.corporate_actions(START, end).set_index(["ex_date", "symbol"])
    panel = lst.pivot(index="trading_date", columns="symbol", values="shares_outstanding")
    prev = panel.shift()
    steps = (panel - prev).stack().dropna()  # NaN: not listed yet
    steps = steps[steps != 0]
    assert len(ca) > 20 and set(steps.index) == set(ca.index) - {(START, s) for s in panel.columns}
    before = prev.stack().dropna().loc[steps.index]
    assert (steps == np.round(before * ca.loc[steps.index, "ratio"])).all()


def test_foreign_room_is_the_cap_less_foreign_holdings_every_day(mixed: MarketSimulator) -> None:
    """room = floor(limit × outstanding) − foreign-held on every day, holdings in [0, cap] (usage in [0, 1]),
    and holdings move only by the day's foreign flows and the stock dividends' new shares."""
    end = dt.date(2024, 12, 31)
    ff = mixed.foreign_flows(START, end)
    m = ff.merge(mixed.listings(START, end), on=["trading_date", "symbol"], how="left", validate="1:1")
    cap = np.floor(m["foreign_limit"] * m["shares_outstanding"]).astype(np.int64)
    recs = mixed._window(START, end)
    stack = {name: mixed._stack(recs, name) for name in ("traded", "listed", "foreign_held", "f_buy", "f_sell")}
    held = stack["foreign_held"][stack["traded"]]  # same cells, same order as foreign_flows' rows
    assert (m["room_remaining"] == cap - held).all()
    assert (held >= 0).all() and (m["room_remaining"] >= 0).all()
    usage = 1.0 - m["room_remaining"] / (m["foreign_limit"] * m["shares_outstanding"])
    assert usage.between(0.0, 1.0).all()
    # = held / (limit × outstanding), but for the cap's fraction of a share lost to the floor
    total = m["foreign_limit"] * m["shares_outstanding"]
    gap = (usage - held / total) * total
    assert ((gap > -1e-6) & (gap < 1 + 1e-6)).all()
    assert (usage > 0.999).mean() > 0.05 and (usage < 0.8).mean() > 0.2  # full rooms and roomy names both occur
    # Untraded days publish no room, but the identity holds on every listed day.
    limit = caps_of(mixed)
    outstanding = mixed._stack(recs, "shares_outstanding")
    full_cap = np.floor(limit * outstanding).astype(np.int64)
    rooms = mixed._stack(recs, "room")
    assert (rooms == full_cap - stack["foreign_held"])[stack["listed"]].all()
    assert ((stack["foreign_held"] >= 0) & (stack["foreign_held"] <= full_cap)).all()
    # Conservation: held[t] = held[t-1] + buys - sells; on an ex-date the holding first grows by the dividend.
    h = stack["foreign_held"]
    expected = h[:-1] + stack["f_buy"][1:] - stack["f_sell"][1:]
    for t, rec in enumerate(recs[1:]):
        for col, ratio, _, _ in rec.dividends:
            grown = min(h[t, col] + round(h[t, col] * ratio), full_cap[t + 1, col])
            expected[t, col] = grown + rec.f_buy[col] - rec.f_sell[col]
    assert (h[1:] == expected).all()
    assert (stack["f_buy"] > 0).sum() > 10_000  # flows really move the holdings


def caps_of(sim: MarketSimulator) -> np.ndarray:
    return sim.universe()["foreign_cap_pct"].to_numpy(dtype=float) / 100.0


@pytest.mark.parametrize("day", [dt.date(2020, 7, 15), DAY])
def test_ticks_aggregate_exactly_to_daily_bars(mixed: MarketSimulator, day: dt.date) -> None:
    ticks = mixed.ticks(day)
    bars = mixed.daily_bars(day, day).set_index("symbol")
    assert list(ticks.columns) == simmod.TICK_COLUMNS
    assert str(ticks["ts"].dtype) == "datetime64[ns, Asia/Ho_Chi_Minh]"
    assert ticks["seq"].dtype == np.int32 and ticks["price"].dtype == np.int64
    assert set(ticks["trading_date"]) == {day}
    assert ticks["seq"].eq(ticks.groupby("symbol").cumcount()).all()
    g = ticks.groupby("symbol")
    agg = g.agg(
        open=("price", "first"), high=("price", "max"), low=("price", "min"), close=("price", "last"),
        volume=("volume", "sum"),
    )  # fmt: skip
    agg["value"] = (ticks["price"] * ticks["volume"]).groupby(ticks["symbol"]).sum()
    pd.testing.assert_frame_equal(agg.loc[bars.index], bars.drop(columns="trading_date"), check_names=False)
    assert set(bars.join(mixed.universe().set_index("symbol"))["exchange"]) == {"HOSE", "HNX", "UPCOM"}
    # every tick on the grid, in the band, in board lots, time-ordered per symbol
    ex = ticks["symbol"].map(mixed.universe().set_index("symbol")["exchange"]).to_numpy()
    assert on_tick_grid(ex, ticks["price"].to_numpy()).all()
    lot = board_lot("HOSE", day)
    assert (ticks["volume"] % lot == 0).all() and (ticks["volume"] > 0).all()
    assert g["ts"].apply(lambda s: s.is_monotonic_increasing).all()


def test_ticks_respect_sessions(mixed: MarketSimulator) -> None:
    ticks = mixed.ticks(DAY)
    ex = ticks["symbol"].map(mixed.universe().set_index("symbol")["exchange"])
    secs = (ticks["ts"].dt.hour * 3600 + ticks["ts"].dt.minute * 60 + ticks["ts"].dt.second).to_numpy()

    def between(a: str, b: str) -> np.ndarray:
        ta, tb = (dt.time.fromisoformat(x) for x in (a, b))
        return (secs >= ta.hour * 3600 + ta.minute * 60 + ta.second) & (
            secs < tb.hour * 3600 + tb.minute * 60 + tb.second
        )

    cont = (ticks["session"] == "CONT").to_numpy()
    hose, hnx, upcom = (ex == "HOSE").to_numpy(), (ex == "HNX").to_numpy(), (ex == "UPCOM").to_numpy()
    assert not between("11:30", "13:00").any()
    assert (between("09:15", "11:30") | between("13:00", "14:30"))[cont & hose].all()
    assert (between("09:00", "11:30") | between("13:00", "14:30"))[cont & hnx].all()
    assert (between("09:00", "11:30") | between("13:00", "15:00"))[cont & upcom].all()
    ato, atc = (ticks["session"] == "ATO").to_numpy(), (ticks["session"] == "ATC").to_numpy()
    assert between("09:15:00", "09:15:06")[ato].all() and between("14:45:00", "14:45:10")[atc].all()
    assert ticks.loc[ato | atc, "side"].isna().all()
    assert set(ticks.loc[cont, "side"]) == {"B", "S"}
    assert not ticks.loc[upcom, "session"].isin(["ATO", "ATC", "PLO"]).any()
    assert not ticks.loc[hnx, "session"].eq("ATO").any()
    plo = (ticks["session"] == "PLO").to_numpy()
    assert plo.any() and hnx[plo].all() and between("14:45", "15:00")[plo].all()
    # every liquid HOSE name opens with an ATO print and closes with an ATC print
    vn30 = ticks[ticks["symbol"].isin(mixed.universe()["symbol"][:30])]
    assert (vn30.groupby("symbol")["session"].first() == "ATO").all()
    assert (vn30.groupby("symbol")["session"].last() == "ATC").all()


def test_locked_limit_day_has_few_trades_all_at_the_limit(mixed: MarketSimulator, history: pd.DataFrame) -> None:
    h = history
    locked = h[(h["close"] == h["ceiling_price"]) & (h["low"] == h["high"]) & (h["volume"] >= 10_000)]
    row = locked.iloc[-1]
    ticks = mixed.ticks(row["trading_date"], [row["symbol"]])
    assert (ticks["price"] == row["ceiling_price"]).all()
    assert len(ticks) <= 45


def test_universes_and_errors() -> None:
    full = MarketSimulator(SimulatorConfig(universe="full")).universe()
    assert 1_500 <= len(full) <= 1_700 and full["symbol"].is_unique
    counts = full["exchange"].value_counts()
    assert counts["HOSE"] >= 350 and counts["HNX"] >= 300 and counts["UPCOM"] >= 800
    vn30 = MarketSimulator().universe()
    assert len(vn30) == 30 and set(vn30["exchange"]) == {"HOSE"} and {"VCB", "HPG", "FPT"} <= set(vn30["symbol"])
    assert list(vn30.columns) == ["symbol", "exchange", "instrument_type", "sector", "listed_on", "foreign_cap_pct"]
    sim = MarketSimulator(SimulatorConfig(n_symbols=5))
    with pytest.raises(ValueError, match="genesis"):
        sim.daily_bars(dt.date(2018, 12, 3), dt.date(2019, 1, 10))
    # past the officially announced years the calendar is computed, so the simulator runs on (1 Jan 2027 closed)
    across = sim.listings(dt.date(2026, 12, 30), dt.date(2027, 1, 5))
    assert sorted(set(across["trading_date"])) == [dt.date(2026, 12, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 4),
                                                   dt.date(2027, 1, 5)]  # fmt: skip
    with pytest.raises(ValueError, match="not a trading day"):
        sim.ticks(dt.date(2024, 6, 1))  # a Saturday


def test_no_return_predictability_without_planted_effects(history: pd.DataFrame) -> None:
    # Every symbol's daily log return is symmetric about 0: neither volatility (the old +0.5 x variance drift,
    # t 3.6 here) nor yesterday's limit hit (the old carry of the unfilled move, t 27) ranks tomorrow's return.
    from vn_pipeline.lib.ml.evaluation import newey_west_t

    h = history[~history["first_day"]].sort_values(["symbol", "trading_date"])
    ret = np.log(h["close"] / h["reference_price"])
    by_symbol = ret.groupby(h["symbol"])
    lim = (h["close"] == h["ceiling_price"]).astype(float) - (h["close"] == h["floor_price"])
    predictors = {
        "trailing_vol": by_symbol.transform(lambda s: s.rolling(60, min_periods=20).std().shift()),
        "limit_yesterday": lim.groupby(h["symbol"]).shift(),
    }
    for name, x in predictors.items():
        frame = pd.DataFrame({"day": h["trading_date"], "x": x, "y": ret}).dropna()
        r = frame.groupby("day")[["x", "y"]].rank()
        r = r - r.groupby(frame["day"]).transform("mean")
        sums = (r.assign(xy=r["x"] * r["y"], xx=r["x"] ** 2, yy=r["y"] ** 2)).groupby(frame["day"]).sum()
        ic = (sums["xy"] / np.sqrt(sums["xx"] * sums["yy"])).dropna()  # daily Spearman rank IC
        assert len(ic) > 1_000 and abs(newey_west_t(ic.to_numpy(), 1)) < 2.5, (name, ic.mean())
