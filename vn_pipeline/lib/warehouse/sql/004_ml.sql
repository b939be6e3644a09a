-- Models, predictions and their evaluation. A model row holds everything needed to reload and re-score it.
CREATE SCHEMA IF NOT EXISTS ml;

CREATE TABLE ml.models (
    model_id       text        PRIMARY KEY,
    trained_at     timestamptz NOT NULL DEFAULT now(),
    train_start    date        NOT NULL,
    train_end      date        NOT NULL,   -- last day whose label window the model saw ends on valid_end
    valid_end      date        NOT NULL,
    usable_from    date        NOT NULL,   -- first day it may score: after valid_end's label window + embargo
    feature_names  jsonb       NOT NULL,
    params         jsonb       NOT NULL,
    data_hash      text        NOT NULL,
    best_iteration integer     NOT NULL,
    metrics        jsonb       NOT NULL DEFAULT '{}',
    model_text     text        NOT NULL    -- LightGBM's own text format
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
    n_symbols    integer          NOT NULL,
    coverage     double precision NOT NULL
);
