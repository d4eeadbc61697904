"""dagster-dbt's dbt resource, told the dbt version it runs instead of asking a subprocess.

`DbtCliResource` learns the version of its dbt executable by running `dbt --version`
once per resource instance, i.e. once per run: a whole dbt process start (imports,
plugin discovery, and a look-up of the newest release on the package index) before
the run's real dbt command, ~2 CPU seconds and more in wall time where the index is
slow or unreachable. The project's dbt is the locked dbt-core installed beside the
code location's interpreter, so its version is that package's; any other executable
is still asked.
"""

from __future__ import annotations

import shutil
import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

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
