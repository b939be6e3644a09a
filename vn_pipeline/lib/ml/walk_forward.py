"""Walk-forward splits with purge and embargo, in trading days.

Layout of one split on the trading-date axis (indices, not calendar days):

    [ train ............ ] purge [ valid ...... ] embargo [ test ...... ]

A label of day D looks `label_span(h)` = 1 + h trading days ahead (entry D+1, exit D+1+h). So:
- purge >= span: the last training label (exit date) ends strictly before validation starts. On top of the gap,
  `rows_of` drops any training row whose actual exit_date reaches into validation, and any validation row whose
  exit reaches into test (defensive against ragged label frames).
- embargo >= span: the model's whole information set (validation labels included, used by early stopping)
  ends before the first test day.
Splits with a span smaller than the label window are refused (ValueError), not silently leaky.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from vn_pipeline.lib.ml.labels import label_span

Part = Literal["train", "valid", "test"]


@dataclass(frozen=True)
class Split:
    """Inclusive date ranges of one walk-forward fold."""

    train_start: dt.date
    train_end: dt.date
    valid_start: dt.date
    valid_end: dt.date
    test_start: dt.date
    test_end: dt.date
    horizon_days: int = 2
    purge_days: int = 3
    embargo_days: int = 3

    def range_of(self, part: Part) -> tuple[dt.date, dt.date]:
        return {
            "train": (self.train_start, self.train_end),
            "valid": (self.valid_start, self.valid_end),
            "test": (self.test_start, self.test_end),
        }[part]


def walk_forward_splits(
    dates: Sequence[dt.date],
    train_days: int,
    valid_days: int,
    test_days: int,
    step_days: int | None = None,
    mode: Literal["expanding", "rolling"] = "expanding",
    purge_days: int | None = None,
    embargo_days: int | None = None,
    horizon_days: int = 2,
) -> list[Split]:
    """Successive folds over sorted unique trading `dates`; the last test window may be shorter.

    expanding: training always starts at dates[0] and grows by step_days; rolling: a train_days window slides.
    purge_days / embargo_days default to the label span and must be >= it.
    """
    span = label_span(horizon_days)
    purge = span if purge_days is None else purge_days
    embargo = span if embargo_days is None else embargo_days
    step = test_days if step_days is None else step_days
    if purge < span or embargo < span:
        raise ValueError(
            f"purge_days ({purge}) and embargo_days ({embargo}) must be >= the label span ({span} trading days "
            f"for horizon {horizon_days}): a shorter gap lets training labels overlap the evaluated period"
        )
    if min(train_days, valid_days, test_days, step) < 1:
        raise ValueError("train_days, valid_days, test_days and step_days must all be >= 1")
    if mode not in ("expanding", "rolling"):
        raise ValueError(f"mode must be 'expanding' or 'rolling', got {mode!r}")
    axis = list(dates)
    if any(b <= a for a, b in itertools.pairwise(axis)):
        raise ValueError("dates must be sorted and unique")

    splits: list[Split] = []
    k = 0
    while True:
        train_end = train_days - 1 + k * step
        train_start = k * step if mode == "rolling" else 0
        valid_start = train_end + 1 + purge
        valid_end = valid_start + valid_days - 1
        test_start = valid_end + 1 + embargo
        if test_start >= len(axis):
            break
        test_end = min(test_start + test_days - 1, len(axis) - 1)
        splits.append(
            Split(
                axis[train_start],
                axis[train_end],
                axis[valid_start],
                axis[valid_end],
                axis[test_start],
                axis[test_end],
                horizon_days,
                purge,
                embargo,
            )
        )
        k += 1
    return splits


def rows_of(labels: pd.DataFrame, split: Split, part: Part) -> np.ndarray:
    """Boolean mask of `labels` rows (trading_date, exit_date) belonging to `part`, purged.

    train rows must have exited before valid_start, valid rows before test_start; test rows are not purged
    (their labels are what we evaluate against, never fitted on).
    """
    start, end = split.range_of(part)
    d = labels["trading_date"]
    mask = ((d >= start) & (d <= end)).to_numpy()
    if part == "test":
        return mask
    limit = split.valid_start if part == "train" else split.test_start
    # Vectorised (datetime64): a missing exit date (label runs past the data) is NaT, which compares False.
    exit_ok = pd.to_datetime(labels["exit_date"]).to_numpy() < np.datetime64(limit)
    return mask & exit_ok
