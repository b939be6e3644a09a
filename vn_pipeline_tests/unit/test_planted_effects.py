"""Planted simulator effects and the whole ML chain at library level: features -> labels -> walk-forward
LightGBM -> day-by-day predictions -> evaluation; plus a no-look-ahead test that rewrites the future.

Feature sets. The recovery tests use a minimal local feature set (1/5/20-day log returns, net foreign ratio and
its 20-day-RMS-scaled version): ~1 s per pipeline where lib.features' 213 columns cost tens of seconds of
training. The no-look-ahead test uses lib.features itself on the VN30.

The requirement, asserted literally: with effects OFF the walk-forward model finds nothing, i.e. its daily Rank
IC mean is statistically indistinguishable from 0 (Newey-West |t| < 2, lags = label span 3 because labels of
adjacent days overlap); with an effect ON it recovers it with the right sign (Rank IC > 0.02, t > 3).
NW(3) slightly understates the long-run variance of a persistent score against overlapping 3-day labels
(measured sd of t ~1.2 for random persistent scores), so |t| < 2 is a ~5-10% test per seed. The OFF seeds are
fixed (deterministic) and were checked against a wider set. Measured with this file's setup (200 names,
2022-01 to 2023-09, 244 test days), effects OFF, Rank IC mean (NW t): seed 1 -0.008 (-1.14), 2 +0.010
(+1.54), 3 +0.001 (+0.13), 7 +0.007 (+1.08), 11 -0.009 (-1.47), 13 -0.004 (-0.74), 17 +0.007 (+1.03),
19 +0.024 (+3.86; a chance episode: the same seed extended to 2025-09 gives +0.003, t 0.57 after 2023-09);
over 34 seeds (those and 20-45) mean Rank IC +0.0002, mean t -0.00, sd of t 1.14, one |t| > 2 (seed 19).
ON (seeds 1/2/3/7): reversal 0.098-0.116 (t 13.8-16.6), flow 0.027-0.046 (t 5.3-9.6).
Seed 13 is one of the OFF seeds because it caught the old bug: the simulator used to add +0.5 x variance to log
returns, so volatile names had higher median returns and the model learned it (seed 13: Rank IC 0.024, t 3.66;
seeds 17-27: all ten positive, mean t 2.5, six above 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.features import adjust_prices, compute_features
from vn_pipeline.lib.ml import (
    predict_for_day,
    predict_walk_forward,
    select_model,
    walk_forward_splits,
    walk_forward_train,
)
from vn_pipeline.lib.ml.evaluation import daily_ic, evaluate, newey_west_t
from vn_pipeline.lib.ml.labels import label_span, make_labels
from vn_pipeline.lib.sources.simulator import market as simmod
from vn_pipeline.lib.sources.simulator.market import AlphaEffect, MarketSimulator, SimulatorConfig

GENESIS, END = dt.date(2022, 1, 4), dt.date(2023, 9, 29)  # ~1.7 years
STRENGTH = 0.15
EFFECTS = {
    "off": (),
    "reversal": (AlphaEffect("short_term_reversal", STRENGTH),),
    "flow": (AlphaEffect("foreign_flow_momentum", STRENGTH),),
}
PARAMS = {"learning_rate": 0.1, "num_leaves": 15}
LAGS = label_span(2)
OFF_SEEDS = (7, 13)  # 7: the seed of the effect-ON tests; 13: the seed on which the old drift was clearest
KEYS = ["trading_date", "symbol"]


def _config(effects: tuple[AlphaEffect, ...], seed: int = 7, n: int = 200, genesis: dt.date = GENESIS):
    return SimulatorConfig(seed=seed, universe="full", n_symbols=n, genesis=genesis, alpha_effects=effects)


def _local_features(bars: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    b = bars.merge(flows[[*KEYS, "buy_volume", "sell_volume"]], on=KEYS, how="left").sort_values(["symbol", *KEYS])
    lc = np.log(b["close"].astype(float))
    out = b[KEYS].copy()
    for k in (1, 5, 20):
        out[f"ret_{k}"] = lc - lc.groupby(b["symbol"]).shift(k)
    out["nf_ratio"] = (b["buy_volume"] - b["sell_volume"]) / b["volume"]
    rms = (out["nf_ratio"] ** 2).groupby(b["symbol"]).transform(lambda s: s.rolling(20, min_periods=5).mean())
    out["nf_z20"] = out["nf_ratio"] / np.sqrt(rms)
    return out.sort_values(KEYS, ignore_index=True)


@cache
def _pipeline(name: str, seed: int = 7) -> dict:
    sim = MarketSimulator(_config(EFFECTS[name], seed))
    bars = adjust_prices(sim.daily_bars(GENESIS, END), sim.corporate_actions(GENESIS, END))
    feats = _local_features(bars, sim.foreign_flows(GENESIS, END))
    dates = sorted(feats["trading_date"].unique())[20:]  # 20-day warm-up of ret_20
    feats = feats[feats["trading_date"].isin(dates)]
    labels = make_labels(bars)
    train_labels = make_labels(bars, cross_sectional="zscore")  # market moves are noise for a ranking model
    splits = walk_forward_splits(dates, train_days=120, valid_days=40, test_days=40, step_days=40)
    models = walk_forward_train(feats, train_labels, splits, PARAMS, num_boost_round=100, early_stopping_rounds=10)
    test_days = [d for d in dates if any(s.test_start <= d <= s.test_end for s in splits)]
    preds = predict_walk_forward(models, feats, test_days, dates)
    tradable = feats.loc[feats["trading_date"].isin(test_days), KEYS]
    report = evaluate(preds, labels, tradable=tradable, boosters=[m.booster for m in models])
    direct = feats.assign(score=-feats["ret_5"] if name == "reversal" else feats["nf_z20"])
    if name == "off":
        direct = {k: feats.assign(score=v) for k, v in (("reversal", -feats["ret_5"]), ("flow", feats["nf_z20"]))}
    return {"report": report, "direct": direct, "labels": labels, "n_test_days": len(test_days)}


@pytest.mark.parametrize("effect", ["reversal", "flow"])
def test_planted_effect_is_recovered_with_the_right_sign(effect: str) -> None:
    on, off = _pipeline(effect), _pipeline("off")
    s = on["report"].summary
    assert on["n_test_days"] >= 200 and s["n_days"] >= 200
    assert s["rank_ic_mean"] > 0.02 and s["rank_ic_t_nw"] > 3, s
    assert (on["report"].coverage["coverage"] == 1.0).all()  # every tradable symbol scored every day
    # paired on the same seed (identical random draws): the gain over effects-off is the effect, not noise
    paired = on["report"].daily.merge(off["report"].daily, on="trading_date", suffixes=("_on", "_off"))
    diff = paired["rank_ic_on"] - paired["rank_ic_off"]
    assert newey_west_t(diff.to_numpy(), LAGS) > 3
    imp = on["report"].importance
    top2 = set(imp["feature"].head(2))  # the model leans on the planted effect's own inputs
    assert top2 & ({"ret_1", "ret_5"} if effect == "reversal" else {"nf_ratio", "nf_z20"}), imp


@pytest.mark.parametrize("seed", OFF_SEEDS)
def test_effects_off_the_model_finds_nothing(seed: int) -> None:
    off = _pipeline("off", seed)
    s = off["report"].summary
    assert s["n_days"] >= 200
    assert abs(s["rank_ic_t_nw"]) < 2.0 and abs(s["rank_ic_mean"]) < 0.015, s
    # Nor do the planted effects' own predictors (-5-day return, scaled net foreign ratio), which do work when ON.
    # Looser bound: these are 2 more checks per seed, and nf_z20 is persistent per symbol (names at their foreign
    # cap cannot be bought, so their net ratio stays negative), which inflates a NW(3) t like the model's (sd
    # ~1.2); measured seed 13: -2.1 for nf_z20, pure noise since flows do not move prices with effects off.
    for effect, frame in off["direct"].items():
        t = newey_west_t(daily_ic(frame[[*KEYS, "score"]], off["labels"])["rank_ic"].to_numpy(), LAGS)
        assert abs(t) < 2.5, (effect, t)
        if seed == 7:
            on = _pipeline(effect)
            t_on = newey_west_t(daily_ic(on["direct"][[*KEYS, "score"]], on["labels"])["rank_ic"].to_numpy(), LAGS)
            assert t_on > 3, (effect, t_on)


# --------------------------------------------------------------------------------------------- simulator


def test_effects_off_is_bit_identical_to_the_effect_free_simulator() -> None:
    # Golden hash of the effect-free default path, recorded when the base return process was made drift-free
    # (no +0.5 x variance, no per-symbol drift, no limit carry, log-centred VWAP). Effects off must reproduce it
    # bit for bit; any change to the base dynamics must update it deliberately and say why. Updated when listings
    # gained shares_outstanding and foreign_limit (migration 011): without those two columns the frames still hash
    # to 9cbb4ebb94a98627f29ebc4897db771ab113a3ea0722314762e8efb37dc0d7b7, the dynamics did not change.
    simmod._shared_path.cache_clear()
    cfg = SimulatorConfig(seed=11, universe="full", n_symbols=120, genesis=dt.date(2023, 1, 3))
    sim, end = MarketSimulator(cfg), dt.date(2023, 12, 29)
    h = hashlib.sha256()
    for f in (sim.daily_bars(cfg.genesis, end), sim.foreign_flows(cfg.genesis, end), sim.listings(cfg.genesis, end),
              sim.corporate_actions(cfg.genesis, end)):  # fmt: skip
        h.update(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes())
    assert h.hexdigest() == "0eecaeaeb72a003d9362692a27a3aacf3e86f1817148f20fe52db506b5adb8d7"


def test_effects_change_prices_point_in_time_on_grid_and_in_band() -> None:
    both = (AlphaEffect("short_term_reversal", 0.3), AlphaEffect("foreign_flow_momentum", 0.3))
    g, end, day = dt.date(2023, 1, 3), dt.date(2023, 6, 30), dt.date(2023, 3, 1)
    simmod._shared_path.cache_clear()
    short = MarketSimulator(_config(both, 3, 60, g)).daily_bars(g, day)
    simmod._shared_path.cache_clear()
    sim = MarketSimulator(_config(both, 3, 60, g))
    long = sim.daily_bars(g, end)
    pd.testing.assert_frame_equal(short, long[long["trading_date"] <= day].reset_index(drop=True))
    plain = MarketSimulator(_config((), 3, 60, g)).daily_bars(g, end)
    assert plain[plain["trading_date"] == g].equals(long[long["trading_date"] == g])  # no history: no effect
    assert not plain["close"].equals(long["close"])
    # the VN30 prefix property survives (per-symbol z-scores, not cross-sectional)
    vn30 = MarketSimulator(SimulatorConfig(seed=3, genesis=g, alpha_effects=both)).daily_bars(g, end)
    pd.testing.assert_frame_equal(vn30, long[long["symbol"].isin(vn30["symbol"])].reset_index(drop=True))
    from vn_pipeline.lib.market.exchanges import on_tick_grid, price_limits_array

    lst = sim.listings(g, end)
    h = long.merge(lst, on=KEYS, validate="1:1")
    for col in ("open", "high", "low", "close"):
        assert on_tick_grid(h["exchange"].to_numpy(), h[col].to_numpy()).all()
    floor, ceil = price_limits_array(h["exchange"].to_numpy(), h["reference_price"].to_numpy(), h["first_day"])
    assert (h["low"] >= floor).all() and (h["high"] <= ceil).all()


def test_alpha_effect_validation() -> None:
    with pytest.raises(ValueError, match="unknown alpha effect"):
        AlphaEffect("momentum", 0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AlphaEffect"):
        MarketSimulator(SimulatorConfig(alpha_effects=("short_term_reversal",)))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ look-ahead


def _vn30_chain(bars: pd.DataFrame, flows: pd.DataFrame, actions: pd.DataFrame, day: dt.date):
    adj = adjust_prices(bars, actions)
    feats = compute_features(adj, flows, None, start=dt.date(2023, 1, 3))
    dates = sorted(feats["trading_date"].unique())
    splits = walk_forward_splits(dates, train_days=80, valid_days=30, test_days=30, step_days=30)
    models = walk_forward_train(feats, make_labels(adj, cross_sectional="zscore"), splits, PARAMS, 30, 5)
    return (
        feats[feats["trading_date"] == day],
        select_model(models, day, dates),
        predict_for_day(models, feats, day, dates),
    )


def test_no_look_ahead_rewriting_everything_after_day_changes_nothing_for_day() -> None:
    g, end, day = dt.date(2022, 1, 4), dt.date(2023, 12, 29), dt.date(2023, 8, 15)
    sim = MarketSimulator(SimulatorConfig(seed=5, genesis=g, alpha_effects=EFFECTS["reversal"]))
    bars, flows, actions = sim.daily_bars(g, end), sim.foreign_flows(g, end), sim.corporate_actions(g, end)
    rng = np.random.default_rng(0)
    bars2, flows2 = bars.copy(), flows.copy()
    after = bars2["trading_date"] > day
    for col in ("open", "high", "low", "close", "volume", "value"):
        bars2.loc[after, col] = (bars2.loc[after, col] * rng.uniform(0.5, 1.5, after.sum())).round().astype(np.int64)
    fa = flows2["trading_date"] > day
    for col in ("buy_volume", "sell_volume", "buy_value", "sell_value", "room_remaining"):
        flows2.loc[fa, col] = (flows2.loc[fa, col] * rng.uniform(0, 3, fa.sum())).round().astype(np.int64)
    f1, m1, p1 = _vn30_chain(bars, flows, actions, day)
    f2, m2, p2 = _vn30_chain(bars2, flows2, actions, day)
    assert len(p1) == 30
    pd.testing.assert_frame_equal(f1, f2)
    assert m1.model_id == m2.model_id and m1.data_end < day
    pd.testing.assert_frame_equal(p1, p2)
    # and the rewrite did reach the models trained later (the test would be vacuous otherwise)
    assert not bars.equals(bars2)
