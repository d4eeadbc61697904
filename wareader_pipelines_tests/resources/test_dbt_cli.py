"""The dbt resource knows the environment's dbt version without running `dbt --version`."""

import subprocess

import pytest
from dagster_dbt import DbtCliResource

from wareader_pipelines.defs.analytics.project import dbt_project
from wareader_pipelines.resources.dbt_cli import VenvDbtCliResource, venv_dbt


def test_the_environments_dbt_version_is_its_package_version_without_a_subprocess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = DbtCliResource(project_dir=dbt_project, dbt_executable=str(venv_dbt()))
    by_subprocess = asked._cli_version  # dagster-dbt runs `dbt --version`
    told = VenvDbtCliResource(project_dir=dbt_project, dbt_executable=str(venv_dbt()))

    def no_subprocess(*args: object, **kwargs: object) -> bytes:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    assert told._cli_version == by_subprocess


def test_another_dbt_executable_is_still_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []

    def fake_version(args: list[str], **kwargs: object) -> bytes:
        asked.append(args)
        return b"Core:\n  - installed: 9.8.7\n"

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", fake_version)
    other = VenvDbtCliResource(project_dir=dbt_project, dbt_executable="/bin/true")
    assert str(other._cli_version) == "9.8.7"
    assert asked == [["/bin/true", "--version"]]


def test_no_dbt_adapter_is_built_in_the_dagster_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster-dbt builds one per command (dbt's profile, project and macros loaded in this
    process) only to fetch row counts and columns, which the project reads otherwise."""
    import dbt.config.runtime

    loaded: list[object] = []
    monkeypatch.setattr(dbt.config.runtime, "load_profile", lambda *a, **k: loaded.append(a))
    handed: dict[str, object] = {}

    def run(**kwargs: object) -> str:
        handed.update(kwargs)
        return "started"

    monkeypatch.setattr("dagster_dbt.core.resource.DbtCliInvocation.run", run)
    told = VenvDbtCliResource(project_dir=dbt_project, dbt_executable=str(venv_dbt()))
    assert told.cli(["build"], manifest=dbt_project.manifest_path) == "started"
    assert handed["adapter"] is None and loaded == []
    # dagster-dbt's own method would have loaded the profile for it:
    with pytest.raises(Exception):  # noqa: B017 (the stand-in profile is not one)
        DbtCliResource._initialize_dbt_core_adapter(told, ["build"])
    assert loaded
