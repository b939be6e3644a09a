"""Portfolio construction: how to split a strategy's exposure over the names it chose.

- ``covariance``: daily-return covariance shrunk toward its diagonal (well conditioned on short windows).
- ``min_variance`` / ``mean_variance`` / ``risk_parity``: long-only, fully invested weights with a per-name
  cap and a two-way turnover cap.
- ``reweight``: apply one of them, point-in-time, to every decision row of a target-weight frame.
"""

from vn_pipeline.lib.portfolio.construction import METHODS, reweight
from vn_pipeline.lib.portfolio.covariance import covariance
from vn_pipeline.lib.portfolio.weights import (
    mean_variance,
    min_turnover,
    min_variance,
    risk_contributions,
    risk_parity,
    turnover,
)

__all__ = [
    "METHODS",
    "covariance",
    "mean_variance",
    "min_turnover",
    "min_variance",
    "reweight",
    "risk_contributions",
    "risk_parity",
    "turnover",
]
