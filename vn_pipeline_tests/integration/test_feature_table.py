"""features.daily, as migrated, has exactly the columns the feature code produces."""

from pathlib import Path

from vn_pipeline.lib.features import FEATURE_NAMES
from vn_pipeline.lib.features.flows import PROP_NAMES
from vn_pipeline.lib.warehouse.feature_table import features_added_ddl, features_ddl
from vn_pipeline.lib.warehouse.writes import table_columns

SQL = Path(__file__).resolve().parents[2] / "vn_pipeline" / "lib" / "warehouse" / "sql" / "005_features.sql"
ADDED = SQL.with_name("016_proprietary_flow_features.sql")


def test_feature_table_matches_the_feature_list(conn):
    assert list(table_columns(conn, "features.daily")) == ["trading_date", "symbol", *FEATURE_NAMES]


def test_feature_migration_is_the_generated_ddl():
    # a changed feature set needs a regenerated migration: python -m vn_pipeline.lib.warehouse.feature_table;
    # 005 created the table, 016 appended the proprietary-flow features (the last names of the list)
    assert FEATURE_NAMES[-len(PROP_NAMES) :] == PROP_NAMES
    assert SQL.read_text() == features_ddl(FEATURE_NAMES[: -len(PROP_NAMES)])
    assert ADDED.read_text() == features_added_ddl(PROP_NAMES)
