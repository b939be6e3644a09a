"""Benchmark: the whole graph on CafeF-format history at full-market scale, with time per stage and peak memory.

``../shared/data/vn_real/cafef`` holds 123 real tickers; the market lists ~1,600. This script builds a folder of
``--tickers`` symbols by copying the real ones under new codes (``ACB`` → ``ACB01``, ...), each copy byte for byte
with its company-list row, so the parser, the board inference, the corporate actions and every check see real
vendor quirks at full-market volume (the copies share their price paths: the research figures of such a run
measure nothing, only its time and memory do). Then it runs ``vn-pipeline demo --source cafef`` on it in a fresh
state directory, timestamps each stage line the demo prints, and samples the demo process's RSS (its peak
overall from the kernel, and the highest sample within each stage).

``--tickers 0`` runs on the real folder itself.

Prints a few human lines; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/full_market_history.py --tickers 1600 [--start 2016-01-04] [--folder DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "vn_real"
COMPANIES = Path("basic_info") / "companies_vnallshare.csv"


def build_folder(target: Path, tickers: int) -> int:
    """``tickers`` symbols copied from the real CafeF folder (and VNINDEX once); returns how many."""
    source = REAL / "cafef"
    real = sorted(p.name for p in source.iterdir() if (p / "PriceHistory.csv").exists() and p.name != "VNINDEX")
    shutil.copytree(source / "VNINDEX", target / "VNINDEX")
    with (source / COMPANIES).open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    by_symbol = {r["Symbol"]: r for r in rows}
    made, out_rows = 0, []
    for copy in range(1, tickers // len(real) + 2):
        for symbol in real:
            if made == tickers:
                break
            code = f"{symbol}{copy:02d}"
            shutil.copytree(source / symbol, target / code)
            proprietary = target / code / "GDTuDoanh.csv"  # the only file that names its symbol in a column
            if proprietary.exists():
                text = proprietary.read_text(encoding="utf-8-sig")
                proprietary.write_text(text.replace(f"\n{symbol},", f"\n{code},"), encoding="utf-8-sig")
            out_rows.append({**by_symbol[symbol], "Symbol": code})
            made += 1
    (target / COMPANIES).parent.mkdir(parents=True)
    with (target / COMPANIES).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(out_rows)
    return made


def run_demo(data_dir: Path, state: Path, start: str | None) -> tuple[list[tuple[str, float, float]], int, float]:
    """(stage, seconds, highest RSS sample in GB) per stage line, the demo's exit code and its peak RSS in GB."""
    command = [sys.executable, "-m", "vn_pipeline.cli", "demo", "--source", "cafef", "--data-dir", str(data_dir),
               "--index-dir", str(REAL / "indices_ftu")] + (["--start", start] if start else [])  # fmt: skip
    env = {**os.environ, "VN_PIPELINE_HOME": str(state)}
    env.pop("VN_PIPELINE_DATABASE_URL", None)
    stages: list[tuple[str, float, float]] = []
    began = last = time.perf_counter()
    current, high = "setup", [0.0]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as demo:
        assert demo.stdout is not None
        sampler = threading.Thread(target=_sample_rss, args=(demo, high), daemon=True)
        sampler.start()
        for line in demo.stdout:
            print(line, end="", flush=True)
            text = line.removeprefix("[vn-pipeline] ").strip()
            if text.endswith(" ..."):
                now = time.perf_counter()
                stages.append((current, now - last, high[0]))
                current, last, high[0] = text.removesuffix(" ..."), now, 0.0
        code = demo.wait()
    stages.append((current, time.perf_counter() - last, high[0]))
    stages.append(("total", time.perf_counter() - began, max(s[2] for s in stages)))
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB on Linux
    return stages, code, peak_gb


def _sample_rss(demo: subprocess.Popen, high: list[float], every_s: float = 0.2) -> None:
    """Keep ``high[0]`` at the highest RSS seen since the stage began (the reader resets it per stage)."""
    process = psutil.Process(demo.pid)
    while demo.poll() is None:
        try:
            high[0] = max(high[0], process.memory_info().rss / 1024**3)
        except psutil.NoSuchProcess:
            return
        time.sleep(every_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=1600, help="symbols in the generated folder (0: the real one)")
    parser.add_argument("--start", default=None, help="first day (default: the files' first)")
    parser.add_argument("--folder", type=Path, default=None, help="build the folder here and keep it (reused if there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vn_full_market_") as tmp:
        root = Path(tmp)
        if not args.tickers:
            data_dir, made = REAL / "cafef", 123
        elif args.folder is not None and args.folder.exists():
            data_dir, made = args.folder, len(list(args.folder.glob("*/PriceHistory.csv"))) - 1  # VNINDEX
        else:
            data_dir = args.folder or root / "cafef"
            made = build_folder(data_dir, args.tickers)
        stages, code, peak_gb = run_demo(data_dir, root / "state", args.start)
    by_kind: dict[str, list[float]] = {}
    for name, seconds, high in stages:
        kind = name.split(" 2")[0]  # "market data 2003-01-02 → ..." → "market data"
        total = by_kind.setdefault(kind, [0.0, 0.0])
        total[0], total[1] = total[0] + seconds, max(total[1], high)
    print(f"{made} tickers, exit {code}, peak RSS {peak_gb:.2f} GB")
    for kind, (seconds, high) in by_kind.items():
        print(f"  {kind:<44} {seconds:8.1f} s  peak RSS {high:5.2f} GB")
    print(json.dumps({"tickers": made, "exit_code": code, "peak_rss_gb": round(peak_gb, 2),
                      "seconds": {k: round(v[0], 1) for k, v in by_kind.items()},
                      "peak_rss_gb_by_stage": {k: round(v[1], 2) for k, v in by_kind.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
