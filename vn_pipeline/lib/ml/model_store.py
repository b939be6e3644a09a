"""A trained model plus the metadata needed to reload it and know what data it has seen.

`to_record()` gives a database-friendly dict (the LightGBM model text + JSON metadata); `from_record()` rebuilds
a model whose predictions are bit-identical to the original (LightGBM writes doubles with full precision).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from vn_pipeline.lib.warehouse.columns import ROW_KEY

KEYS = list(ROW_KEY)


@dataclass
class TrainedModel:
    booster: lgb.Booster
    feature_names: list[str]
    params: dict[str, Any]
    train_start: dt.date
    train_end: dt.date
    valid_start: dt.date
    valid_end: dt.date
    # Last date whose bars the model saw, label windows included (max exit_date of train/valid rows used).
    data_end: dt.date
    best_iteration: int
    data_hash: str
    horizon_days: int = 2
    embargo_days: int = 3
    num_boost_round: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def model_id(self) -> str:
        """Content address: the same data, params and trees always give the same id (cached: the booster is
        never mutated after training)."""
        h = hashlib.sha256(self.booster.model_to_string().encode())
        h.update(self.data_hash.encode())
        return h.hexdigest()[:16]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Scores for the rows of `features` (missing values are fine: LightGBM routes NaN)."""
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ValueError(f"features lack the model's columns: {missing}")
        x = features[self.feature_names].to_numpy(dtype=float)
        return self.booster.predict(x, num_iteration=self.best_iteration)

    def metadata(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "feature_names": self.feature_names,
            "params": self.params,
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "valid_start": self.valid_start.isoformat(),
            "valid_end": self.valid_end.isoformat(),
            "data_end": self.data_end.isoformat(),
            "best_iteration": self.best_iteration,
            "data_hash": self.data_hash,
            "horizon_days": self.horizon_days,
            "embargo_days": self.embargo_days,
            "num_boost_round": self.num_boost_round,
            "extra": self.extra,
        }

    def to_record(self) -> dict[str, str]:
        """{"model_id", "model_text" (LightGBM text format), "metadata" (JSON)}: one database row."""
        return {
            "model_id": self.model_id,
            "model_text": self.booster.model_to_string(),
            "metadata": json.dumps(self.metadata(), sort_keys=True, default=str),
        }

    @classmethod
    def from_record(cls, record: dict[str, str]) -> TrainedModel:
        meta = json.loads(record["metadata"])
        model = cls(
            booster=lgb.Booster(model_str=record["model_text"]),
            feature_names=list(meta["feature_names"]),
            params=dict(meta["params"]),
            train_start=dt.date.fromisoformat(meta["train_start"]),
            train_end=dt.date.fromisoformat(meta["train_end"]),
            valid_start=dt.date.fromisoformat(meta["valid_start"]),
            valid_end=dt.date.fromisoformat(meta["valid_end"]),
            data_end=dt.date.fromisoformat(meta["data_end"]),
            best_iteration=int(meta["best_iteration"]),
            data_hash=meta["data_hash"],
            horizon_days=int(meta["horizon_days"]),
            embargo_days=int(meta["embargo_days"]),
            num_boost_round=int(meta["num_boost_round"]),
            extra=dict(meta.get("extra", {})),
        )
        if record.get("model_id") not in (None, model.model_id):
            raise ValueError(f"record model_id {record['model_id']} does not match its content ({model.model_id})")
        return model


def data_hash(*frames: pd.DataFrame) -> str:
    """sha256 over the row hashes and column names of the given frames (order-sensitive, dtype-stable)."""
    h = hashlib.sha256()
    for f in frames:
        h.update(json.dumps([str(c) for c in f.columns]).encode())
        h.update(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes())
    return h.hexdigest()
