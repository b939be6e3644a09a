"""The TimescaleDB migrations (*.timescale.sql) applied to real TimescaleDB 2.23, running as WASM in Node.

The embedded server has no timescaledb, so without this test the hypertable/compression DDL would only
meet a real TimescaleDB in production. PGlite+TimescaleDB runs offline once the npm package is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "timescale"


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH (CI installs it): the TimescaleDB DDL check runs in Node")
    if not (NODE_DIR / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not"
        command = "ci" if (NODE_DIR / "package-lock.json").exists() else "install"
        subprocess.run(
            [npm, command, "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300, capture_output=True
        )
    return node


def test_timescale_migrations_apply_and_compress(node: str) -> None:
    proc = subprocess.run(
        [node, "apply_migrations.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["timescaledb"].startswith("2.23")
    assert "001_market.timescale.sql" in report["applied"]
    hypertables = {h["name"]: h["compression_enabled"] for h in report["hypertables"]}
    assert hypertables == {"market.raw_ticks": True, "market.ohlcv_1m": True, "market.ohlcv_1d": True}
    assert {p["name"] for p in report["policies"] if p["proc_name"] == "policy_compression"} == set(hypertables)
    assert report["compressed_chunks"] == 1
    assert report["raw_ticks_rows"] == 4
    assert report["raw_ticks_rows_after_rewrite"] == 2  # delete+insert of a partition in a compressed chunk
