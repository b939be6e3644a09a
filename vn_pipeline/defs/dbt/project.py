"""The dbt project in dbt/ and its manifest, parsed once per version of the project and cached outside git.

Definitions are loaded by every test, CLI command and UI process, so the manifest must not be re-parsed on each
load (``dbt parse`` takes ~5-10 s) and must not be committed (a clean clone has no dbt/target). The manifest lives
in ``dbt/target/manifest-<fingerprint>/``, the fingerprint a hash of every file dbt reads to parse the project and of
the dbt-core version: an edited model or test gets a new directory and one new parse; an unchanged project loads
the cached file. ``dagster dev`` and ``vn-pipeline ui`` use the same path (no DAGSTER_IS_DEV_CLI special case).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtProject

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt"
# What dbt parses; target/, logs/ and dbt_packages/ are outputs, not inputs.
_PARSED = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "models", "tests", "macros")
_SUFFIXES = {".sql", ".yml", ".yaml", ".md", ".csv", ".py"}


def dbt_executable() -> str:
    """The dbt next to this interpreter: a test or CLI run as .venv/bin/python does not have .venv/bin on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def is_local_dbt(executable: str) -> bool:
    return Path(executable) == Path(sys.executable).parent / "dbt"


def fingerprint(project_dir: Path = DBT_DIR) -> str:
    digest = hashlib.sha256(version("dbt-core").encode())
    for name in _PARSED:
        root = project_dir / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES)
        for path in files:
            digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _parse(project_dir: Path, target: Path) -> None:
    """``dbt parse`` into a scratch directory renamed into place, so that two processes loading the definitions at
    once (pytest-xdist workers, the UI and the daemon) never read a half-written manifest."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    # Parsing needs the profile but no connection; the profile's env_var defaults keep it offline.
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = [dbt_executable(), "parse", "--quiet", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    args += ["--target-path", str(scratch), "--log-path", str(scratch / "logs")]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0 or not (scratch / "manifest.json").exists():
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError(f"dbt parse of {project_dir} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    scratch.chmod(0o755)  # mkdtemp's 0700 would hide the manifest from another user running the same checkout
    try:
        scratch.rename(target)
    except OSError:  # another process got there first with the same fingerprint: same manifest, keep theirs
        shutil.rmtree(scratch, ignore_errors=True)
    for stale in target.parent.glob("manifest-*"):  # earlier versions of the project
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)


def dbt_project(project_dir: Path = DBT_DIR) -> DbtProject:
    """The project with a manifest for its current files, parsing first when there is none yet."""
    target_path = Path("target") / f"manifest-{fingerprint(project_dir)}"
    if not (project_dir / target_path / "manifest.json").exists():
        _parse(project_dir, project_dir / target_path)
    return DbtProject(project_dir=project_dir, target_path=target_path)
