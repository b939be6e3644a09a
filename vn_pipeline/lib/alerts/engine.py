"""From evaluations to delivered notices: which outcomes make an alert, a recovery or nothing, the quiet period,
the digests of what it held back, and the delivery of what is due (retrying what a down channel refused)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from vn_pipeline.lib.alerts import store
from vn_pipeline.lib.alerts.config import AlertSettings
from vn_pipeline.lib.alerts.delivery import Delivery, send
from vn_pipeline.lib.alerts.messages import (
    CheckOutcome,
    Notice,
    day_span,
    digest_notice,
    failure_notice,
    next_attempt_delay,
    recovery_notice,
)

QuarantineLookup = Callable[[str], int | None]  # partition key → rows quarantined those days (None: unknown)


@dataclass
class TickSummary:
    failures: int = 0
    recoveries: int = 0
    run_failures: int = 0
    grouped: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        made = f"{self.failures} failure(s), {self.recoveries} recovery(ies), {self.run_failures} failed run(s)"
        return f"{made}, {self.grouped} grouped, {self.digests} digest(s); sent {self.sent}, failed {self.failed}"


def quarantine_lookup(conn: psycopg.Connection[Any]) -> QuarantineLookup:
    """The day's quarantine count from market.quarantine (None for an unpartitioned check)."""

    def lookup(partition_key: str) -> int | None:
        days = day_span(partition_key)
        return store.quarantine_count(conn, *days) if days else None

    return lookup


def _route(
    conn: psycopg.Connection[Any], settings: AlertSettings, notice: Notice, channels: list[str], now: datetime,
    summary: TickSummary,
) -> None:  # fmt: skip
    """One row per channel: pending, grouped (the subject told this channel within the quiet period), or one
    'unrouted' row when no channel takes it, so the alert is still listed by `vn-pipeline alerts`."""
    if not channels:
        store.insert_notice(conn, notice, "", "unrouted", now)
        return
    quiet_since = now - timedelta(minutes=settings.quiet_minutes)
    for channel in channels:
        status = "pending"
        quiet = settings.quiet_minutes > 0 and notice.kind != "recovery"  # 0: every failure on its own
        if quiet and channel and store.notified_since(conn, notice.subject, channel, quiet_since):
            status = "grouped"
        if not channel:
            status = "unrouted"
        if store.insert_notice(conn, notice, channel, status, now) is not None and status == "grouped":
            summary.grouped += 1


def record_check_outcomes(
    conn: psycopg.Connection[Any],
    settings: AlertSettings,
    outcomes: Iterable[CheckOutcome],
    quarantined: QuarantineLookup,
    now: datetime,
    summary: TickSummary,
) -> None:
    """A failure opens an alert per failing partition that has none open; a pass closes the open ones it
    covers with a recovery notice to the channels the failure went to. A failure already open is the same
    failure seen again (a re-run): nothing new. Events read again after the cursor was lost make nothing: an
    event that made its notices is skipped, a failure older than the partition's last recovery is history, and
    a pass older than the failure it would close does not close it."""
    for outcome in outcomes:
        if store.event_seen(conn, "recovery" if outcome.passed else "failure", outcome.storage_id):
            continue
        opened = store.open_failures(conn, outcome.subject)
        if outcome.passed:
            for partition, (channels, opened_by) in opened.items():
                # an older pass (re-read after a cursor reset) does not close a newer failure
                if outcome.covers(partition) and opened_by < outcome.storage_id:
                    _route(conn, settings, recovery_notice(outcome, partition, settings.ui_url), channels, now, summary)
                    summary.recoveries += 1
            continue
        for partition in outcome.failing_partitions():
            if partition in opened or store.recovered_after(conn, outcome.subject, partition, outcome.storage_id):
                continue
            notice = failure_notice(outcome, partition, quarantined(partition), settings.ui_url)
            channels = [c.label for c in settings.channels if c.takes(notice.severity)]
            _route(conn, settings, notice, channels, now, summary)
            summary.failures += 1


def record_run_failure(
    conn: psycopg.Connection[Any], settings: AlertSettings, notice: Notice, now: datetime, summary: TickSummary
) -> None:
    if notice.source_event is not None and store.event_seen(conn, "run_failure", notice.source_event):
        return  # read again after a cursor reset: alerted already (maybe on channels configured then)
    _route(conn, settings, notice, [c.label for c in settings.channels if c.takes(notice.severity)], now, summary)
    summary.run_failures += 1


def make_digests(conn: psycopg.Connection[Any], settings: AlertSettings, now: datetime, summary: TickSummary) -> None:
    """One digest per subject and channel for the failures its quiet period held back, once that period is over."""
    since = now - timedelta(minutes=settings.quiet_minutes)
    for subject, channel, severity, members in store.groups_to_digest(conn, since):
        first = min(created for *_, created in members)
        notice = digest_notice(subject, severity, [(p, t) for _, p, t, _ in members], f"{first:%Y-%m-%d %H:%M} UTC",
                               settings.ui_url)  # fmt: skip
        digest_id = store.insert_notice(conn, notice, channel, "pending", now)
        if digest_id is not None:
            store.attach_digest(conn, [id_ for id_, *_ in members], digest_id)
            summary.digests += 1


def deliver_due(
    conn: psycopg.Connection[Any],
    settings: AlertSettings,
    now: datetime,
    summary: TickSummary,
    sender: Callable[..., Delivery] = send,
) -> None:
    """Send every pending row and retry the failed ones whose backoff is over. Each outcome is committed at
    once, so a notice sent is not sent again by a tick that dies later."""
    for alert_id, label, severity, title, body, attempts in store.due(conn, now):
        channel = settings.channel(label)
        if channel is None:
            result = Delivery(False, 1, f"channel {label} is no longer in VN_PIPELINE_ALERT_URLS")
        else:
            result = sender(channel, title, body, severity, settings.attempts, settings.backoff_seconds)
        with conn.transaction():
            if result.sent:
                store.mark_sent(conn, alert_id, result.attempts, now)
                summary.sent += 1
            else:
                retry_at = now + next_attempt_delay(attempts + result.attempts, settings.backoff_seconds)
                store.mark_failed(conn, alert_id, result.attempts, result.error or "", now, retry_at)
                summary.failed += 1
                summary.errors.append(f"{label}: {result.error}")
