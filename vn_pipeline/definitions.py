"""The one Definitions object: assets, checks, jobs, schedules, sensors and resources. Nothing else here."""

import dagster as dg

from vn_pipeline.defs.automation.alerts import alerts_sensor
from vn_pipeline.defs.automation.jobs import JOBS
from vn_pipeline.defs.automation.run_health import dead_run_sensor
from vn_pipeline.defs.automation.schedules import daily_close_schedule
from vn_pipeline.defs.automation.sensors import (
    daily_close_chain_sensor,
    dbt_marts_after_close_sensor,
    landing_file_sensor,
)
from vn_pipeline.defs.backtest.assets import ASSETS as BACKTEST_ASSETS
from vn_pipeline.defs.backtest.checks import CHECKS as BACKTEST_CHECKS
from vn_pipeline.defs.dbt.assets import ASSETS as DBT_ASSETS
from vn_pipeline.defs.features.assets import ASSETS as FEATURE_ASSETS
from vn_pipeline.defs.features.checks import CHECKS as FEATURE_CHECKS
from vn_pipeline.defs.market_data.action_checks import CHECKS as ACTION_CHECKS
from vn_pipeline.defs.market_data.assets import ASSETS as MARKET_ASSETS
from vn_pipeline.defs.market_data.calendar_checks import CHECKS as CALENDAR_CHECKS
from vn_pipeline.defs.market_data.checks import CHECKS as MARKET_CHECKS
from vn_pipeline.defs.ml.assets import ASSETS as ML_ASSETS
from vn_pipeline.defs.ml.checks import CHECKS as ML_CHECKS
from vn_pipeline.defs.resources import build_resources
from vn_pipeline.defs.risk.assets import ASSETS as RISK_ASSETS
from vn_pipeline.defs.risk.checks import CHECKS as RISK_CHECKS

defs = dg.Definitions(
    assets=[*MARKET_ASSETS, *FEATURE_ASSETS, *ML_ASSETS, *BACKTEST_ASSETS, *RISK_ASSETS, *DBT_ASSETS],
    asset_checks=[
        *MARKET_CHECKS,
        *CALENDAR_CHECKS,
        *ACTION_CHECKS,
        *FEATURE_CHECKS,
        *ML_CHECKS,
        *BACKTEST_CHECKS,
        *RISK_CHECKS,
    ],
    jobs=JOBS,
    schedules=[daily_close_schedule],
    sensors=[
        landing_file_sensor,
        daily_close_chain_sensor,
        dbt_marts_after_close_sensor,
        dead_run_sensor,
        alerts_sensor,
    ],
    resources=build_resources(),
)
