from datetime import date

import numpy as np
import pandas as pd

from vn_pipeline.lib.feature_rules import feature_drift, nan_outside_warmup, population_stability

D1, D2 = date(2026, 2, 23), date(2026, 2, 24)


def test_nan_is_flagged_only_after_the_warmup():
    features = pd.DataFrame(
        {"trading_date": [D1, D1, D2], "symbol": ["NEW", "OLD", "OLD"], "a": [np.nan, 1.0, np.nan], "b": [1.0] * 3}
    )
    history = pd.Series({(D1, "NEW"): 3, (D1, "OLD"): 100, (D2, "OLD"): 101})
    bad = nan_outside_warmup(features, history, warmup_days=60)
    assert bad.to_dict("records") == [{"trading_date": D2, "symbol": "OLD", "nan_features": "a"}]


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert population_stability(reference, rng.normal(0, 1, 2_000)) < 0.02
    assert population_stability(reference, rng.normal(1.5, 1, 2_000)) > 0.25
    before = pd.DataFrame({"x": reference[:2000], "y": reference[:2000]})
    after = pd.DataFrame({"x": reference[2000:4000], "y": reference[2000:4000] + 2})
    drift = feature_drift(before, after, ["x", "y"])
    assert drift.index[0] == "y" and drift["y"] > 0.25 > drift["x"]
