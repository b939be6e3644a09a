"""What every backtest reads from the warehouse: its window, quoted bar panels with the stock dividends that credit
bonus shares, and the VN30 benchmark."""

from datetime import date

import dagster as dg
import pandas as pd

from vn_pipeline.defs.features.assets import actions_between
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.backtest import Rules
from vn_pipeline.lib.features import adjust_prices
from vn_pipeline.lib.market.calendar import previous_trading_day
from vn_pipeline.lib.warehouse.reads import has_rows

BAR_PANELS = ("open", "high", "low", "close", "vwap", "volume", "ceiling", "floor")
# Actions that hand holders new shares for free; a rights issue has to be paid for, so it credits none.
SHARE_CREDITING_KINDS = ("stock_dividend", "bonus_shares")


class BacktestConfig(dg.Config):
    """Window and trading costs shared by every backtest. The window defaults to the span of the stored
    out-of-sample predictions, so the ML book and its baselines are compared over the same days; without
    predictions, to the span of the daily bars."""

    start: str | None = None
    end: str | None = None
    fill: str = "next_open"  # "next_open", "vwap" or "close" of the day after the signal
    init_cash: float = 1_000_000_000.0
    buy_fee: float = 0.0015
    sell_fee: float = 0.0015
    sale_tax: float = 0.001
    bonus_lock_days: int = 20  # sessions from a stock dividend's ex-date until its bonus shares can be sold

    def rules(self) -> Rules:
        return Rules(buy_fee=self.buy_fee, sell_fee=self.sell_fee, sale_tax=self.sale_tax, fill=self.fill,
                     bonus_lock_bars=self.bonus_lock_days)  # fmt: skip

    @classmethod
    def rules_of_run(cls, params: dict) -> Rules:
        """The rules a stored run was configured with (its params are a config that extends this one)."""
        return cls(**{k: v for k, v in params.items() if k in cls.model_fields}).rules()

    def trading_window(self, warehouse: WarehouseResource) -> tuple[date, date]:
        with warehouse.connect() as conn:
            scored = has_rows(conn, "ml.predictions")
        first, last = warehouse.date_span("ml.predictions" if scored else "market.ohlcv_1d")
        start = date.fromisoformat(self.start) if self.start else first
        end = date.fromisoformat(self.end) if self.end else last
        if start > end:
            raise ValueError(f"backtest window is empty: start {start} is after end {end}")
        return start, end


def bar_panels(warehouse: WarehouseResource, start: date, end: date, warmup_days: int = 0) -> dict[str, pd.DataFrame]:
    """Wide (dates × symbols) panels from ``warmup_days`` trading days before ``start`` (history for signals; the
    backtest itself starts at ``start``):

    - the quoted prices, volume and the day's ceiling and floor: what the exchange printed, so fills, lots and
      bands are the real ones;
    - ``share_factor``: shares held after the day's stock dividends per share held before (1 + ratio on an
      ex-date, else 1), so holdings receive their bonus shares;
    - ``adj_close``: the close forward-adjusted for those actions within the panel, for signals and returns
      (continuous across ex-dates; only its ratios are meaningful);
    - ``value``: VND traded, for liquidity."""
    first = previous_trading_day(start, warmup_days) if warmup_days else start
    raw = warehouse.read_partition("market.ohlcv_1d", first, end)
    if raw.empty:
        raise ValueError(f"market.ohlcv_1d has no bars in {first}..{end}: materialize market data first")
    actions = actions_between(warehouse, first, end)
    columns = ["trading_date", "symbol", "ceiling_price", "floor_price"]
    limits = warehouse.read_partition("market.listings", first, end, columns=columns)
    frame = raw.merge(limits, on=["trading_date", "symbol"], how="left")
    frame["adj_close"] = adjust_prices(raw, actions)["close"].to_numpy()  # adjust_prices keeps row order
    frame = frame.rename(columns={"ceiling_price": "ceiling", "floor_price": "floor"})
    frame["vwap"] = frame["vwap"].fillna(frame["close"])
    panels = {
        name: frame.pivot(index="trading_date", columns="symbol", values=name).sort_index().astype(float)
        for name in (*BAR_PANELS, "adj_close", "value")
    }
    panels["share_factor"] = _share_factor(actions, panels["close"])
    return panels


def _share_factor(actions: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    factor = pd.DataFrame(1.0, index=like.index, columns=like.columns)
    crediting = actions[actions["kind"].isin(SHARE_CREDITING_KINDS)]
    if crediting.empty:
        return factor
    # Two issues on one ex-date are both paid on the shares held before it: their ratios add up.
    per_day = 1.0 + crediting["ratio"].astype(float).groupby([crediting["ex_date"], crediting["symbol"]]).sum()
    for (day, symbol), k in per_day.items():
        # An ex-date without any bar in the panel still credits its shares, on the next day that has one.
        row = factor.index.searchsorted(day)
        if row < len(factor.index) and symbol in factor.columns:
            factor.iloc[row, factor.columns.get_loc(symbol)] *= k
    return factor


def daily_returns(close: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close returns where a day without a trade keeps the last close, so the move across a gap lands on
    the day trading resumes instead of vanishing; NaN on the untraded days themselves."""
    return close.ffill().pct_change(fill_method=None).where(close.notna())


def in_window(weights: pd.DataFrame, start: date) -> pd.DataFrame:
    """Target weights from ``start`` on. The book a signal built during the warm-up is the first day's decision,
    so a position entered on the last warm-up day is bought on the first day, not at the next change."""
    window = weights.loc[weights.index >= start].copy()
    if window.empty:
        raise ValueError(f"no trading day with bars on or after {start}: the backtest window is empty")
    decided = weights.loc[weights.index <= window.index[0]].dropna(how="all")
    if window.iloc[0].isna().all() and len(decided):
        window.iloc[0] = decided.iloc[-1]
    return window


def from_start(panels: dict[str, pd.DataFrame], start: date) -> dict[str, pd.DataFrame]:
    return {name: panel.loc[panel.index >= start] for name, panel in panels.items()}


def vn30_levels(warehouse: WarehouseResource, start: date, end: date) -> pd.Series:
    levels = warehouse.read_partition("market.index_levels", start, end)
    levels = levels[levels["index_code"] == "VN30"]
    if levels.empty:
        raise ValueError(f"no VN30 levels in market.index_levels for {start}..{end}: materialize index_levels")
    return levels.set_index("trading_date")["close"].sort_index()


def vn30_returns(warehouse: WarehouseResource, start: date, end: date, dates: pd.Index) -> pd.Series:
    """VN30 daily close-to-close returns on ``dates`` (the first day's return is 0: the book starts in cash)."""
    levels = vn30_levels(warehouse, start, end).reindex(dates).ffill()
    return levels.pct_change().fillna(0.0)
