"""`vn-pipeline demo` as a user runs it, on a real Dagster instance and the embedded server: twice in a row on
one state directory, and with a history too short for the research loop."""

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from vn_pipeline.cli import build_parser
from vn_pipeline.demo import ROW_TABLES, research_days_needed, run_demo
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline_tests.databases import own_database

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
        stage: (sorted(o.checks_passed), sorted(o.checks_failed), o.severity, o.metadata, o.success)
        for stage, o in outcomes
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
    assert [stage for stage in checks_1] == ["market data"]  # no research stage, no model start computed
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
