"""What an alert says: the notices made from failed and passing check evaluations and failed runs.

A notice carries what a person needs to act on it: the asset, the partition (trading day or range), the check
and its rule, how many rows broke it with a sample, the day's quarantine count and a link to the check in the
Dagster UI. The checks' metadata is read as plain values (numbers, text, tables as lists of dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote

RANGE_SEP = "..."
FAILED_DAYS_KEY = "failed_days"  # a check over a range names its failing days here (a list of ISO dates)
SAMPLE_LINES = 5
# The metadata entries the project's checks use for "how many rows broke the rule", most specific first.
COUNT_KEYS = (
    "offending_rows",
    "stored_rows_failing",
    "breaking_trades",
    "mismatches",
    "missing",
    "violations",
    "quarantined_files",
    "failing_rows",
    "breach_days",
    "nan_cells",
)
SAMPLE_KEYS = ("sample", "failures", "breaches", "first_violations", "files", "quarantined_sample")

SEVERITY_OF_CHECK = {"ERROR": "critical", "WARN": "warning"}


def alert_severity(check_severity: str) -> str:
    """ERROR → critical, WARN → warning (a failed run is critical too)."""
    return SEVERITY_OF_CHECK.get(check_severity.upper(), "critical")


@dataclass(frozen=True)
class CheckOutcome:
    """One asset-check evaluation as the alerts read it."""

    asset_key: str  # "market/raw_ticks"
    check_name: str
    passed: bool
    severity: str  # the check's: "ERROR" or "WARN"
    partition: str | None  # the evaluated partition, None for a range run or an unpartitioned check
    run_range: tuple[str, str] | None  # the run's partition range (single-run backfill), if any
    metadata: dict[str, object]
    run_id: str
    storage_id: int
    description: str | None = None

    @property
    def subject(self) -> str:
        return f"{self.asset_key}:{self.check_name}"

    def failing_partitions(self) -> list[str]:
        """One key per failure: the partition; on a range run the days the metadata names (``failed_days``)
        or else the whole range as one key ("start...end"); '' for an unpartitioned check."""
        if self.partition:
            return [self.partition]
        if self.run_range:
            days = self.metadata.get(FAILED_DAYS_KEY)
            if isinstance(days, list) and days:
                return sorted({str(d) for d in days})
            return [range_key(*self.run_range)]
        return [""]

    def covers(self, partition_key: str) -> bool:
        """Whether this (passing) evaluation speaks for ``partition_key``: a day or range inside what it checked."""
        if self.partition is None and self.run_range is None:
            return partition_key == ""
        if not partition_key:
            return False
        start, end = span(partition_key)
        lo, hi = self.run_range if self.partition is None else (self.partition, self.partition)
        return lo <= start and end <= hi


def range_key(start: str, end: str) -> str:
    return start if start == end else f"{start}{RANGE_SEP}{end}"


def span(partition_key: str) -> tuple[str, str]:
    """(first, last) day of a partition key: a day, or "start...end"."""
    start, _, end = partition_key.partition(RANGE_SEP)
    return start, end or start


def day_span(partition_key: str) -> tuple[date, date] | None:
    """The partition's days as dates, or None when the key is not a trading day or a range of them."""
    try:
        start, end = span(partition_key)
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return None


@dataclass(frozen=True)
class Notice:
    kind: str  # failure, recovery, run_failure, digest
    severity: str  # critical, warning, info
    subject: str
    title: str
    body: str
    partition_key: str = ""
    asset_key: str | None = None
    check_name: str | None = None
    run_id: str | None = None
    source_event: int | None = None
    details: dict[str, object] = field(default_factory=dict)


def check_link(ui_url: str, asset_key: str, check_name: str) -> str:
    return f"{ui_url}/assets/{quote(asset_key)}?view=checks&checkDetail={quote(check_name)}"


def run_link(ui_url: str, run_id: str) -> str:
    return f"{ui_url}/runs/{quote(run_id)}"


def rows_failing(metadata: dict[str, object]) -> int | None:
    """How many rows broke the rule, from the first count entry the check reports (a sample's length else)."""
    for key in COUNT_KEYS:
        value = metadata.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    sample = sample_rows(metadata)
    return len(sample) if sample is not None else None


def sample_rows(metadata: dict[str, object]) -> list[dict[str, object]] | None:
    """The failing rows a check reports: a table of rows, else a list of plain values (a check's
    ``missing_days``), one row each, so the person told sees the days too."""
    keys = [k for k in SAMPLE_KEYS if k in metadata] + [k for k in metadata if k not in SAMPLE_KEYS]
    for key in keys:
        value = metadata[key]
        if isinstance(value, list) and all(isinstance(r, dict) for r in value):
            return value
    for key in keys:
        value = metadata[key]
        if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
            return [{key: v} for v in value]
    return None


