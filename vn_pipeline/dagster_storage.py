"""Dagster's PostgreSQL event log with one fix for long partitioned runs, named in the instance's dagster.yaml.

A run over N partitions records, per partitioned asset check, one planned-evaluation row per partition, and
dagster-postgres (1.13) serializes the whole planned event, which carries the run's N-key subset, again for each
row: N² work per check. A year's window of the market-data job (250 days, 12 checks) spent ~22 s of ~33 s
creating its run, 73% of it in that serialization (py-spy). The event is the same for every row, so it is
serialized once here; the rows written are identical to upstream's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from dagster._core.event_api import EventLogEntry
from dagster._core.events import AssetCheckEvaluationPlanned
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config


class EventLogStorage(PostgresEventLogStorage):
    """``PostgresEventLogStorage`` that serializes a planned check evaluation once, not once per partition."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]):
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        planned = cast(AssetCheckEvaluationPlanned, event.get_dagster_event().event_specific_data)
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values([{**row, "partition": key} for key in keys]))
