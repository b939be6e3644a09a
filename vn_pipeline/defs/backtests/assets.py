"""backtest/topk: the model's scores traded under the exchange's rules, simulated with vectorbt."""

from datetime import date

import dagster as dg
import pandas as pd

from vn_pipeline.defs.features.assets import actions_between
from vn_pipeline.defs.market_data.assets import listings, ohlcv_1d
from vn_pipeline.defs.ml.assets import predictions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.backtest import Rules, run_backtest
from vn_pipeline.lib.backtest.store import save_backtest
from vn_pipeline.lib.backtest.strategies import topk_dropout
from vn_pipeline.lib.features import adjust_prices

BACKTESTS = {"group_name": "backtests", "owners": ["team:research"], "kinds": {"timescaledb", "vectorbt"}}


class TopkConfig(dg.Config):
    """TopkDropout on ml.predictions. Dates default to the span of the stored predictions."""

    start: str | None = None
    end: str | None = None
    k: int = 10
    n_drop: int = 2
    rebalance_days: int = 1
    fill: str = "next_open"  # "next_open", "vwap" or "close" of the day after the signal
    init_cash: float = 1_000_000_000.0
    buy_fee: float = 0.0015
    sell_fee: float = 0.0015
    sale_tax: float = 0.001


def bar_panels(warehouse: WarehouseResource, start: date, end: date) -> dict[str, pd.DataFrame]:
    """Wide (dates × symbols) panels of dividend-adjusted prices, volume and the day's ceiling and floor.

    Holdings do not receive bonus shares in the simulation, so prices are adjusted forward instead: a stock
    dividend is then no loss. Ceiling and floor are scaled by the same factor as that day's prices."""
    raw = warehouse.read_partition("market.ohlcv_1d", start, end)
    adjusted = adjust_prices(raw, actions_between(warehouse, start, end))
    columns = ["trading_date", "symbol", "ceiling_price", "floor_price"]
    limits = warehouse.read_partition("market.listings", start, end, columns=columns)
    adjusted["factor"] = adjusted["close"].to_numpy() / raw["close"].to_numpy()  # adjust_prices keeps row order
    frame = adjusted.merge(limits, on=["trading_date", "symbol"], how="left")
    frame["ceiling"] = frame["ceiling_price"] * frame["factor"]
    frame["floor"] = frame["floor_price"] * frame["factor"]
    frame["vwap"] = frame["vwap"].fillna(frame["close"])
    return {
        name: frame.pivot(index="trading_date", columns="symbol", values=name).sort_index()
        for name in ("open", "high", "low", "close", "vwap", "volume", "ceiling", "floor")
    }


@dg.asset(key=["backtest", "topk"], deps=[predictions, ohlcv_1d, listings], **BACKTESTS)
def topk(context: dg.AssetExecutionContext, config: TopkConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A top-k book on the out-of-sample scores (k names, n_drop replaced per rebalance), traded at the next
    session's open by default, paying 0.15% per side plus the 0.1% sale tax, in 100-share lots, selling only
    from the afternoon of T+2, never buying a ceiling-locked or selling a floor-locked stock."""
    first, last = warehouse.date_span("ml.predictions")
    start = date.fromisoformat(config.start) if config.start else first
    end = date.fromisoformat(config.end) if config.end else last
    panels = bar_panels(warehouse, start, end)
    scores = warehouse.read_partition("ml.predictions", start, end).pivot(
        index="trading_date", columns="symbol", values="score")  # fmt: skip
    scores = scores.reindex(index=panels["close"].index, columns=panels["close"].columns)
    weights = topk_dropout(scores, config.k, config.n_drop, config.rebalance_days)
    rules = Rules(buy_fee=config.buy_fee, sell_fee=config.sell_fee, sale_tax=config.sale_tax, fill=config.fill)
    result = run_backtest(weights, panels, config.init_cash, rules)
    with warehouse.connect() as conn:
        save_backtest(conn, "topk", result, config.model_dump())
    context.log.info(f"backtest/topk: {len(result.trades)} fills, stats {result.stats}")
    stats = pd.DataFrame([result.stats]).T.rename(columns={0: "value"})
    return dg.MaterializeResult(
        metadata={
            "stats": dg.MetadataValue.md(stats.to_markdown()),
            "fills": len(result.trades),
            "window": f"{start} → {end}",
            **{k: float(v) for k, v in result.stats.items()},
        }
    )


@dg.asset_check(asset=topk, blocking=True)
def cash_never_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """The book never spends money it does not have (no margin for retail in Vietnam)."""
    with warehouse.connect() as conn:
        (lowest,) = conn.execute("SELECT min(cash) FROM backtest.equity WHERE strategy = 'topk'").fetchone()
    return dg.AssetCheckResult(passed=lowest is not None and lowest >= 0, metadata={"lowest_cash": float(lowest or 0)})


ASSETS = [topk]
CHECKS = [cash_never_negative]
