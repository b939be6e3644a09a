"""Sending a notice to one channel through Apprise, retried with exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import apprise

from vn_pipeline.lib.alerts.config import Channel

NOTIFY_TYPE = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING,
               "info": apprise.NotifyType.SUCCESS}  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    sent: bool
    attempts: int
    error: str | None  # what the channel said on the last failed attempt


def send(
    channel: Channel,
    title: str,
    body: str,
    severity: str,
    attempts: int,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Up to ``attempts`` tries, waiting backoff, 2×backoff, ... between them. Apprise logs a channel's
    error instead of raising it: the log is captured to keep the error with the alert."""
    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        return Delivery(False, 1, f"Apprise cannot read the URL of {channel.label}")
    error: str | None = None
    for attempt in range(1, attempts + 1):
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            ok = bool(notifier.notify(body=body, title=title, notify_type=NOTIFY_TYPE.get(severity)))
            captured = log.getvalue().strip()
        if ok:
            return Delivery(True, attempt, None)
        error = " | ".join(line for line in captured.splitlines() if line.strip()) or "the channel refused it"
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    return Delivery(False, attempts, error)
