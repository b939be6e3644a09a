"""backtest/*: the model's book and its baselines, traded under the exchange's rules and simulated with vectorbt.

Every backtest trades on the next session after its signal at quoted prices, pays 0.15% per side plus the 0.1%
sale tax, buys in 100-share lots with the cash it has, sells only from the afternoon of T+2, never buys a
ceiling-locked or sells a floor-locked stock, and receives the bonus shares of stock dividends it holds.
backtest/topk_overlay is the same top-k book under a practitioner's risk overlay (volatility target, VN30 regime
filter, drawdown stop, name and sector caps), so the two can be read side by side.
Results land in backtest.* and in an HTML tearsheet under the state directory.
"""

import dagster as dg
import pandas as pd

from vn_pipeline.defs.backtest.inputs import BacktestConfig
from vn_pipeline.defs.backtest.presentation import backtest_metadata, overlay_metadata
from vn_pipeline.defs.common import BACKTESTS as KEYS
from vn_pipeline.defs.common import CORPORATE_ACTIONS, INDEX_LEVELS, LISTINGS, OHLCV_1D, PREDICTIONS
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.backtest import run_backtest
from vn_pipeline.lib.backtest.baselines import bollinger_reversion, equal_weight_buy_and_hold, ma_momentum
from vn_pipeline.lib.backtest.inputs import (
    bar_panels,
    daily_returns,
    from_start,
    in_window,
    score_panel,
    vn30_levels,
    vn30_returns,
)
from vn_pipeline.lib.backtest.overlay import Overlay, apply_overlay, overlay_inputs
from vn_pipeline.lib.backtest.runner import hold_index
from vn_pipeline.lib.backtest.store import save_backtest
from vn_pipeline.lib.backtest.strategies import topk_book
from vn_pipeline.lib.portfolio.construction import Method

BACKTESTS = {"group_name": "backtest", "owners": ["team:research"], "kinds": {"timescaledb", "vectorbt"}}
MARKET = [OHLCV_1D, LISTINGS, CORPORATE_ACTIONS, INDEX_LEVELS]


class TopkConfig(BacktestConfig):
    """TopkDropout on ml.predictions, with equal weights or a risk-based weighting of the chosen names."""

    k: int = 10
    n_drop: int = 2
    rebalance_days: int = 1
    weighting: Method = "equal"  # or "min_variance", "mean_variance" (scores as expected returns), "risk_parity"
    max_weight: float = 0.2  # per-name cap for the risk-based weightings
    max_turnover: float | None = None  # cap on sum |w - w_prev| per rebalance for the risk-based weightings
    lookback_days: int = 60  # trailing days of returns for the covariance


class OverlayConfig(dg.Config):
    """The risk overlay (lib/backtest/overlay.py), each rule on or off; every rule for day D reads data up to D's
    close only. Gross exposure is never above 1 (no margin). The defaults are lib's ``Overlay()`` (tested)."""

    vol_targeting: bool = True
    target_vol: float = 0.20  # annualised ex-ante volatility of the book
    vol_lookback_days: int = 60
    regime_filter: bool = True  # cash while VN30 closes below its moving average
    regime_ma_days: int = 200
    regime_band: float = 0.02  # re-enter only above the average × (1 + band)
    drawdown_stop: bool = False  # cash once the un-overlaid book is drawdown_limit below its peak
    drawdown_limit: float = 0.15
    drawdown_reentry: float = 0.05  # back in on this rise from the trough
    name_cap: bool = True
    max_name_weight: float = 0.15
    sector_cap: bool = True  # sectors of market.listings
    max_sector_weight: float = 0.35
    rebalance_band: float = 0.10  # re-size when gross is off target by more than this
    min_trade: float = 0.01  # smaller changes of a name's weight are not traded

    def overlay(self) -> Overlay:
        return Overlay(
            target_vol=self.target_vol if self.vol_targeting else None,
            vol_lookback=self.vol_lookback_days,
            vol_min_days=min(Overlay.vol_min_days, self.vol_lookback_days),
            regime_ma_days=self.regime_ma_days if self.regime_filter else None,
            regime_band=self.regime_band,
            drawdown_limit=self.drawdown_limit if self.drawdown_stop else None,
            drawdown_reentry=self.drawdown_reentry,
            max_name_weight=self.max_name_weight if self.name_cap else None,
            max_sector_weight=self.max_sector_weight if self.sector_cap else None,
            rebalance_band=self.rebalance_band,
            min_trade=self.min_trade,
        )


class TopkOverlayConfig(TopkConfig):
    """The top-k book's own settings (keep them equal to backtest/topk's to compare the two) and its overlay."""

    overlay: OverlayConfig = OverlayConfig()


class MomentumConfig(BacktestConfig):
    fast: int = 20
    slow: int = 60
    rebalance_days: int = 5


class BollingerConfig(BacktestConfig):
    window: int = 20
    n_std: float = 2.0
    max_positions: int = 10


