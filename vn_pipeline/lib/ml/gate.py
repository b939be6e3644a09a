"""The gate between a trained model and published predictions, decided once when the models are trained."""

from __future__ import annotations

import math


def approve(oos_rank_ic: float, min_oos_rank_ic: float) -> bool:
    """The walk-forward models' out-of-sample Rank IC reaches the minimum (an unmeasured IC, NaN, does not)."""
    return not math.isnan(oos_rank_ic) and oos_rank_ic >= min_oos_rank_ic
