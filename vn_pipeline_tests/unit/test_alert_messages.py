"""Alert settings, partition keys, message text and the trading-alert rules (no database, no Dagster)."""

from datetime import date

import pandas as pd
import pytest

from vn_pipeline.lib.alerts.config import AlertConfigError, AlertSettings, parse_channels
from vn_pipeline.lib.alerts.messages import CheckOutcome, failure_notice, next_attempt_delay, rows_failing
from vn_pipeline.lib.alerts.trading import day_losses, drawdown_breaches, failed_days, losing_streaks


def test_urls_split_at_entries_not_at_commas_inside_a_url_and_route_by_severity():
    channels = parse_channels(
        "critical=mailto://u:secret@smtp.example.com?to=a@x.vn,b@x.vn, ntfy://ntfy.example.com/vn,"
        " critical+warning=json://hooks.example.com:8080/x?token=t"
    )
    assert [c.url for c in channels] == [
        "mailto://u:secret@smtp.example.com?to=a@x.vn,b@x.vn",
        "ntfy://ntfy.example.com/vn",
        "json://hooks.example.com:8080/x?token=t",
    ]
    assert [sorted(c.severities) for c in channels] == [
        ["critical"], ["critical", "info", "warning"], ["critical", "warning"]
    ]  # fmt: skip
    # labels (stored and listed) carry no password and no token
    assert [c.label for c in channels] == [
        "mailto://smtp.example.com", "ntfy://ntfy.example.com/vn", "json://hooks.example.com:8080/x"
    ]  # fmt: skip
    assert channels[0].takes("critical") and not channels[0].takes("warning")


def test_bad_settings_are_named():
    with pytest.raises(AlertConfigError, match="unknown severity"):
        parse_channels("urgent=json://h/x")
    with pytest.raises(AlertConfigError, match="VN_PIPELINE_ALERT_QUIET_MINUTES='soon' is not a number"):
        AlertSettings.from_env({"VN_PIPELINE_ALERT_QUIET_MINUTES": "soon"})
    settings = AlertSettings.from_env({"VN_PIPELINE_UI_URL": "http://dagster.lan:3000/"})
    assert settings.channels == [] and settings.quiet_minutes == 60 and settings.ui_url == "http://dagster.lan:3000"


def _outcome(**changes: object) -> CheckOutcome:
    base = dict(asset_key="market/ohlcv_1d", check_name="ohlc_consistent", passed=False, severity="WARN",
                partition=None, run_range=("2025-06-02", "2025-06-06"), metadata={}, run_id="r1",
                storage_id=7)  # fmt: skip
    return CheckOutcome(**{**base, **changes})


def test_a_range_run_alerts_per_named_day_or_once_for_the_range():
    assert _outcome(metadata={"failed_days": ["2025-06-04", "2025-06-03"]}).failing_partitions() == [
        "2025-06-03", "2025-06-04"
    ]  # fmt: skip
    assert _outcome().failing_partitions() == ["2025-06-02...2025-06-06"]
    assert _outcome(partition="2025-06-05", run_range=None).failing_partitions() == ["2025-06-05"]
    assert _outcome(run_range=None).failing_partitions() == [""]
    # a pass over the range closes the days and sub-ranges inside it, nothing outside
    passing = _outcome(passed=True)
    assert passing.covers("2025-06-04") and passing.covers("2025-06-02...2025-06-06")
    assert not passing.covers("2025-06-09") and not passing.covers("2025-05-30...2025-06-03")


def test_failure_message_says_what_to_act_on():
    outcome = _outcome(
        severity="ERROR",
        metadata={"rule": "high >= max(open, close)", "offending_rows": 12,
                  "sample": [{"symbol": "FPT", "high": 9.0, "close": 9.5}] * 7},
    )  # fmt: skip
    notice = failure_notice(outcome, "2025-06-04", 31, "http://ui:3000")
    assert notice.severity == "critical" and notice.partition_key == "2025-06-04"
    assert notice.title == "[critical] market/ohlcv_1d:ohlc_consistent failed on 2025-06-04"
    body = notice.body.splitlines()
    assert body[:5] == ["Asset: market/ohlcv_1d", "Partition: 2025-06-04", "Check: ohlc_consistent (ERROR)",
                        "Rule: high >= max(open, close)", "Rows breaking it: 12"]  # fmt: skip
    assert body[5] == "Sample (5 of 7):" and body[6] == "  symbol=FPT, high=9.0, close=9.5"
    assert "Quarantined rows that day: 31" in body
    assert "Link: http://ui:3000/assets/market/ohlcv_1d?view=checks&checkDetail=ohlc_consistent" in body
    assert failure_notice(_outcome(), "2025-06-04", None, "u").severity == "warning"
    assert rows_failing({"breaches": [{"a": 1}, {"a": 2}]}) == 2 and rows_failing({}) is None


def test_backoff_doubles_up_to_its_cap():
    assert [next_attempt_delay(n, 30).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def test_trading_alerts_per_day_on_the_equity_up_to_that_day():
    days = [date(2025, 6, d) for d in (2, 3, 4, 5, 6, 9)]
    equity = pd.Series([100.0, 97.0, 93.0, 86.0, 82.0, 84.0], index=days)
    drawdowns = drawdown_breaches(equity, days, "topk")
    assert drawdowns["trading_date"].tolist() == days[3:] and drawdowns["threshold"].tolist() == [-0.10, -0.15, -0.15]
    assert failed_days(drawdowns) == ["2025-06-05", "2025-06-06", "2025-06-09"]
    assert losing_streaks(equity, days, "topk", 4)[["trading_date", "value"]].values.tolist() == [[days[4], 4]]
    assert losing_streaks(equity, days, "topk", 5).empty  # the streak broke on the 9th
    assert day_losses(equity, days, "topk", 0.05)["trading_date"].tolist() == [days[3]]  # 86/93: -7.5%
    # judged only on the days asked for
    assert drawdown_breaches(equity, days[:3], "topk").empty


def test_a_check_that_lists_plain_values_shows_them_as_its_sample():
    # every_trading_day_has_bars reports the sessions missing from the whole vendor set as a list of days
    outcome = _outcome(check_name="every_trading_day_has_bars", metadata={
        "rule": "every trading day has a bar", "days_with_bars": 61, "missing_days": ["2025-02-03"]})  # fmt: skip
    body = failure_notice(outcome, "2025-01-02...2025-03-31", None, "u").body.splitlines()
    assert "Rows breaking it: 1" in body
    assert body[body.index("Sample (1 of 1):") + 1] == "  missing_days=2025-02-03"
