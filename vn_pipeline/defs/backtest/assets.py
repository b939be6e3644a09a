"""backtest/*: the model's book and its baselines, traded under the exchange's rules and simulated with vectorbt.

Every backtest trades on the next session after its signal at quoted prices, pays 0.15% per side plus the 0.1%
sale tax, buys in 100-share lots with the cash it has, sells only from the afternoon of T+2, never buys a
ceiling-locked or sells a floor-locked stock, and receives the bonus shares of stock dividends it holds.
Results land in backtest.* and in an HTML tearsheet under the state directory.
"""

import dagster as dg
import pandas as pd

from vn_pipeline.defs.backtest.inputs import BacktestConfig
from vn_pipeline.defs.backtest.presentation import backtest_metadata
from vn_pipeline.defs.common import BACKTESTS as KEYS
from vn_pipeline.defs.common import CORPORATE_ACTIONS, INDEX_LEVELS, LISTINGS, OHLCV_1D, PREDICTIONS
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.backtest import run_backtest
from vn_pipeline.lib.backtest.baselines import bollinger_reversion, equal_weight_buy_and_hold, ma_momentum
from vn_pipeline.lib.backtest.inputs import bar_panels, from_start, in_window, score_panel, vn30_levels, vn30_returns
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
) -> dg.MaterializeResult:
    start, end = weights.index[0], weights.index[-1]
    try:
        with warehouse.connect() as conn:
            benchmark = vn30_returns(conn, start, end, weights.index)
    except ValueError as missing:  # the book can still be simulated; only the comparison is lost
        context.log.warning(f"backtest/{strategy}: {missing}; no excess return or information ratio")
        benchmark = None
    result = run_backtest(weights, from_start(panels, start), config.init_cash, config.rules(), benchmark)
    return _record(context, warehouse, strategy, result, config, benchmark)


def _record(context, warehouse, strategy, result, config, benchmark) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        save_backtest(conn, strategy, result, config.model_dump())
    context.log.info(f"backtest/{strategy}: {len(result.trades)} fills, stats {result.stats}")
    return dg.MaterializeResult(metadata=backtest_metadata(strategy, result, benchmark, config.model_dump()))


@dg.asset(key=KEYS["topk"], deps=[PREDICTIONS, *MARKET], **BACKTESTS)
def topk(context: dg.AssetExecutionContext, config: TopkConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A top-k book on the out-of-sample scores in the manner of Qlib's TopkDropout: k names, the n_drop worst
    held replaced on each rebalance; equal weights, or min-variance / mean-variance / risk-parity weights."""
    start, end = config.trading_window(warehouse)
    with warehouse.connect() as conn:
        panels = bar_panels(conn, start, end, warmup_days=config.lookback_days)
        scores = score_panel(conn, start, end, like=panels["close"])
    weights = topk_book(scores, panels["adj_close"], start, config.k, config.n_drop, config.rebalance_days,
                        config.weighting, lookback=config.lookback_days, max_weight=config.max_weight,
                        max_turnover=config.max_turnover)  # fmt: skip
    return _run(context, warehouse, "topk", weights, panels, config)


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
    "ma_momentum": ma_momentum_backtest,
    "bollinger": bollinger_backtest,
    "equal_weight": equal_weight_backtest,
}
ASSETS = [*STRATEGY_ASSETS.values(), vn30_backtest]
