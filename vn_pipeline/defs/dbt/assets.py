"""The dbt project as assets: every model an asset ``analytics/<model>`` (the schema it lands in), every dbt test an
asset check on the model it tests, every dbt source the market asset that writes that table.

The marts are not partitioned. Each is a small table rebuilt whole by ``dbt build`` (`materialized: table`) and most
look back across days (foreign-flow streaks, sector rank changes, 5- and 20-session windows), so a one-day partition
could not be computed from that day's rows alone; and a mart per trading day would be 6,000 partitions to rebuild
the same table. They depend on all partitions of the market assets and run after the daily close (the
``dbt_marts`` job, started by ``dbt_marts_after_close_sensor``) and in the demo after the market data.
"""

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from vn_pipeline.defs.dbt.project import dbt_project
from vn_pipeline.defs.resources import WarehouseDbtResource

GROUP = "analytics"  # = key prefix = the schema the models land in, as every other group in the graph

PROJECT = dbt_project()


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, table] of the warehouse: a dbt source `market.ohlcv_1d` is the asset market/ohlcv_1d
    that writes it, so lineage runs from the market assets into the models."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([GROUP, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics"]


@dbt_assets(manifest=PROJECT.manifest_path, project=PROJECT, dagster_dbt_translator=WarehouseTranslator(), name="dbt")
def analytics(context: dg.AssetExecutionContext, dbt: WarehouseDbtResource) -> Iterator[object]:
    """``dbt build`` of the selected models and their tests. Each invocation's artefacts (compiled SQL, run results)
    go to a scratch directory removed afterwards: a daily run must not grow dbt/target by a directory a day.

    No ``fetch_row_counts()``: it counts ``relation_name`` from the manifest, which names the database the project
    was parsed against (the profile's default), so on any other database it fails ("cross-database references")."""
    scratch_root = PROJECT.project_dir / "target"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=scratch_root) as scratch:
        yield from dbt.cli(["build"], context=context, target_path=Path(scratch)).stream()


ASSETS = [analytics]
