"""Benchmark: creating a year-long window run with partitioned asset checks, on dagster-postgres's own event log
against vn_pipeline.dagster_storage.EventLogStorage (the planned check evaluation serialized once per run).

The job: one daily-partitioned asset (trading-day partitions) with CHECKS partitioned checks that do nothing, run
over one year of trading days as a single-run backfill, so the time is the run's planning and bookkeeping, not
work. Each storage gets a fresh database on the embedded server. Both runs must record the same planned
partitions per check, otherwise the ratio would compare different work.

Prints a few human lines; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/run_planning.py
"""

import json
import time
from datetime import date

import dagster as dg

from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.instance import batch_events, storage_config
from vn_pipeline.lib.warehouse import database_url
from vn_pipeline.lib.warehouse.connection import ensure_database
from vn_pipeline.runs import run_window

CHECKS = 12  # the market-data job's partitioned checks
START, END = date(2010, 1, 4), date(2010, 12, 31)


@dg.asset(partitions_def=trading_day_partitions, backfill_policy=dg.BackfillPolicy.single_run())
def bars() -> None: ...


def _check(i: int) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=bars, name=f"rule_{i}", partitions_def=trading_day_partitions)
    def rule(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return rule


DEFS = dg.Definitions(assets=[bars], asset_checks=[_check(i) for i in range(CHECKS)], jobs=[dg.define_asset_job("all")])


def timed(overrides: dict) -> tuple[float, int]:
    with dg.instance_for_test(overrides=overrides) as instance:
        started = time.perf_counter()
        run = run_window(DEFS, "all", START, END, instance)
        seconds = time.perf_counter() - started
        assert run.success
        key = dg.AssetCheckKey(bars.key, "rule_0")
        planned = instance.event_log_storage.get_asset_check_execution_history(key, limit=10_000)
    return seconds, sum(r.partition is not None for r in planned)


def main() -> None:
    batch_events()
    url = database_url()
    stock_url = ensure_database(url, f"bench_planning_stock_{int(time.time())}")
    ours_url = ensure_database(url, f"bench_planning_ours_{int(time.time())}")
    stock, stock_rows = timed({"storage": {"postgres": {"postgres_url": stock_url}}})
    ours, our_rows = timed(storage_config(ours_url))
    assert stock_rows == our_rows, (stock_rows, our_rows)
    print(f"one run over {START} → {END} ({our_rows} trading days), {CHECKS} partitioned checks:")
    print(f"  dagster-postgres event log: {stock:6.1f} s")
    print(f"  vn_pipeline EventLogStorage: {ours:6.1f} s   ({stock / ours:.1f}× faster)")
    print(json.dumps({"days": our_rows, "checks": CHECKS, "stock_s": round(stock, 2), "ours_s": round(ours, 2),
                      "ratio": round(stock / ours, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
