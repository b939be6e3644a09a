"""Figures the Prometheus exporter serves, read from the warehouse (no Dagster here: vn_pipeline/metrics_server.py
adds the instance's runs, materializations and check evaluations)."""
