"""The evening risk report over a window of days: one point-in-time report per trading day, as warehouse rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.risk.inputs import RiskInputs
from vn_pipeline.lib.risk.report import RiskReport, StressWindow, build_report

TABLES = ("risk.summary", "risk.positions", "risk.stress")


@dataclass
class WindowReports:
    frames: dict[str, pd.DataFrame]  # rows of every day, per table of TABLES
    last_day: date
    last_report: RiskReport  # the window's last day, for the materialization's metadata


def parse_stress_windows(specs: list[str]) -> list[StressWindow]:
    """Stress windows from ``name=YYYY-MM-DD..YYYY-MM-DD`` specs."""
    windows = []
    for spec in specs:
        name, _, span = spec.partition("=")
        first, _, last = span.partition("..")
        if not (name and first and last):
            raise ValueError(f"stress window {spec!r}: expected name=YYYY-MM-DD..YYYY-MM-DD")
        windows.append(StressWindow(name, pd.Timestamp(first).date(), pd.Timestamp(last).date()))
    return windows


def report_frames(day: date, strategy: str, report: RiskReport) -> dict[str, pd.DataFrame]:
    """One day's report as rows of risk.summary, risk.positions and risk.stress."""
    summary = pd.DataFrame({"metric": list(report.summary), "value": list(report.summary.values())})
    positions = report.positions.reset_index()
    return {
        "risk.summary": summary.assign(trading_date=day, strategy=strategy),
        "risk.positions": positions.assign(
            trading_date=day, strategy=strategy, shares=positions["shares"].astype("int64")
        ),
        "risk.stress": report.stress.assign(trading_date=day, strategy=strategy),
    }


def window_reports(
    inputs: RiskInputs,
    start: date,
    end: date,
    extra: list[StressWindow],
    participation: float = 0.2,
    seed: int = 0,
) -> WindowReports:
    """A report for each trading day of [start, end], each from data up to that day's close: the deepest VN30
    drawdown so far replayed, and the ``extra`` windows already over on the day (one not yet over is not
    history)."""
    parts: dict[str, list[pd.DataFrame]] = {table: [] for table in TABLES}
    day, report = None, None
    for day in trading_days(start, end):
        worst = StressWindow("worst_vn30_drawdown", *inputs.worst_vn30[day])
        replayable = [w for w in extra if w.end <= day]
        report = build_report(inputs.book_on(day), [worst, *replayable], inputs.strategy_returns(day),
                              participation, seed)  # fmt: skip
        for table, frame in report_frames(day, inputs.strategy, report).items():
            parts[table].append(frame)
    if day is None or report is None:
        raise ValueError(f"no trading day in {start}..{end}: nothing to report")
    frames = {table: pd.concat(chunks, ignore_index=True) for table, chunks in parts.items()}
    return WindowReports(frames, day, report)
