-- Models, predictions and their evaluation. A model row holds everything needed to reload and re-score it.
CREATE SCHEMA IF NOT EXISTS ml;

CREATE TABLE ml.models (
    model_id    text        PRIMARY KEY,   -- content address: trees + training data hash
    trained_at  timestamptz NOT NULL DEFAULT now(),
    train_start date        NOT NULL,
    train_end   date        NOT NULL,
    valid_end   date        NOT NULL,
    data_end    date        NOT NULL,      -- last day whose bars it saw, label windows included
    metadata    jsonb       NOT NULL,      -- feature list, parameters, data hash, horizon, embargo, metrics
    model_text  text        NOT NULL       -- LightGBM's own text format: reload and re-score exactly
);

CREATE TABLE ml.predictions (
    trading_date date             NOT NULL,
    symbol       text             NOT NULL,
    score        double precision NOT NULL,
    model_id     text             NOT NULL REFERENCES ml.models (model_id),
    PRIMARY KEY (trading_date, symbol)
);

CREATE TABLE ml.evaluation_daily (
    trading_date date             NOT NULL PRIMARY KEY,
    ic           double precision,
    rank_ic      double precision,
    n            integer,           -- scored names with a realized label
    n_tradable   integer,
    n_scored     integer,
    coverage     double precision
);
