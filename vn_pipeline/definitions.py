"""The one Definitions object: assets, checks, jobs, schedules, sensors and resources. Nothing else here."""

import dagster as dg

from vn_pipeline.defs.automation.jobs import landing_file_ingest, market_daily_close
from vn_pipeline.defs.automation.schedules import daily_close_schedule
from vn_pipeline.defs.automation.sensors import landing_file_sensor
from vn_pipeline.defs.market_data.assets import ASSETS as MARKET_ASSETS
from vn_pipeline.defs.market_data.checks import CHECKS as MARKET_CHECKS
from vn_pipeline.defs.resources import build_resources

defs = dg.Definitions(
    assets=[*MARKET_ASSETS],
    asset_checks=[*MARKET_CHECKS],
    jobs=[market_daily_close, landing_file_ingest],
    schedules=[daily_close_schedule],
    sensors=[landing_file_sensor],
    resources=build_resources(),
)
