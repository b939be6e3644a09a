"""Hostile variants of real vnstock intraday files, made at test time from the files in ../shared: each is one
way a vendor file arrives broken (ragged rows, bytes that are not UTF-8, a 128 KiB cell, duplicated rows,
prices in VND, ...). Each function takes the real file's text and returns the bytes to land."""

from __future__ import annotations

from pathlib import Path

HEADER = "time,price,volume,match_type,id,trading_date,symbol,price_change,accumulated_volume,accumulated_value"
FIELD = {name: i for i, name in enumerate(HEADER.split(","))}


def real_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def _join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _set(line: str, field: str, value: str) -> str:
    cells = line.split(",")
    cells[FIELD[field]] = value
    return ",".join(cells)


def duplicated_rows(lines: list[str], n: int = 50) -> bytes:
    """The first ``n`` trades appear a second time at the end of the file."""
    return _join([*lines, *lines[1 : n + 1]])


def ragged_row(lines: list[str], line: int) -> bytes:
    """File line ``line`` (1-based) is cut after its third field."""
    out = list(lines)
    out[line - 1] = ",".join(out[line - 1].split(",")[:3])
    return _join(out)


def non_utf8_byte(lines: list[str], line: int) -> bytes:
    """A latin-1 byte (0xE9) inside file line ``line``."""
    data = _join(lines).split(b"\n")
    data[line - 1] = data[line - 1].replace(b",", b",\xe9", 1)
    return b"\n".join(data)


def huge_cell(lines: list[str], line: int, size: int = 130 * 1024) -> bytes:
    """File line ``line`` carries a cell over 128 KiB (csv's field limit)."""
    out = list(lines)
    out[line - 1] = _set(out[line - 1], "id", "x" * size)
    return _join(out)


def empty_first_price_change(lines: list[str]) -> bytes:
    return _join([lines[0], _set(lines[1], "price_change", ""), *lines[2:]])


def utc_offsets(lines: list[str]) -> bytes:
    """Every time written in UTC with an explicit offset (09:15:07 in Hanoi is 02:15:07+00:00)."""
    from datetime import datetime, timedelta

    out = [lines[0]]
    for line in lines[1:]:
        local = datetime.strptime(line.split(",")[0], "%Y-%m-%d %H:%M:%S")
        out.append(_set(line, "time", (local - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S+00:00")))
    return _join(out)


def second_symbol(lines: list[str], first: int, last: int, symbol: str) -> bytes:
    """File lines ``first``..``last`` belong to another symbol."""
    out = list(lines)
    for i in range(first - 1, last):
        out[i] = _set(out[i], "symbol", symbol)
    return _join(out)


def prices_in_vnd(lines: list[str]) -> bytes:
    """The whole file priced in VND (171000.0) where thousands of VND (171.0) are the format."""
    out = [lines[0]]
    for line in lines[1:]:
        price = float(line.split(",")[FIELD["price"]])
        out.append(_set(line, "price", f"{price * 1000:.1f}"))
    return _join(out)


def no_header(lines: list[str]) -> bytes:
    return _join(lines[1:])


def latin1_every_row(lines: list[str]) -> bytes:
    """Saved as latin-1 by a spreadsheet, with an accented letter on every row."""
    return "\n".join([lines[0], *(_set(line, "match_type", "vénte") for line in lines[1:])]).encode("latin-1")


def every_row_bad(lines: list[str]) -> bytes:
    return _join([lines[0], *(_set(line, "price", "n/a") for line in lines[1:])])


def long_symbol(lines: list[str], line: int, length: int = 300) -> bytes:
    out = list(lines)
    out[line - 1] = _set(out[line - 1], "symbol", "A" * length)
    return _join(out)


def oversized(path: Path, size: int) -> None:
    """A sparse file of ``size`` bytes: no date inside, far above any vendor export."""
    with path.open("wb") as handle:
        handle.truncate(size)
