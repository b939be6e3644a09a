"""Where the real vendor files live (../shared/data/vn_real, beside the project) and how tests that need them
skip on a machine that does not have them. CI always has them: there a missing folder is an error, so a
skip cannot stand in for coverage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VN_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vn_real"
REASON = f"real vendor files not available ({VN_REAL} is not beside the project; CI has it)"

needs_vn_real = pytest.mark.skipif(not VN_REAL.is_dir(), reason=REASON)


def require_in_ci() -> None:
    """Called once per test session: CI without the real files is a broken CI, not a skip."""
    if os.environ.get("CI") and not VN_REAL.is_dir():
        raise pytest.UsageError(f"CI=true but {VN_REAL} is missing: the real-data tests would all skip")
