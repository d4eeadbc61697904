"""The README's first command, end to end: the whole graph over the shipped sample.

Runs through the real definitions with the embedded defaults pointed at a
temporary data folder (DuckDB warehouse, local landing zone, outbox e-mail,
extractive LLM), then runs the same partitions again: the tables must not change.

Every table of the sample is also kept equal to a stored expectation under
`sample_tables/` (one CSV per table, rows sorted), so a change that alters
outputs cannot pass unnoticed. When an issue changes outputs on purpose,
regenerate the expectation in the same commit and say why in its message:

    WAREADER_UPDATE_SAMPLE_TABLES=1 .venv/bin/pytest -n 0 wareader_pipelines_tests/cli/test_sample_pipeline.py
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from wareader_pipelines.cli import sample_run
from wareader_pipelines.cli.backfill import run_daily_ranges
from wareader_pipelines.cli.main import main as wareader_main
from wareader_pipelines.definitions import defs
from wareader_pipelines.lib.tables import ANALYST_TABLES, CLEANED_MESSAGES
from wareader_pipelines.nlp.pii import phone_regions
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse
from wareader_pipelines_tests.pii_scan import analyst_copy_tables, name_words, scan

CORE_TABLES = ("raw_messages", "message_statuses", "quarantine", "cleaned_messages")
EXPECTED_TABLES = Path(__file__).parent / "sample_tables"
UPDATE_EXPECTATION = "WAREADER_UPDATE_SAMPLE_TABLES"
# Columns that differ from one fresh run to the next by design, left out of the expectation:
# the archive build time (and so the zip's hash and size); `content_sha256` pins the content.
# A report's picture is pinned by its png_sha256; its base64 bytes would only bloat the CSV,
# and its input_sha256 digests the drawing code's source too (any edit of it changes it).
# `uploaded` says whether this run put the zip, so it is False when an earlier run on the same
# data folder (another test of this module runs the demo too) already put identical bytes.
VOLATILE_COLUMNS = {
    "conversation_archives": ("built_at", "sha256", "bytes", "uploaded"),
    "conversation_reports": ("png_base64", "input_sha256"),
}


@pytest.fixture(scope="module")
def sample_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("sample-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREADER_DATA_DIR", str(root / "data"))
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        # Set explicitly, so the run and the report resolve it as an EnvVar, as in production.
        patch.setenv("WAREADER_WAREHOUSE_URL", str(root / "data" / "warehouse.duckdb"))
        for name in ("WAREADER_LANDING_URI", "WAREADER_LLM_PROVIDER", "WAREADER_EMAIL_BACKEND"):
            patch.delenv(name, raising=False)
        yield root


@contextmanager
def _warehouse() -> Iterator[Warehouse]:
    with defs().resources["warehouse"].process_config_and_initialize_cm() as warehouse:
        yield warehouse


def _tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    frames = {}
    for table in (*CORE_TABLES, "message_sentiment", "conversation_summaries"):
        if warehouse.table_exists(table):
            frame = warehouse.query(f"SELECT * FROM {{schema}}.{table}")
            frames[table] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
    return frames


@pytest.mark.heavy
def test_demo_runs_everything_and_prints_a_report(
    sample_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wareader_main(["demo"]) == 0
    out = capsys.readouterr().out
    for table in CORE_TABLES:
        assert table in out
    assert "languages found:" in out
    assert "quarantined inputs:" in out
    assert "busiest conversation-day" in out and "summarized by extractive" in out
    # the sample's business account (a support number, a week of traffic) from the dbt marts
    assert "business messaging" in out and "number 106540352242942: 10 customers" in out
    assert str(sample_run_dir / "data" / "analytics.duckdb") in out
    assert (sample_run_dir / "data" / "analytics.duckdb").exists()
    assert "SELECT language" in out
    assert (sample_run_dir / "dagster_home" / "dagster.yaml").exists()

    with _warehouse() as warehouse:
        cleaned = warehouse.query("SELECT * FROM {schema}.cleaned_messages")
        raw = warehouse.query("SELECT * FROM {schema}.raw_messages")
        quarantine = warehouse.query("SELECT * FROM {schema}.quarantine")
    assert len(cleaned) == len(raw) > 50
    assert raw["message_id"].is_unique
    assert {"webhook", "export"} <= set(raw["source"])
    assert cleaned["language"].nunique() >= 5
    assert list(cleaned.columns)[: len(CLEANED_MESSAGES.columns)] == [
        c.name for c in CLEANED_MESSAGES.columns
    ]
    assert {"whole body", "whole file"} & set(quarantine["location"])
    _assert_no_personal_data_in_the_analysts_copy(sample_run_dir / "data" / "analytics.duckdb", raw)

    # The runs are in the persistent instance, as the UI will show them.
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_run_records()
        assert runs and all(r.dagster_run.is_success for r in runs)
        daily = [r for r in runs if "dagster/asset_partition_range_start" in r.dagster_run.tags]
        assert len(daily) == 1, "the whole sample month is one ranged run"
        # dbt marts carry their row count and column types, read once dbt let go of DuckDB.
        for mart in ("fct_messages", "dim_conversations"):
            event = instance.get_latest_materialization_event(dg.AssetKey(mart))
            assert event is not None, mart
            metadata = event.asset_materialization.metadata
            rows = "rows_in_table" if mart == "fct_messages" else "dagster/row_count"
            assert metadata[rows].value > 0, mart
            columns = {c.name: c.type for c in metadata["dagster/column_schema"].schema.columns}
            assert columns.get("message_id" if mart == "fct_messages" else "conversation_id")
        # dbt's source tests are left to the tables' own checks: no observation warnings.
        observations = [
            record
            for run in runs
            for record in instance.all_logs(run.dagster_run.run_id)
            if "AssetObservation instead of an AssetCheckResult" in (record.user_message or "")
        ]
        assert not observations
    assert out.rstrip().endswith(f"all {len(runs)} runs succeeded")


def _assert_no_personal_data_in_the_analysts_copy(copy: Path, raw: pd.DataFrame) -> None:
    """The analysts' copy holds no raw layer, and no phone number, e-mail, WhatsApp id or
    name of any participant of any chat in any text column of any table (the sample's
    settings: every region)."""
    tables = analyst_copy_tables(copy)
    assert {f"wareader.{t}" for t in ANALYST_TABLES} <= set(tables)
    assert {"marts.fct_messages", "marts.daily_conversation_metrics"} <= set(tables)
    # nothing else of the pipeline's schema: raw layer and operational tables (README)
    assert {n for n in tables if not n.startswith("marts.")} == {
        f"wareader.{t}" for t in ANALYST_TABLES
    }
    assert "[PHONE]" in "".join(tables["wareader.cleaned_messages"]["text_clean"])
    # every participant's name, of every chat, looked for in every table (issue 9)
    listed = [n for names in raw["participant_names"].dropna() for n in json.loads(names)]
    webhook_titles = raw.loc[raw["source"] == "webhook", "conversation_name"]
    people = name_words([*raw["sender_name"].dropna(), *webhook_titles.dropna(), *listed])
    assert {"lucía", "beatriz", "emily"} <= people
    settings = PipelineSettings(pseudonym_key="k", cache_dir=".")
    regions = phone_regions(settings.languages, extra=[settings.phone_region])
    wa_ids = set(raw["sender_wa_id"].dropna())
    assert scan(tables, regions, people, wa_ids) == []


def test_running_the_same_partitions_again_changes_nothing(sample_run_dir: Path) -> None:
    definitions = defs()
    with _warehouse() as warehouse:
        if not warehouse.table_exists("raw_messages"):
            assert wareader_main(["demo"]) == 0
        before = _tables(warehouse)
    with dg.DagsterInstance.get() as instance:
        results = sample_run.run_pipeline(
            definitions,
            instance,
            sample_run.SAMPLE_FIRST_DAY,
            sample_run.SAMPLE_LAST_DAY,
            log=lambda _: None,
        )
    assert all(result.success for result in results)
    with _warehouse() as warehouse:
        after = _tables(warehouse)
    assert before.keys() == after.keys()
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)


def _table_snapshots(warehouse_file: Path, data_dir: Path) -> dict[str, str]:
    """Every table of the warehouse as CSV text, rows sorted, volatile columns left out."""
    snapshots = {}
    with duckdb.connect(str(warehouse_file), read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "ORDER BY table_schema, table_name"
        ).fetchall()
        for schema, table in tables:
            frame = connection.execute(f'SELECT * FROM "{schema}"."{table}"').df()
            frame = frame.drop(columns=list(VOLATILE_COLUMNS.get(table, ())))
            text = frame.astype(str).apply(
                lambda column: column.str.replace(str(data_dir), "<data_dir>", regex=False)
            )
            text = text.sort_values(list(text.columns)).reset_index(drop=True)
            snapshots[f"{schema}.{table}"] = text.to_csv(index=False, lineterminator="\n")
    return snapshots


def test_every_sample_table_equals_the_stored_expectation(sample_run_dir: Path) -> None:
    with _warehouse() as warehouse:
        if not warehouse.table_exists("raw_messages"):
            assert wareader_main(["demo"]) == 0
    data_dir = sample_run_dir / "data"
    snapshots = _table_snapshots(data_dir / "warehouse.duckdb", data_dir)
    if os.environ.get(UPDATE_EXPECTATION) == "1":
        for stale in EXPECTED_TABLES.glob("*.csv"):
            stale.unlink()
        EXPECTED_TABLES.mkdir(exist_ok=True)
        for name, text in snapshots.items():
            (EXPECTED_TABLES / f"{name}.csv").write_text(text, encoding="utf-8")
    stored = {path.stem: path.read_text(encoding="utf-8") for path in EXPECTED_TABLES.glob("*.csv")}
    assert sorted(snapshots) == sorted(stored), "tables added or gone; see the module docstring"
    for name, text in snapshots.items():
        diff = difflib.unified_diff(
            stored[name].splitlines(), text.splitlines(), "expected", "now", lineterm="", n=0
        )
        assert text == stored[name], (
            f"{name} differs from sample_tables/{name}.csv; if the change is intended, "
            f"regenerate with {UPDATE_EXPECTATION}=1 (see the module docstring):\n"
            + "\n".join(list(diff)[:20])
        )


@pytest.mark.heavy
def test_a_backfill_by_two_workers_in_short_runs_writes_the_stored_daily_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`wareader backfill --workers 2`'s plan, with 16-day runs so that two chunks' runs
    overlap: every table it writes equals the stored expectation of the one-run sample.
    The assets are those whose runs read other days' rows (ingestion, cleaning, the
    incremental marts) and what the marts read (sentiment); the rest read only their days."""
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    for name in list(os.environ):
        if name.startswith("WAREADER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WAREADER_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    sample_run.seed_landing_zone(data / "landing")
    sample_run.prepare_dagster_home(home)
    with dg.DagsterInstance.get() as instance:
        results = run_daily_ranges(
            defs(),
            instance,
            sample_run.SAMPLE_FIRST_DAY,
            sample_run.SAMPLE_LAST_DAY,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            log=lambda _: None,
            selection=[
                dg.AssetKey(name)
                for name in (
                    "raw_messages",
                    "message_statuses",
                    "quarantine",
                    "api_errors",
                    "cleaned_messages",
                    "message_sentiment",
                    "fct_messages",
                    "daily_conversation_metrics",
                )
            ],
            workers=2,
            max_days_per_run=16,
        )
        assert [result.success for result in results] == [True] * 6  # 2 chunks x 3 stages
        records = instance.get_run_records()
    spans = sorted((r.start_time or 0.0, r.end_time or 0.0) for r in records)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)), spans
    snapshots = _table_snapshots(data / "warehouse.duckdb", data)
    stored = {path.stem: path.read_text(encoding="utf-8") for path in EXPECTED_TABLES.glob("*.csv")}
    assert {"wareader.cleaned_messages", "marts.daily_conversation_metrics"} <= snapshots.keys()
    for name, text in snapshots.items():
        assert text == stored[name], name
