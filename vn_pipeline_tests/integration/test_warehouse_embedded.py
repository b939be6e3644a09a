"""The embedded server: reuse across processes, recovery from stale pid files and killed owners.

Each test runs its own server in its own home so that killing it does not disturb the session warehouse.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from vn_pipeline.lib.warehouse import EmbeddedPostgres, connect, database_url
from vn_pipeline_tests.conftest import server_home


def _value(url: str) -> int | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(v) FROM kept").fetchone()
    return None if row is None else row[0]


def _store(url: str, value: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v int)")
        conn.execute("INSERT INTO kept VALUES (%s)", (value,))


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not die")


@pytest.fixture
def server() -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(home=server_home())  # see server_home(): not below pytest's 0700 tmp root
    yield pg
    pg.stop()
    shutil.rmtree(pg.home, ignore_errors=True)


def test_second_process_reuses_running_server(server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.ensure_running()
    pid = server.postmaster_pid()
    code = "from vn_pipeline.lib.warehouse import database_url; print(database_url())"
    monkeypatch.setenv("VN_PIPELINE_HOME", str(server.home))
    monkeypatch.delenv("VN_PIPELINE_DATABASE_URL", raising=False)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == url
    assert server.postmaster_pid() == pid
    assert database_url() == url  # in this process too, through the env var
    with connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("vn_pipeline",)


def test_database_url_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", "postgresql://u@db.example:5432/x")
    assert database_url() == "postgresql://u@db.example:5432/x"


def test_stale_postmaster_pid_is_recovered(server: EmbeddedPostgres) -> None:
    url = server.ensure_running()
    _store(url, 41)
    pid = server.postmaster_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # no shutdown: postmaster.pid stays behind
    _wait_dead(pid)
    assert (server.pgdata / "postmaster.pid").exists()
    assert not server.is_running()
    assert server.ensure_running() == url
    assert server.postmaster_pid() != pid
    assert _value(url) == 41


def test_pid_file_pointing_at_an_unrelated_live_process(server: EmbeddedPostgres) -> None:
    """A reused pid (here: our own test process) must not be mistaken for the server."""
    url = server.ensure_running()
    _store(url, 7)
    pid = server.postmaster_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_dead(pid)
    pid_file = server.pgdata / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    assert server.ensure_running() == url
    assert _value(url) == 7


_OWNER = """
import sys, time
from pathlib import Path
from vn_pipeline.lib.warehouse import EmbeddedPostgres
import psycopg
url = EmbeddedPostgres(home=Path(sys.argv[1])).ensure_running()
with psycopg.connect(url) as conn:
    conn.execute("CREATE TABLE kept (v int)")
    conn.execute("INSERT INTO kept VALUES (99)")
print(url, flush=True)
time.sleep(600)
"""


def test_sigkilled_owner_process(server: EmbeddedPostgres) -> None:
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(server.home)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    url = owner.stdout.readline().strip()
    assert url.startswith("postgresql://")
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    # The server outlives its starter (pg_ctl detaches it): reused as is.
    pid = server.postmaster_pid()
    assert server.ensure_running() == url
    assert server.postmaster_pid() == pid
    assert _value(url) == 99
    # And if the server died with its owner, the next call restarts it on the same data.
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_dead(pid)
    assert server.ensure_running() == url
    assert _value(url) == 99


_STARTER = """
import sys, time
from pathlib import Path
from vn_pipeline.lib.warehouse import EmbeddedPostgres
start_at = float(sys.argv[2])
while time.time() < start_at:
    time.sleep(0.001)
print(EmbeddedPostgres(home=Path(sys.argv[1])).ensure_running(), flush=True)
"""


def test_two_processes_starting_a_fresh_server_at_once(server: EmbeddedPostgres) -> None:
    start_at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, str(server.home), start_at], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    urls = []
    for proc in procs:
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0
        urls.append(out.strip())
    assert urls[0] == urls[1]
    assert server.ensure_running() == urls[0]