def _run(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    strategy: str,
    weights: pd.DataFrame,
    panels: dict[str, pd.DataFrame],
    config: BacktestConfig,
    extra: dict | None = None,
) -> dg.MaterializeResult:
    start, end = weights.index[0], weights.index[-1]
    try:
        with warehouse.connect() as conn:
            benchmark = vn30_returns(conn, start, end, weights.index)
    except ValueError as missing:  # the book can still be simulated; only the comparison is lost
        context.log.warning(f"backtest/{strategy}: {missing}; no excess return or information ratio")
        benchmark = None
    if benchmark is not None and benchmark.isna().any():
        covered = benchmark.first_valid_index()
        context.log.warning(f"backtest/{strategy}: no VN30 levels before {covered}: the comparison with VN30 covers "
                            f"{covered} → {end} only")  # fmt: skip
    result = run_backtest(weights, from_start(panels, start), config.init_cash, config.rules(), benchmark)
    return _record(context, warehouse, strategy, result, config, benchmark, extra)


def _record(context, warehouse, strategy, result, config, benchmark, extra=None) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        save_backtest(conn, strategy, result, config.model_dump())
    context.log.info(f"backtest/{strategy}: {len(result.trades)} fills, stats {result.stats}")
    metadata = backtest_metadata(strategy, result, benchmark, config.model_dump())
    return dg.MaterializeResult(metadata={**metadata, **(extra or {})})


def _topk_weights(config: TopkConfig, panels: dict[str, pd.DataFrame], scores: pd.DataFrame, start) -> pd.DataFrame:
    return topk_book(scores, panels["adj_close"], start, config.k, config.n_drop, config.rebalance_days,
                     config.weighting, lookback=config.lookback_days, max_weight=config.max_weight,
                     max_turnover=config.max_turnover)  # fmt: skip


@dg.asset(key=KEYS["topk"], deps=[PREDICTIONS, *MARKET], **BACKTESTS)
def topk(context: dg.AssetExecutionContext, config: TopkConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A top-k book on the out-of-sample scores in the manner of Qlib's TopkDropout: k names, the n_drop worst
    held replaced on each rebalance; equal weights, or min-variance / mean-variance / risk-parity weights."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end, warmup_days=config.lookback_days)
        scores = score_panel(conn, start, end, like=panels["close"])
    return _run(context, warehouse, "topk", _topk_weights(config, panels, scores, start), panels, config)


@dg.asset(key=KEYS["topk_overlay"], deps=[PREDICTIONS, *MARKET], **BACKTESTS)
def topk_overlay(
    context: dg.AssetExecutionContext, config: TopkOverlayConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """backtest/topk's book under a practitioner's risk overlay: exposure scaled to a volatility target (gross
    never above 1), cash while VN30 is below its moving average, an optional drawdown stop, and caps per name and
    per sector; every decision for day D from data up to D's close."""
    start, end = config.trading_window(warehouse)
    overlay = config.overlay.overlay()
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end, warmup_days=max(config.lookback_days, overlay.vol_lookback))
        scores = score_panel(conn, start, end, like=panels["close"])
        inputs = overlay_inputs(conn, start, end, overlay)
    book = _topk_weights(config, panels, scores, start)
    overlaid = apply_overlay(book, daily_returns(panels["adj_close"]), overlay, **inputs)
    extra = overlay_metadata(overlaid.exposure)
    return _run(context, warehouse, "topk_overlay", overlaid.weights, panels, config, extra)


@dg.asset(key=KEYS["ma_momentum"], deps=MARKET, **BACKTESTS)
def ma_momentum_backtest(
    context: dg.AssetExecutionContext, config: MomentumConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Baseline: equal weights over the names whose fast moving average is above the slow one."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end, warmup_days=config.slow)
    weights = ma_momentum(panels["adj_close"], config.fast, config.slow, config.rebalance_days)
    return _run(context, warehouse, "ma_momentum", in_window(weights, start), panels, config)


@dg.asset(key=KEYS["bollinger"], deps=MARKET, **BACKTESTS)
def bollinger_backtest(
    context: dg.AssetExecutionContext, config: BollingerConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Baseline: buy below the lower Bollinger band, sell back above the middle band, fixed slots."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end, warmup_days=config.window)
    weights = bollinger_reversion(panels["adj_close"], config.window, config.n_std, config.max_positions)
    return _run(context, warehouse, "bollinger", in_window(weights, start), panels, config)


@dg.asset(key=KEYS["equal_weight"], deps=MARKET, **BACKTESTS)
def equal_weight_backtest(
    context: dg.AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Baseline: the whole universe in equal weights on the first day, held (with its bonus shares) to the end."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end)
    return _run(context, warehouse, "equal_weight", equal_weight_buy_and_hold(panels["close"]), panels, config)


@dg.asset(key=KEYS["vn30"], deps=[INDEX_LEVELS], **BACKTESTS)
def vn30_backtest(
    context: dg.AssetExecutionContext, config: BacktestConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Baseline: the VN30 index itself, bought at the first close, no costs (what every book is measured by)."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        levels = vn30_levels(conn, start, end)
    result = hold_index(levels, config.init_cash)
    return _record(context, warehouse, "vn30", result, config, None)


STRATEGY_ASSETS = {
    "topk": topk,
    "topk_overlay": topk_overlay,
    "ma_momentum": ma_momentum_backtest,
    "bollinger": bollinger_backtest,
    "equal_weight": equal_weight_backtest,
}
ASSETS = [*STRATEGY_ASSETS.values(), vn30_backtest]
