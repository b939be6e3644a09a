"""Resources: the warehouse, the market-data source and dbt. The only place they are instantiated.

Every setting has a working default, so the demo runs with no configuration at all; environment variables
override them (read here, never inside assets).
"""

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd
import psycopg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging.version import Version
from psycopg import conninfo

from vn_pipeline.defs.dbt.project import DBT_DIR, dbt_executable, is_local_dbt
from vn_pipeline.lib import warehouse
from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before, previous_trading_day
from vn_pipeline.lib.paths import state_dir
from vn_pipeline.lib.sources.protocol import MarketSource
from vn_pipeline.lib.sources.simulator.daily import AlphaEffect
from vn_pipeline.lib.sources.simulator.market import MarketSimulator, SimulatorConfig
from vn_pipeline.lib.sources.simulator.source import SimulatorSource
from vn_pipeline.lib.sources.vendors.cafef_source import open_cafef
from vn_pipeline.lib.sources.vendors.landing import LandingSource, known_exchanges, scan_landing_dir
from vn_pipeline.lib.warehouse.quarantine import replace_quarantine
from vn_pipeline.lib.warehouse.reads import closes_before, date_span
from vn_pipeline.lib.warehouse.snapshots import run_snapshot


@cache
def _migrated_url(configured: str | None) -> str:
    url = configured or warehouse.database_url()
    with warehouse.connect(url) as conn:
        warehouse.migrate(conn)
    return url


class WarehouseResource(dg.ConfigurableResource):
    """TimescaleDB/PostgreSQL at ``database_url``; unset → the embedded server under the state directory."""

    database_url: str | None = None

    def url(self) -> str:
        return _migrated_url(self.database_url)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with warehouse.connect(self.url()) as conn:
            yield conn

    def write_partition(
        self, table: str, frame: pd.DataFrame, start: date, end: date, quarantine: pd.DataFrame | None = None
    ) -> int:
        """Replace the window's rows (and, when given, the window's quarantined rows) in one transaction."""
        with self.connect() as conn, conn.transaction():
            written = warehouse.write_partition(conn, table, frame, start, end)
            if quarantine is not None:
                replace_quarantine(conn, table, quarantine, start, end)
            return written

    def date_span(self, table: str) -> tuple[date, date]:
        """First and last trading_date stored in ``table`` ("schema.table"); an empty table is an error."""
        with self.connect() as conn:
            first, last = date_span(conn, table)
        if first is None:
            raise ValueError(f"{table} is empty: materialize it first")
        return first, last

    def read_partition(
        self, table: str, start: date, end: date, columns: list[str] | None = None, within: str | None = None
    ) -> pd.DataFrame:
        with self.connect() as conn:
            return warehouse.read_partition(conn, table, start, end, columns=columns, within=within)

    def closes_before(self, start: date, end: date) -> pd.DataFrame:
        """Stored closes each day of [start, end] can be compared with (see ``lib.warehouse.reads``)."""
        with self.connect() as conn:
            return closes_before(conn, start, end)


@contextmanager
def _dbt_profile_env(url: str, schema: str) -> Iterator[None]:
    """dbt/profiles.yml reads its connection from VN_PIPELINE_DBT_*: set them from ``url`` while one dbt invocation
    starts (its subprocess and dagster-dbt's in-process adapter copy the environment then), and put the previous
    values back. The password goes only into that environment: never into a file, a log line or the resource's
    config (the UI shows ``database_url`` as the EnvVar's name)."""
    params = conninfo.conninfo_to_dict(url)
    values = {
        "VN_PIPELINE_DBT_HOST": str(params.get("host") or "127.0.0.1"),
        "VN_PIPELINE_DBT_PORT": str(params.get("port") or 5432),
        "VN_PIPELINE_DBT_USER": str(params.get("user") or "postgres"),
        "VN_PIPELINE_DBT_PASSWORD": str(params.get("password") or ""),
        "VN_PIPELINE_DBT_DBNAME": str(params.get("dbname") or "vn_pipeline"),
        "VN_PIPELINE_DBT_SCHEMA": schema,
    }
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class WarehouseDbtResource(DbtCliResource):
    """The dbt CLI over dbt/ against the warehouse at ``database_url``, resolved as WarehouseResource does (unset →
    the embedded server; migrated first, so dbt's sources exist)."""

    database_url: str | None = None
    target_schema: str = "analytics"  # where the models land; the dbt assets' keys are analytics/<model>

    def cli(self, args: Sequence[str], **kwargs: object) -> DbtCliInvocation:
        with _dbt_profile_env(_migrated_url(self.database_url), self.target_schema):
            return super().cli(args, **kwargs)

    @cached_property
    def _cli_version(self) -> Version:
        # dagster-dbt asks the executable (`dbt --version`, 3-4 s of CPU) once per resource instance, i.e. per run;
        # the dbt next to this interpreter is the installed dbt-core, whose version the package metadata gives.
        if is_local_dbt(self.dbt_executable):
            return Version(installed_version("dbt-core"))
        return super()._cli_version


def dbt_resource(database_url: str | dg.EnvVar | None = None) -> WarehouseDbtResource:
    return WarehouseDbtResource(
        project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), dbt_executable=dbt_executable(), database_url=database_url
    )


@cache
def _simulator(seed: int, universe: str, n_symbols: int | None, effects: str) -> MarketSimulator:
    config = SimulatorConfig(seed=seed, universe=universe, n_symbols=n_symbols, alpha_effects=parse_effects(effects))
    return MarketSimulator(config)


