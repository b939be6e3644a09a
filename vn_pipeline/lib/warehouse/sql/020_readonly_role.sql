-- A read-only role for dashboards and analysts (Grafana's datasource logs in as a member of it). NOLOGIN and no
-- password: the login user is created outside the migrations (docker/initdb/20-grafana-reader.sh, from the .env),
-- so no secret ever lands in this repository or in schema_migrations. Roles are cluster-wide, so each database
-- of a server (tests make many) finds the role already there: create it only when missing, and tolerate a
-- concurrent migration of another database creating it first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vn_pipeline_reader') THEN
        CREATE ROLE vn_pipeline_reader NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- USAGE + SELECT on the project's schemas (every schema the migrations created: not public, where Dagster may keep
-- its run storage, and not the catalogs or TimescaleDB's internal schemas, whose chunks are read through their
-- hypertables), and the same SELECT on every table the migrating role creates there later, so a new table needs
-- no grant of its own. A migration that adds a schema must grant it the same way (the reader test fails if not).
DO $$
DECLARE
    s text;
BEGIN
    FOR s IN
        SELECT nspname FROM pg_catalog.pg_namespace
        WHERE nspname NOT IN ('public', 'information_schema')
          AND nspname NOT LIKE 'pg\_%'
          AND nspname NOT LIKE '\_timescaledb%'
          AND nspname NOT LIKE 'timescaledb\_%'
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO vn_pipeline_reader', s);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO vn_pipeline_reader', s);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO vn_pipeline_reader', s);
    END LOOP;
END
$$;
