"""Alert settings from the environment: channels (Apprise URLs routed by severity), quiet period, UI link, retry.

``VN_PIPELINE_ALERT_URLS`` is a comma-separated list of Apprise URLs; each may be prefixed by the severities it
takes, joined by ``+`` and followed by ``=``::

    VN_PIPELINE_ALERT_URLS="critical=mailto://user:pass@smtp.example.com?to=ops@example.com,
                            ntfy://ntfy.example.com/vn-pipeline, critical+warning=json://hooks.example.com/x"

An entry without a prefix takes every severity. Recovery notices and digests go to the channels that got the
failure they close or summarize. A comma inside a URL (Apprise's ``?to=a@x,b@y``) stays in that URL: entries
are split only at a comma followed by the start of another entry (``[severities=]scheme://``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SEVERITIES = ("critical", "warning", "info")
URLS_VAR = "VN_PIPELINE_ALERT_URLS"
QUIET_VAR = "VN_PIPELINE_ALERT_QUIET_MINUTES"
UI_VAR = "VN_PIPELINE_UI_URL"
ATTEMPTS_VAR = "VN_PIPELINE_ALERT_ATTEMPTS"
BACKOFF_VAR = "VN_PIPELINE_ALERT_BACKOFF_SECONDS"
DEFAULT_QUIET_MINUTES = 60.0  # a check failing on every tick of a bad day is one notice an hour, not sixty
DEFAULT_UI_URL = "http://127.0.0.1:3000"  # where `vn-pipeline ui` serves
DEFAULT_ATTEMPTS = 3  # tries per tick; a channel still down is retried on later ticks
DEFAULT_BACKOFF_SECONDS = 2.0

_PREFIX = re.compile(r"^(?P<sev>[a-z]+(?:\+[a-z]+)*)=(?=[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_SPLIT = re.compile(r",\s*(?=(?:[a-z]+(?:\+[a-z]+)*=)?[a-z][a-z0-9+.-]*://)", re.IGNORECASE)


class AlertConfigError(ValueError):
    """VN_PIPELINE_ALERT_URLS or another alert setting cannot be read."""


@dataclass(frozen=True)
class Channel:
    url: str  # the Apprise URL, secrets included: never stored or logged
    severities: frozenset[str]
    label: str  # the URL without credentials or query: what ops.alerts and the CLI show

    def takes(self, severity: str) -> bool:
        return severity in self.severities


def _label(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_channels(text: str) -> list[Channel]:
    """The channels of a VN_PIPELINE_ALERT_URLS value (see the module docstring for the syntax)."""
    channels: list[Channel] = []
    labels: set[str] = set()
    for entry in (e.strip() for e in _SPLIT.split(text.strip()) if e.strip()):
        severities = frozenset(SEVERITIES)
        match = _PREFIX.match(entry)
        if match:
            severities = frozenset(s.lower() for s in match["sev"].split("+"))
            unknown = severities - set(SEVERITIES)
            if unknown:
                raise AlertConfigError(f"{URLS_VAR}: unknown severity {sorted(unknown)} (use {'/'.join(SEVERITIES)})")
            entry = entry[match.end() :]
        if "://" not in entry:
            raise AlertConfigError(f"{URLS_VAR}: {entry.split('://')[0]!r} is not an Apprise URL (scheme://...)")
        label = _label(entry)
        while label in labels:  # two URLs to the same place with other options: keep their rows apart
            label += "#"
        labels.add(label)
        channels.append(Channel(url=entry, severities=severities, label=label))
    return channels


@dataclass(frozen=True)
class AlertSettings:
    channels: list[Channel] = field(default_factory=list)
    quiet_minutes: float = DEFAULT_QUIET_MINUTES
    ui_url: str = DEFAULT_UI_URL
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AlertSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            text = env.get(name) or ""
            try:
                return float(text) if text.strip() else default
            except ValueError:
                raise AlertConfigError(f"{name}={text!r} is not a number") from None

        return cls(
            channels=parse_channels(env.get(URLS_VAR, "")),
            quiet_minutes=number(QUIET_VAR, DEFAULT_QUIET_MINUTES),
            ui_url=(env.get(UI_VAR) or DEFAULT_UI_URL).rstrip("/"),
            attempts=max(1, int(number(ATTEMPTS_VAR, DEFAULT_ATTEMPTS))),
            backoff_seconds=number(BACKOFF_VAR, DEFAULT_BACKOFF_SECONDS),
        )

    def channel(self, label: str) -> Channel | None:
        return next((c for c in self.channels if c.label == label), None)
