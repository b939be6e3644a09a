#!/usr/bin/env bash
# First start of the timescaledb container only (docker-entrypoint-initdb.d): the login Grafana's datasource uses,
# a member of the read-only role vn_pipeline_reader. The role itself and its grants belong to the warehouse
# migrations (vn_pipeline/lib/warehouse/sql/020_readonly_role.sql), which run when the pipeline first connects; it
# is created here too when missing so the login can join it before then. The password comes from .env through the
# container's environment and is passed to psql as a variable (quoted by psql, never spliced into SQL text).
set -euo pipefail
: "${GRAFANA_DB_USER:?set it in .env}"
: "${GRAFANA_DB_PASSWORD:?set it in .env}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v reader_login="$GRAFANA_DB_USER" -v reader_password="$GRAFANA_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE vn_pipeline_reader NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vn_pipeline_reader') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE vn_pipeline_reader', :'reader_login', :'reader_password')
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'reader_login') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader_login') \gexec
SQL
