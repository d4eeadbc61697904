"""The code location loads, and every asset tells the UI who owns it and what it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from wareader_pipelines.cli import sample_run
from wareader_pipelines.definitions import defs
from wareader_pipelines.lib.partitions import daily_partitions
from wareader_pipelines_tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_definitions_load_and_validate(definitions: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw_messages", "message_statuses", "quarantine", "cleaned_messages"} <= keys


def test_every_asset_is_described_owned_grouped_and_kinded(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        assert node.description and len(node.description) > 20, name
        assert node.owners, name
        assert node.group_name and node.group_name != "default", name
        assert node.kinds, name


def test_every_table_is_guarded_by_checks_and_dbt_tests_are_checks(
    definitions: dg.Definitions,
) -> None:
    graph = definitions.resolve_asset_graph()
    checked = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    tables = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }
    assert tables <= checked, f"tables without a check: {sorted(tables - checked)}"
    fct_checks = {k.name for k in graph.asset_check_keys if k.asset_key.path == ["fct_messages"]}
    assert "unique_fct_messages_message_id" in fct_checks  # a dbt test, shown as a check


def test_daily_assets_backfill_in_ranged_runs(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable and node.partitions_def == daily_partitions:
            policy = node.backfill_policy
            assert policy is not None, key
            assert policy.max_partitions_per_run is None or policy.max_partitions_per_run >= 28, key


def test_resources_bind_secrets_from_the_environment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREADER_PSEUDONYM_KEY", "from-the-environment")
    loaded = defs()
    settings = loaded.resources["settings"]
    # Bound as EnvVar, not copied: the value is read when a run starts.
    assert isinstance(settings.pseudonym_key, dg.EnvVar)
    assert "from-the-environment" not in repr(loaded.resources)


def test_list_and_map_settings_are_bound_as_env_vars_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREADER_LANGUAGES", "es, pt")
    monkeypatch.setenv("WAREADER_EXPORT_DATE_ORDERS", '{"exports/a.txt": "MDY"}')
    monkeypatch.setenv("WAREADER_EXPORT_TIMEZONE", "America/Sao_Paulo")
    monkeypatch.setenv("WAREADER_EXPORT_TIMEZONES", '{"exports/a.txt": "Europe/Berlin"}')
    monkeypatch.setenv("WAREADER_EXPORT_WEBHOOK_URLS", "http://127.0.0.1:9/a, http://127.0.0.1:9/b")
    # Helper processes a run may start (0: none).
    monkeypatch.setenv("WAREADER_EXPORT_WORKERS", "0")
    loaded = defs()
    settings, hooks = loaded.resources["settings"], loaded.resources["export_webhooks"]
    assert isinstance(settings.languages_csv, dg.EnvVar)
    assert isinstance(settings.export_date_orders_json, dg.EnvVar)
    assert isinstance(hooks.urls_csv, dg.EnvVar)
    assert "127.0.0.1:9/a" not in repr(loaded.resources)
    with settings.process_config_and_initialize_cm() as ready:
        assert ready.expected_languages() == ["es", "pt"]
        assert ready.date_order_of("exports/a.txt") == "MDY"
        assert ready.date_order_of("exports/b.txt") is None
        assert ready.timezone_for("exports/a.txt") == "Europe/Berlin"
        assert ready.timezone_for("exports/b.txt") == "America/Sao_Paulo"
        assert ready.worker_processes() == 0
    assert isinstance(settings.export_timezones_json, dg.EnvVar)
    with hooks.process_config_and_initialize_cm() as ready:
        assert ready.receivers == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
    monkeypatch.setenv("WAREADER_EXPORT_DATE_ORDERS", "[1]")
    with (
        pytest.raises(Exception, match="JSON object"),
        defs().resources["settings"].process_config_and_initialize_cm(),
    ):
        pass


def test_dagster_loads_the_workspace_without_errors_or_warnings(tmp_path: Path) -> None:
    """What `dagster dev` does first: from the repository root, venv not activated.

    PATH holds only the system's folders (no venv `bin`, so no `dbt`), and
    `DAGSTER_IS_DEV_CLI` is set as `dagster dev` sets it for every process it starts;
    the dbt manifest built at install must be read, never rebuilt.
    """
    home = tmp_path / "dagster_home"
    sample_run.prepare_dagster_home(home)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("WAREADER_")
    }
    manifest = REPO_ROOT / "dbt" / "target" / "manifest.json"
    built = manifest.stat().st_mtime_ns
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO_ROOT,
        env={
            **environment,
            "PATH": "/usr/bin:/bin",
            "DAGSTER_IS_DEV_CLI": "1",
            "DAGSTER_HOME": str(home),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Validation successful" in output
    assert manifest.stat().st_mtime_ns == built, "loading the code location re-parsed dbt"
    # The validator warns about its own name (`dg check defs` replaces it; dg is not
    # installed here); anything else Dagster warns about while loading us is a failure.
    warnings = [
        line
        for line in output.splitlines()
        if ("WARNING" in line or "Warning" in line) and "definitions_validate_command" not in line
    ]
    assert not warnings, output


def test_local_instance_queues_one_run_at_a_time_without_the_pop_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dagster.yaml `make ui` and the demo write: a queue the daemon drains one run at a time."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the event log storage reads it, as Dagster does
    config = sample_run.prepare_dagster_home(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    assert "nux:\n  enabled: false" in config.read_text()
    # A user's own file is left alone; an older file of ours is brought up to date.
    config.write_text("telemetry:\n  enabled: true\n")
    sample_run.prepare_dagster_home(home)
    assert config.read_text() == "telemetry:\n  enabled: true\n"
    config.write_text(sample_run.DAGSTER_YAML_MARKER + " demo\ntelemetry:\n  enabled: false\n")
    sample_run.prepare_dagster_home(home)
    assert config.read_text() == sample_run.DAGSTER_YAML


def test_kinds_follow_the_configured_provider_and_warehouse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def kinds(name: str) -> set[str]:
        return set(defs().resolve_asset_graph().get(dg.AssetKey(name)).kinds)

    monkeypatch.delenv("WAREADER_LLM_PROVIDER", raising=False)
    monkeypatch.delenv("WAREADER_WAREHOUSE_URL", raising=False)
    assert kinds("conversation_summaries") == {"python", "pandas", "duckdb"}
    monkeypatch.setenv("WAREADER_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "not-a-real-key")
    monkeypatch.setenv("WAREADER_WAREHOUSE_URL", "postgresql://wareader@127.0.0.1/wareader")
    assert kinds("conversation_summaries") == {"python", "pandas", "anthropic", "postgres"}
    assert kinds("fct_messages") == {"dbt", "postgres"}
