"""The warehouse: connection, embedded server, migrations, partition writes (binary COPY) and reads."""

from vn_pipeline.lib.warehouse.connection import ENV_VAR, connect, database_url, masked, sqlalchemy_url
from vn_pipeline.lib.warehouse.embedded import EmbeddedPostgres
from vn_pipeline.lib.warehouse.migrations import migrate
from vn_pipeline.lib.warehouse.reads import read_frame, read_partition
from vn_pipeline.lib.warehouse.writes import PartitionWriteError, write_partition, write_quarantine

__all__ = [
    "ENV_VAR",
    "EmbeddedPostgres",
    "PartitionWriteError",
    "connect",
    "database_url",
    "masked",
    "migrate",
    "read_frame",
    "read_partition",
    "sqlalchemy_url",
    "write_partition",
    "write_quarantine",
]
