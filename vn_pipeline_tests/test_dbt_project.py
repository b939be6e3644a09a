"""The cached dbt manifest is keyed by the project's files: an edited model gets a new manifest directory, an
unchanged project the same one; outputs (target/, logs/) do not count. No dbt parse here (the definitions' import
already made the current manifest)."""

import shutil
from pathlib import Path

from vn_pipeline.defs.dbt.project import DBT_DIR, dbt_project, fingerprint


def test_the_manifest_key_follows_the_project_files(tmp_path: Path):
    copy = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    key = fingerprint(copy)
    assert key == fingerprint(DBT_DIR)  # the same files give the same key wherever the project lives
    (copy / "target").mkdir()
    (copy / "target" / "run_results.json").write_text("{}")
    assert fingerprint(copy) == key  # outputs are not inputs
    model = copy / "models" / "marts" / "mart_liquidity.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    assert fingerprint(copy) != key
    (copy / "tests" / "assert_new.sql").write_text("select 1 where false")
    assert len({key, fingerprint(copy)}) == 2


def test_the_definitions_load_the_manifest_of_the_current_files():
    project = dbt_project()
    assert project.manifest_path.exists()
    assert project.manifest_path.parent.name == f"manifest-{fingerprint()}"
    assert [p.name for p in (DBT_DIR / "target").glob("manifest-*")] == [project.manifest_path.parent.name]


def test_the_dbt_resource_holds_the_warehouse_url_as_an_env_var_reference(monkeypatch):
    from vn_pipeline.defs.resources import build_resources

    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", "postgresql://quant:s3cret@db.example:5432/vn")
    dbt = build_resources()["dbt"]
    assert "s3cret" not in repr(dbt) and "s3cret" not in str(dbt.model_dump())
    assert Path(dbt.dbt_executable).exists() and Path(dbt.project_dir) == DBT_DIR
