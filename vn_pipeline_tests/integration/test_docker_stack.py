"""The docker-compose stack, checked without a Docker engine: the compose file's structure (ports on 127.0.0.1 only,
no password in it, every mount and dependency real, Grafana without anonymous access), the Prometheus and
Alertmanager configs (promtool), and Grafana's read-only login created by the init script on a real server in the
order docker runs it (before the migrations)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.lib.warehouse.embedded import _bin_dir
from vn_pipeline_tests.databases import own_database

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = re.compile(r"^\$\{([A-Z_]+):\?[^}]+\}$")  # ${VAR:?message}: compose stops while VAR is unset


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_every_port_is_published_on_localhost_only():
    services = _compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert {"webserver", "grafana", "prometheus", "alertmanager", "metrics", "timescaledb"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)


def test_no_password_is_written_in_the_compose_file():
    compose = _compose()
    text = COMPOSE.read_text(encoding="utf-8")
    envs = [("x-dagster-env", compose["x-dagster-env"])]
    envs += [(name, s.get("environment", {})) for name, s in compose["services"].items()]
    secrets = 0
    for where, env in envs:
        assert isinstance(env, dict), f"{where}: environment as a mapping, so this test can read it"
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert REQUIRED.match(str(value)), f"{where}.{key} = {value!r}: take it from .env"
                secrets += 1
    assert secrets >= 5
    for url in re.findall(r"\w+://[^\s\"']+", text):  # credentials in a URL: the password part must be a variable
        match = re.match(r"\w+://[^:/@]+:([^@]+)@", url)
        assert match is None or REQUIRED.match(match.group(1)), url
    # every variable compose requires has a placeholder in .env.example, and .env itself is never committed
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    example = _env_example()
    assert required and required <= set(example), required - set(example)
    assert all(example[name] for name in required)
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    kept = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT, check=False)
    assert (ignored.returncode, kept.returncode) == (0, 1)


def test_grafana_has_no_anonymous_access_and_its_datasources_take_secrets_from_the_environment():
    grafana = _compose()["services"]["grafana"]["environment"]
    assert grafana.get("GF_AUTH_ANONYMOUS_ENABLED", "false") == "false"
    assert REQUIRED.match(grafana["GF_SECURITY_ADMIN_PASSWORD"])
    sources = (ROOT / "docker/grafana/provisioning/datasources/datasources.yml").read_text(encoding="utf-8")
    expanded = set(re.findall(r"\$\{([A-Z_]+)\}", sources))
    assert expanded == {"GRAFANA_DB_USER", "GRAFANA_DB_PASSWORD"} and expanded <= set(grafana)
    warehouse = next(s for s in yaml.safe_load(sources)["datasources"] if s["uid"] == "vn-warehouse")
    assert warehouse["user"] != "vn"  # not the superuser: the read-only login


def test_every_mount_exists_and_every_dependency_is_a_service():
    compose = _compose()
    services = compose["services"]
    volumes = set(compose.get("volumes", {}))
    mounts = 0
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
                mounts += 1
            else:
                assert source in volumes, (name, source)
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), (name, set(depends) - set(services))
    assert mounts >= 5
    # Grafana gets the provisioned dashboards, Prometheus the alert rules and Alertmanager its routing
    assert "./docker/grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]
    assert "./docker/prometheus/rules:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]
    assert any(m.startswith("./docker/alertmanager.yml:") for m in services["alertmanager"]["volumes"])
    assert services["metrics"]["command"][:2] == ["vn-pipeline", "metrics"]
    assert "--port" in services["metrics"]["command"] and "9108" in services["metrics"]["command"]


def test_prometheus_scrapes_the_exporter_loads_the_rules_and_alerts_through_alertmanager(tmp_path):
    config = yaml.safe_load((ROOT / "docker/prometheus.yml").read_text(encoding="utf-8"))
    services = _compose()["services"]
    targets = [t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]]
    assert targets == ["metrics:9108"] and "metrics" in services
    (am,) = [t for a in config["alerting"]["alertmanagers"] for s in a["static_configs"] for t in s["targets"]]
    assert am.split(":")[0] in services
    # the rule glob, on the mounted folder, takes the rule files and not the promtool tests beside them
    rules_dir = ROOT / "docker/prometheus/rules"
    (glob,) = config["rule_files"]
    loaded = sorted(rules_dir.glob(Path(glob).name))
    assert loaded and not [p for p in loaded if ".test." in p.name]
    severities = {
        rule["labels"]["severity"]
        for path in loaded
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert severities == {"critical", "warning"}
    # Alertmanager routes each severity the rules use to a receiver of its own
    routing = yaml.safe_load((ROOT / "docker/alertmanager.yml").read_text(encoding="utf-8"))
    receivers = {r["name"] for r in routing["receivers"]}
    routed = {re.search(r'severity="(\w+)"', m).group(1): r["receiver"]
              for r in routing["route"]["routes"] for m in r["matchers"]}  # fmt: skip
    assert routed == {"critical": "critical", "warning": "warning"} and set(routed.values()) <= receivers
    assert routing["route"]["receiver"] in receivers
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's prometheus package)")
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump({**config, "rule_files": [str(rules_dir / Path(glob).name)]}), encoding="utf-8")
    check = subprocess.run([promtool, "check", "config", str(local)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(loaded)} rule files found" in check.stdout + check.stderr


def test_the_init_script_creates_grafanas_read_only_login_before_the_migrations(warehouse_url):
    """docker-entrypoint-initdb.d runs on an empty database; the migrations run later, when the pipeline connects."""
    login = f"grafana_reader_{uuid.uuid4().hex[:8]}"
    password = 'it\'s a "test" $secret'  # quotes and a dollar: psql must quote it, not splice it
    with own_database(warehouse_url, "vn_pipeline_initdb") as url:
        params = conninfo_to_dict(url)
        env = {**os.environ, "PATH": f"{_bin_dir()}:{os.environ['PATH']}", "POSTGRES_USER": params["user"],
               "POSTGRES_DB": params["dbname"], "PGHOST": params["host"], "PGPORT": str(params["port"]),
               "GRAFANA_DB_USER": login, "GRAFANA_DB_PASSWORD": password}  # fmt: skip
        script = str(ROOT / "docker/initdb/20-grafana-reader.sh")
        for _ in range(2):  # a second start (a restored volume) finds everything there
            done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
        migrate(url)
        try:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT rolcanlogin, rolsuper, rolpassword IS NOT NULL, pg_has_role(rolname, 'vn_pipeline_reader',"
                    " 'member') FROM pg_authid WHERE rolname = %s",
                    (login,),
                ).fetchone()
                assert row == (True, False, True, True)
            with psycopg.connect(make_conninfo(url, user=login, password=password)) as reader:
                assert reader.execute("SELECT count(*) FROM backtest.runs").fetchone() == (0,)
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reader.execute("INSERT INTO market.quarantine (trading_date, source_table, rule, detail, row_data)"
                                   " VALUES ('2024-01-02', 'x', 'x', 'x', '{}')")  # fmt: skip
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'REVOKE CONNECT ON DATABASE "{params["dbname"]}" FROM "{login}"')
                conn.execute(f'DROP ROLE "{login}"')


def test_docker_compose_config_accepts_the_file_when_the_cli_has_compose(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` here; the structure is checked by the tests above")
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run([docker, "compose", "--env-file", str(env), "-f", str(COMPOSE), "config", "--quiet"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
