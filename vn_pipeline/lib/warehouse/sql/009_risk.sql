-- Daily risk reports (risk/report, one partition per trading day) of each reported strategy's book.
CREATE SCHEMA IF NOT EXISTS risk;

-- Long format: a new metric needs no migration, and Grafana pivots it. VaR/CVaR and stress losses are positive
-- fractions of NAV, drawdowns negative fractions.
CREATE TABLE risk.summary (
    trading_date date             NOT NULL,
    strategy     text             NOT NULL,
    metric       text             NOT NULL,
    value        double precision,
    PRIMARY KEY (trading_date, strategy, metric)
);

CREATE TABLE risk.positions (
    trading_date          date             NOT NULL,
    strategy              text             NOT NULL,
    symbol                text             NOT NULL,
    weight                double precision NOT NULL,
    value                 double precision NOT NULL,
    shares                bigint           NOT NULL,
    var_hist_95           double precision,
    cvar_hist_95          double precision,
    var_param_95          double precision,
    cvar_param_95         double precision,
    var_hist_99           double precision,
    cvar_hist_99          double precision,
    var_param_99          double precision,
    cvar_param_99         double precision,
    volatility            double precision,
    beta                  double precision,
    adv20_value           double precision,
    days_to_exit          double precision,
    limit_down_loss       double precision,
    foreign_room          bigint,
    share_of_foreign_room double precision,
    PRIMARY KEY (trading_date, strategy, symbol)
);

CREATE TABLE risk.stress (
    trading_date date             NOT NULL,
    strategy     text             NOT NULL,
    scenario     text             NOT NULL,
    loss         double precision NOT NULL,
    detail       text             NOT NULL,
    PRIMARY KEY (trading_date, strategy, scenario)
);
