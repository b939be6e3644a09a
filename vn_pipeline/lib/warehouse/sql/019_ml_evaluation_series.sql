-- ml/evaluation's series as data, not only as the materialization's metadata, so dashboards and SQL can chart them.
-- The daily IC series (ml.evaluation_daily, 004) gains the model whose predictions each day's IC is of; the monthly
-- table is new. ml/evaluation rewrites both over the predictions' span at each run (write_partition: a re-run
-- replaces, never duplicates).
ALTER TABLE ml.evaluation_daily ADD COLUMN model_id text;  -- the model that scored most of that day's names

CREATE TABLE ml.evaluation_monthly (
    month        date             NOT NULL PRIMARY KEY CHECK (extract(day FROM month) = 1),  -- its first day
    n_days       integer          NOT NULL,   -- evaluated trading days in the month
    ic_mean      double precision,
    rank_ic_mean double precision,
    icir         double precision,            -- mean / std of the month's daily IC, per day, not annualised
    rank_icir    double precision
);
