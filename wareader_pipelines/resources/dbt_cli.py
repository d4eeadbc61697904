"""dagster-dbt's dbt resource, told the dbt version it runs instead of asking a subprocess.

`DbtCliResource` learns the version of its dbt executable by running `dbt --version`
once per resource instance, i.e. once per run: a whole dbt process start (imports,
plugin discovery, and a look-up of the newest release on the package index) before
the run's real dbt command, ~2 CPU seconds and more in wall time where the index is
slow or unreachable. The project's dbt is the locked dbt-core installed beside the
code location's interpreter, so its version is that package's; any other executable
is still asked.

Before each `dbt` command it also builds a dbt Core adapter in the code location's own
process (dbt's profile, project and macros loaded again, 1-3 CPU seconds a command),
only for `fetch_row_counts` / `fetch_column_metadata`; this project reads those figures
through its warehouse resource once dbt has exited (defs/analytics/assets.py), so the
adapter is not built.
"""

from __future__ import annotations

import shutil
import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


def venv_dbt() -> Path:
    """The dbt executable of this interpreter's environment."""
    return Path(sys.executable).with_name("dbt")


class VenvDbtCliResource(DbtCliResource):
    """`DbtCliResource`; the version of the environment's own dbt comes from its package."""

    @cached_property
    def _cli_version(self) -> version.Version:
        executable = shutil.which(self.dbt_executable)
        if executable is not None and Path(executable) == venv_dbt():
            return version.parse(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        """No in-process dbt adapter: nothing here asks the invocation for one."""
        return None
