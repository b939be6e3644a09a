-- The landing files a run reads, fixed by its first step and read by every later one, so that a file landing
-- (or changing) halfway through a run cannot make its listings and its ticks disagree.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE ops.landing_snapshots (
    run_id   text        PRIMARY KEY,
    taken_at timestamptz NOT NULL DEFAULT now(),
    files    jsonb       NOT NULL   -- [{"path", "trading_date", "bytes", "mtime_ns", "dated_by_mtime"}, ...]
);