def _sample_text(rows: list[dict[str, object]]) -> list[str]:
    return ["  " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in rows[:SAMPLE_LINES]]


def _label(partition_key: str) -> str:
    return partition_key or "(unpartitioned)"


def failure_notice(outcome: CheckOutcome, partition_key: str, quarantined: int | None, ui_url: str) -> Notice:
    severity = alert_severity(outcome.severity)
    rule = outcome.metadata.get("rule") or outcome.description or "(see the check's description in the UI)"
    count = rows_failing(outcome.metadata)
    sample = sample_rows(outcome.metadata) or []
    link = check_link(ui_url, outcome.asset_key, outcome.check_name)
    lines = [
        f"Asset: {outcome.asset_key}",
        f"Partition: {_label(partition_key)}",
        f"Check: {outcome.check_name} ({outcome.severity})",
        f"Rule: {rule}",
        f"Rows breaking it: {count if count is not None else 'not reported'}",
    ]
    if sample:
        lines += [f"Sample ({min(len(sample), SAMPLE_LINES)} of {len(sample)}):", *_sample_text(sample)]
    if quarantined is not None:
        lines.append(f"Quarantined rows that day: {quarantined}")
    lines += [f"Link: {link}", f"Run: {outcome.run_id}"]
    title = f"[{severity}] {outcome.subject} failed on {_label(partition_key)}"
    details = {"rule": str(rule), "rows_failing": count, "sample": sample[:SAMPLE_LINES], "quarantined": quarantined,
               "link": link, "check_severity": outcome.severity}  # fmt: skip
    return Notice("failure", severity, outcome.subject, title, "\n".join(lines), partition_key, outcome.asset_key,
                  outcome.check_name, outcome.run_id, outcome.storage_id, details)  # fmt: skip


def recovery_notice(outcome: CheckOutcome, partition_key: str, ui_url: str) -> Notice:
    link = check_link(ui_url, outcome.asset_key, outcome.check_name)
    title = f"[recovered] {outcome.subject} passes again on {_label(partition_key)}"
    body = "\n".join([f"Asset: {outcome.asset_key}", f"Partition: {_label(partition_key)}",
                      f"Check: {outcome.check_name} passed", f"Link: {link}", f"Run: {outcome.run_id}"])  # fmt: skip
    return Notice("recovery", "info", outcome.subject, title, body, partition_key, outcome.asset_key,
                  outcome.check_name, outcome.run_id, outcome.storage_id, {"link": link})  # fmt: skip


def run_failure_notice(job: str, run_id: str, partition_key: str, reason: str, storage_id: int, ui_url: str) -> Notice:
    link = run_link(ui_url, run_id)
    title = f"[critical] run of {job} failed on {_label(partition_key)}"
    body = "\n".join([f"Job: {job}", f"Partition: {_label(partition_key)}", f"Run: {run_id}",
                      f"Reason: {reason or 'not given'}", f"Link: {link}"])  # fmt: skip
    return Notice("run_failure", "critical", f"run:{job}", title, body, partition_key, None, None, run_id,
                  storage_id, {"link": link, "reason": reason})  # fmt: skip


def digest_notice(subject: str, severity: str, grouped: list[tuple[str, str]], since: str, ui_url: str) -> Notice:
    """One notice for the failures of ``subject`` held back during its quiet period: (partition, title) each."""
    partitions = sorted({p for p, _ in grouped})
    asset, _, check = subject.partition(":")
    link = run_link(ui_url, "") if subject.startswith("run:") else check_link(ui_url, asset, check)
    title = f"[{severity}] {subject}: {len(grouped)} more failure(s) since {since}"
    body = "\n".join([f"{len(grouped)} failure(s) of {subject} were held back in the quiet period since {since}:",
                      *(f"  {title}" for _, title in grouped[:20]), f"Partitions: {', '.join(map(_label, partitions))}",
                      f"Link: {link}"])  # fmt: skip
    return Notice("digest", severity, subject, title, body, "", None if subject.startswith("run:") else asset,
                  None if subject.startswith("run:") else check, None, None,
                  {"grouped": len(grouped), "partitions": partitions, "link": link})  # fmt: skip


def next_attempt_delay(attempts: int, base_seconds: float, cap_seconds: float = 3600.0) -> timedelta:
    """Exponential backoff between ticks' retries of a channel that failed ``attempts`` times."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))
