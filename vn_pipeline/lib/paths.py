"""Where the project keeps its local state (embedded database, Dagster home, reports)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    """``VN_PIPELINE_HOME`` when set, else ``.state/`` at the project root; created on first use."""
    path = Path(os.environ.get("VN_PIPELINE_HOME") or PROJECT_ROOT / ".state")
    path.mkdir(parents=True, exist_ok=True)
    return path
