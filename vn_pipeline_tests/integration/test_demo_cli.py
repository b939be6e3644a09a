"""`vn-pipeline demo` as a user runs it, on a real Dagster instance and the embedded server: twice in a row on
one state directory, with a history too short for the research loop, and on real CafeF history."""

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from vn_pipeline.cli import build_parser
from vn_pipeline.demo import HISTORY_MODEL, ROW_TABLES, research_days_needed, run_demo
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline.lib.sources.vendors import cafef_source
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.real_data import VN_REAL, needs_vn_real

# The command (it crashed computing the model's start 250 days ahead), kept small: 5 symbols.
MARKET_ONLY = ["demo", "--no-research", "--history-days", "20", "--intraday-days", "1", "--symbols", "5"]
VOLATILE = {"recorded_at"}  # when a row was written, not what it says


@pytest.fixture
def demo_database(warehouse_url: str) -> Iterator[str]:
    """A database of its own on the session's server: the demo writes today's window, which others may use."""
    with own_database(warehouse_url, "vn_pipeline_demo") as url:
        yield url


def _checksums(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent digest of every row (volatile timestamps left out), per table."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in ROW_TABLES:
            schema, name = table.split(".")
            drop = sql.SQL("").join(sql.SQL(" - {}").format(sql.Literal(c)) for c in sorted(VOLATILE))
            query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM"
                            " (SELECT (to_jsonb(t){})::text AS r FROM {} t) rows").format(
                drop, sql.Identifier(schema, name))  # fmt: skip
            out[table] = conn.execute(query).fetchone()
    return out


def _check_results(outcomes) -> dict[str, object]:
    return {
        stage: (sorted(o.checks_passed), sorted(o.checks_failed), o.severity, _stable(o.metadata), o.success)
        for stage, o in outcomes
    }


def _stable(metadata: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Check metadata without what says when or by which dbt invocation it ran (a dbt test's timing and id)."""
    return {
        check: {
            k: v for k, v in values.items() if not any(word in k.lower() for word in ("invocation", "duration", "time"))
        }
        for check, values in metadata.items()
    }


def test_two_demos_in_a_row_exit_0_with_the_same_tables_and_checks(
    demo_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("VN_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", demo_database)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the demo sets it (restored after the test)
    runs = []
    for _ in range(2):
        code, outcomes = run_demo(build_parser().parse_args(MARKET_ONLY))
        runs.append((code, _check_results(outcomes), _checksums(demo_database)))
    (code_1, checks_1, tables_1), (code_2, checks_2, tables_2) = runs
    assert code_1 == code_2 == 0
    assert [stage for stage in checks_1] == ["market data", "dbt marts"]  # no research stage, no model start computed
    passed = checks_1["market data"][0]
    assert len(passed) >= 5 and not checks_1["market data"][1]
    assert checks_2 == checks_1  # same checks, same outcomes, same severities, same metadata
    assert tables_2 == tables_1 and tables_1["market.ohlcv_1d"][0] == 5 * 20


def test_research_with_too_short_a_history_says_how_much_it_needs(capsys: pytest.CaptureFixture[str]):
    needed = research_days_needed()
    assert needed > WARMUP_DAYS
    code, outcomes = run_demo(build_parser().parse_args(["demo", "--history-days", "20"]))
    assert (code, outcomes) == (2, [])  # nothing started
    message = capsys.readouterr().err
    assert "--history-days 20 is too short" in message and f"--history-days {needed}" in message
    assert "--no-research" in message


@needs_vn_real
def test_the_demo_on_real_cafef_history_runs_a_year_per_run(
    demo_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("VN_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", demo_database)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("VN_PIPELINE_ALERT_URLS", raising=False)
    args = ["demo", "--source", "cafef", "--data-dir", str(VN_REAL / "cafef"), "--index-dir",
            str(VN_REAL / "indices_ftu"), "--start", "2024-12-02", "--end", "2025-03-31", "--no-research"]  # fmt: skip
    code, outcomes = run_demo(build_parser().parse_args(args))
    assert code == 0  # the vendor's hole is a WARN: no re-run can fill it
    assert [stage for stage, _ in outcomes] == [
        "market data 2024-12-02 → 2024-12-31", "market data 2025-01-02 → 2025-03-31", "dbt marts"]  # fmt: skip
    hole = "market/daily_bars:every_trading_day_has_bars"
    later = outcomes[1][1]
    assert hole in later.warnings and "2025-02-03" in str(later.metadata[hole])
    assert hole not in outcomes[0][1].checks_failed
    with psycopg.connect(demo_database) as conn:
        query = "SELECT count(DISTINCT trading_date), count(DISTINCT symbol) FROM market.listings"
        days = conn.execute(query).fetchone()
        assert not conn.execute("SELECT 1 FROM market.untraded WHERE trading_date = '2025-02-03'").fetchall()
    assert days[0] >= 75 and days[1] >= 110
    assert cafef_source._shared.cache_info().currsize == 0  # the parsed folder is not held past the market data
    with psycopg.connect(demo_database) as conn:  # the vendor's hole became one warning alert (no channel set)
        alerts = conn.execute(
            "SELECT severity, status, partition_key, body FROM ops.alerts WHERE subject = %s", (hole,)
        ).fetchall()
    assert [a[:3] for a in alerts] == [("warning", "unrouted", "2025-01-02...2025-03-31")]
    assert "2025-02-03" in alerts[0][3]


@needs_vn_real
def test_a_cafef_window_too_short_for_the_model_fails_before_any_work(capsys: pytest.CaptureFixture[str]):
    args = ["demo", "--source", "cafef", "--data-dir", str(VN_REAL / "cafef"), "--start", "2024-01-02"]
    code, outcomes = run_demo(build_parser().parse_args(args))
    assert (code, outcomes) == (2, [])  # nothing started: no 15-minute market-data stage before the model fails
    message = capsys.readouterr().err
    assert "2024-01-02 → 2025-08-26 holds 410 trading days" in message
    assert f"needs at least {research_days_needed(HISTORY_MODEL)}" in message and "--no-research" in message


def test_the_cafef_demo_says_which_folder_it_needs(capsys: pytest.CaptureFixture[str]):
    code, outcomes = run_demo(build_parser().parse_args(["demo", "--source", "cafef"]))
    assert (code, outcomes) == (2, [])
    assert "--data-dir" in capsys.readouterr().err
