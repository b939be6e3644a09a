"""The alert rules in docker/prometheus/rules/ are valid and behave as their promtool unit tests say."""

from __future__ import annotations

import subprocess

from vn_pipeline_tests.prometheus_tools import RULES_DIR, require_binary


def test_rules_are_valid() -> None:
    promtool = require_binary("promtool")
    done = subprocess.run([promtool, "check", "rules", "vn_pipeline.rules.yml"], cwd=RULES_DIR,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_rules_unit_tests_pass() -> None:
    promtool = require_binary("promtool")
    done = subprocess.run([promtool, "test", "rules", "vn_pipeline.rules.test.yml"], cwd=RULES_DIR,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
