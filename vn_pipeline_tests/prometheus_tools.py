"""Prometheus's own binaries (Debian's `prometheus` package: `prometheus` and `promtool`) for the tests of the
alert rules and of the exporter against a real server. Where they are not installed the tests skip and say why;
in CI (the CI variable set; .ci/run installs the package) a missing binary fails the test instead, so a skip
cannot stand in for coverage."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[1] / "docker" / "prometheus" / "rules"


def require_binary(name: str) -> str:
    """The path of ``name`` on PATH; else skip (here) or fail (in CI)."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not on PATH (apt-get install prometheus provides it; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)
