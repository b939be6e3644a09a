"""Alerts from failed asset checks and runs (no Dagster here: the sensor in defs/automation/alerts.py feeds it).

config: channels and settings from the environment; messages: what a notice says; engine: which evaluations
make a notice, the quiet period, delivery; delivery: Apprise with retry; store: ops.alerts; trading: the
trading-alert rules (drawdown levels, losing streaks, a day's loss) of the backtest and risk WARN checks."""
