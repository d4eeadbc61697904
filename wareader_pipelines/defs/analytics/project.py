"""The dbt project (`dbt/` at the repository root) as Dagster knows it.

`dagster-dbt` reads `dbt/target/manifest.json` when this module is imported. The
manifest is built once by the project's own command, never committed and never
by Dagster: `make install` (and so `make ui`, `make demo`, `make test`) runs
`dbt parse` whenever a dbt source changed. `DbtProject.prepare_if_dev()` is not
called on purpose: under `dagster dev` it re-parses in the webserver and again in
every run and step process, needs `dbt` on PATH, and concurrent runs then fight
over `target/manifest.concurrent-update-lock`.
"""

from pathlib import Path

from dagster_dbt import DbtProject

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

if not dbt_project.manifest_path.exists():
    raise FileNotFoundError(
        f"{dbt_project.manifest_path} is missing: run `make install` "
        "(it runs `dbt parse --project-dir dbt --profiles-dir dbt`)"
    )
