-- Alerts made by the alerts sensor (vn_pipeline/defs/automation/alerts.py) from failed asset checks and runs:
-- one row per notice and channel, so a channel that is down keeps its own rows pending while the others are
-- sent. `vn-pipeline alerts` lists them; the sensor retries the pending and failed ones on later ticks.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE ops.alerts (
    id              bigserial   PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    kind            text        NOT NULL CHECK (kind IN ('failure', 'recovery', 'run_failure', 'digest')),
    severity        text        NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    subject         text        NOT NULL,             -- "asset/key:check_name", or "run:<job>" for a failed run
    asset_key       text,
    check_name      text,
    partition_key   text        NOT NULL DEFAULT '',  -- a trading day, "start...end" for a range, '' for none
    run_id          text,
    source_event    bigint,                           -- storage id of the Dagster event it came from
    title           text        NOT NULL,
    body            text        NOT NULL,
    details         jsonb       NOT NULL DEFAULT '{}',
    channel         text        NOT NULL DEFAULT '',  -- the channel's URL without secrets; '' when none is set
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'grouped', 'unrouted')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    digest_id       bigint      REFERENCES ops.alerts (id)  -- the digest that reported a grouped failure
);
-- An event read twice (a tick that stored its alerts but died before its cursor was saved) adds nothing.
CREATE UNIQUE INDEX alerts_one_per_event ON ops.alerts (kind, source_event, partition_key, channel)
    WHERE source_event IS NOT NULL;
CREATE INDEX alerts_by_subject ON ops.alerts (subject, partition_key, id);
CREATE INDEX alerts_to_deliver ON ops.alerts (status, next_attempt_at) WHERE status IN ('pending', 'failed');
