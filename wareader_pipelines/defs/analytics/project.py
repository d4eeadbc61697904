"""The dbt project (`dbt/` at the repository root) as Dagster knows it.

`dagster-dbt` reads `dbt/target/manifest.json` when this module is imported. The
manifest is built by the project's own command, never committed:
`make install` (and CI) run `.venv/bin/dbt parse --project-dir dbt --profiles-dir dbt`,
and under `dagster dev` `prepare_if_dev()` re-parses it on every reload.
"""

from pathlib import Path

from dagster_dbt import DbtProject

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
dbt_project.prepare_if_dev()
