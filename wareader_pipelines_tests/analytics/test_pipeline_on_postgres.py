"""Production shape: the whole sample pipeline with PostgreSQL as warehouse and Dagster storage.

The Dagster instance is configured by the repository's own `dagster.yaml.example`
(runs, events, schedules in PostgreSQL, the run queue), the warehouse URL is a
`postgresql://` URL, and dbt picks its `postgres` target from the same variables.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from wareader_pipelines.cli import sample_run
from wareader_pipelines.definitions import defs
from wareader_pipelines.resources.warehouse import backend_for
from wareader_pipelines_tests.servers.postgres import PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKED_TABLES = ("raw_messages", "message_statuses", "quarantine", "cleaned_messages")


@pytest.fixture
def production_env(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Environment as docs/production.md sets it; yields the warehouse URL."""
    warehouse_url = postgres_server.create_database("warehouse")
    dagster_db = postgres_server.create_database("dagster").rsplit("/", 1)[1]
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml.example", home / "dagster.yaml")
    data = tmp_path / "data"
    sample_run.seed_landing_zone(data / "landing")
    for name in ("WAREADER_LANDING_URI", "WAREADER_LLM_PROVIDER", "WAREADER_DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("WAREADER_DATA_DIR", str(data))
    monkeypatch.setenv("WAREADER_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("PGHOST", postgres_server.host)
    monkeypatch.setenv("PGPORT", str(postgres_server.port))
    monkeypatch.setenv("PGUSER", postgres_server.user)
    monkeypatch.setenv("PGPASSWORD", "unused-with-trust-auth")
    monkeypatch.setenv("PGDATABASE", warehouse_url.rsplit("/", 1)[1])
    monkeypatch.setenv("DAGSTER_PG_DB", dagster_db)
    yield warehouse_url


@pytest.mark.heavy
def test_the_sample_pipeline_runs_on_postgres(production_env: str) -> None:
    definitions = defs()
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        results = sample_run.run_pipeline(
            definitions,
            instance,
            sample_run.SAMPLE_FIRST_DAY,
            sample_run.SAMPLE_LAST_DAY,
            log=lambda _: None,
        )
        failures = [
            (event.step_key, event.message)
            for result in results
            for event in result.all_events
            if event.is_failure
        ]
        assert all(result.success for result in results), failures
        # The runs and the check results are stored in PostgreSQL, where the UI reads them.
        assert len(instance.get_run_records()) == len(results)
        evaluations = [
            e
            for result in results
            for e in result.get_asset_check_evaluations()
            if e.asset_key.to_user_string() in CHECKED_TABLES
        ]
        assert evaluations and all(
            e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR
        )

    warehouse = backend_for(production_env, "wareader")
    raw = warehouse.query(
        "select count(*) as n, count(distinct message_id) as ids from wareader.raw_messages"
    )
    assert raw.n[0] == raw.ids[0] > 50
    cleaned = warehouse.query("select count(*) as n from wareader.cleaned_messages")
    facts = warehouse.query("select count(*) as n from marts.fct_messages")
    assert facts.n[0] == cleaned.n[0]
    daily = warehouse.query(
        "select sum(message_count) as messages, count(*) as days from marts.daily_conversation_metrics"
    )
    non_system = warehouse.query(
        "select count(*) as n from wareader.cleaned_messages where not coalesce(is_system, false)"
    )
    assert daily.messages[0] == non_system.n[0] and daily.days[0] > 0
    columns = warehouse.query(
        "select data_type from information_schema.columns "
        "where table_schema = 'wareader' and table_name = 'raw_messages' and column_name = ?",
        ["sent_at"],
    )
    assert columns.data_type.tolist() == ["timestamp with time zone"]
