"""Report files under the state directory, written so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(data: bytes, directory: Path | str, filename: str) -> Path:
    """Write ``data`` to ``directory/filename`` atomically (temp file in the same directory + ``os.replace``), so
    a reader or web server never sees a half-written report. Creates the directory; returns the final path."""
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise ValueError(f"filename must be a plain file name, got {filename!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is meant to be read by others (web server, teammates)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