def parse_effects(spec: str) -> tuple[AlphaEffect, ...]:
    """'short_term_reversal=0.1,foreign_flow_momentum=0.05' → planted effects with those strengths."""
    effects = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, strength = item.partition("=")
        try:
            effects.append(AlphaEffect(kind.strip(), float(strength)))
        except ValueError as err:
            raise ValueError(f"planted effect {item!r}: expected kind=strength ({err})") from err
    return tuple(effects)


class MarketSourceResource(dg.ConfigurableResource):
    """Where market data comes from: the deterministic simulator (default), vnstock-format files landing in the
    landing directory, or a folder of CafeF end-of-day exports (``data_dir``)."""

    kind: Literal["simulator", "vnstock_files", "cafef"] = "simulator"
    seed: int = 7
    universe: Literal["vn30", "full"] = "vn30"
    n_symbols: int | None = None
    planted_effects: str = ""  # e.g. "short_term_reversal=0.1": a learnable signal for the research loop
    intraday_days: int = 5
    intraday_since: str | None = None
    landing_dir: str = ""
    # cafef: the folder of <SYMBOL>/PriceHistory.csv and GDKhoiNgoai.csv; vnstock_files: the folder of daily
    # history, stocks/<SYM>.csv and indices/<CODE>.csv (unset: the landing directory's own stocks/ and indices/)
    data_dir: str = ""
    # cafef: a folder of daily index files (indices_ftu layout: <CODE>.csv) for VN30 and the exchange indices; the
    # CafeF folder's own VNINDEX comes first. Unset: index levels are VNINDEX only, and a missing VN30 is reported.
    index_dir: str = ""

    def source(self, warehouse: WarehouseResource, run_id: str) -> MarketSource:
        """The configured source as one run sees it: the landing files of a vendor source are the run's
        snapshot, taken by its first step and read by every later one."""
        if self.kind == "simulator":
            simulator = _simulator(self.seed, self.universe, self.n_symbols, self.planted_effects)
            return SimulatorSource(simulator, self.first_intraday_day())
        if self.kind == "cafef":
            if not self.data_dir:
                raise ValueError("source 'cafef' reads a folder of CafeF exports: set VN_PIPELINE_DATA_DIR (data_dir)")
            return open_cafef(Path(self.data_dir), Path(self.index_dir) if self.index_dir else None)
        directory = self.landing_path()
        with warehouse.connect() as conn:
            files = run_snapshot(conn, run_id, lambda: scan_landing_dir(directory) if directory.is_dir() else [])
        return LandingSource(files, known_exchanges(directory), warehouse.closes_before, self.history_path())

    def landing_path(self) -> Path:
        return Path(self.landing_dir) if self.landing_dir else state_dir() / "landing"

    def history_path(self) -> Path:
        """vnstock_files: where stocks/ and indices/ are looked for; a configured folder that is not there is an
        error, not a source with no history (that would erase nothing, but also load nothing, silently)."""
        if not self.data_dir:
            return self.landing_path()
        path = Path(self.data_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"vnstock history dir {path} does not exist (VN_PIPELINE_DATA_DIR)")
        return path

    def first_intraday_day(self) -> date:
        """Ticks are simulated from this day on; earlier history comes as daily bars, as vendor history does."""
        if self.intraday_since:
            return date.fromisoformat(self.intraday_since)
        latest = last_trading_day_on_or_before(date.today())
        return previous_trading_day(latest, self.intraday_days - 1) if self.intraday_days > 1 else latest


class RiskLimitsResource(dg.ConfigurableResource):
    """Risk limits the daily report is held to (WARN checks, the future alerts). Fractions of NAV."""

    max_drawdown: float = 0.20  # the book's drawdown from its peak, as a positive fraction
    max_var_95: float = 0.03  # one-day historical VaR at 95%
    max_single_name_weight: float = 0.15


def build_resources() -> dict[str, object]:
    # an EnvVar, not its value: the UI's resource page then shows the variable's name, never the password
    database_url = dg.EnvVar(warehouse.ENV_VAR) if os.environ.get(warehouse.ENV_VAR) else None
    return {
        "warehouse": WarehouseResource(database_url=database_url),
        "dbt": dbt_resource(database_url),
        "market_source": MarketSourceResource(
            kind=os.environ.get("VN_PIPELINE_SOURCE", "simulator"),
            universe=os.environ.get("VN_PIPELINE_UNIVERSE", "vn30"),
            seed=int(os.environ.get("VN_PIPELINE_SEED", "7")),
            planted_effects=os.environ.get("VN_PIPELINE_PLANTED_EFFECTS", ""),
            landing_dir=os.environ.get("VN_PIPELINE_LANDING_DIR", ""),
            data_dir=os.environ.get("VN_PIPELINE_DATA_DIR", ""),
            index_dir=os.environ.get("VN_PIPELINE_INDEX_DIR", ""),
        ),
        "risk_limits": RiskLimitsResource(
            max_drawdown=float(os.environ.get("VN_PIPELINE_RISK_MAX_DRAWDOWN", "0.20")),
            max_var_95=float(os.environ.get("VN_PIPELINE_RISK_MAX_VAR_95", "0.03")),
            max_single_name_weight=float(os.environ.get("VN_PIPELINE_RISK_MAX_WEIGHT", "0.15")),
        ),
    }
