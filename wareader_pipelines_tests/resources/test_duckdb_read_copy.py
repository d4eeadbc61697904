"""Analysts on the read copy never block the pipeline's writes to the warehouse."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from wareader_pipelines.lib.tables import CLEANED_MESSAGES, QUARANTINE, RAW_MESSAGES
from wareader_pipelines.resources.duckdb_read_copy import publish_read_copy
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend
from wareader_pipelines.resources.warehouse import conform_to_schema
from wareader_pipelines.resources.warehouse_backend import TimeWindowFilter


def _rows(n: int) -> pd.DataFrame:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    frame = pd.DataFrame({"message_id": [f"m{i}" for i in range(n)], "sent_at": at})
    return conform_to_schema(frame, CLEANED_MESSAGES, "cleaned_messages")


def test_the_pipeline_writes_while_an_analyst_holds_the_read_copy(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    copy = tmp_path / "analytics.duckdb"
    backend = DuckDBBackend(str(warehouse), schema="wareader")
    window = TimeWindowFilter(
        "sent_at", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
    )
    backend.replace_rows("cleaned_messages", CLEANED_MESSAGES, _rows(3), window)
    publish_read_copy(warehouse, copy)

    # Another process keeps a session open on the copy, as an analyst's notebook would.
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select count(*) from wareader.cleaned_messages').fetchone()[0], "
            "flush=True); "
            "time.sleep(30)",
            str(copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout is not None and analyst.stdout.readline().strip() == "3"
        # does not wait or fail
        backend.replace_rows("cleaned_messages", CLEANED_MESSAGES, _rows(5), window)
        publish_read_copy(warehouse, copy)  # swapped in under the open session
        assert analyst.poll() is None
    finally:
        analyst.kill()
        analyst.wait()
    with duckdb.connect(str(copy), read_only=True) as connection:
        query = "select count(*) from wareader.cleaned_messages"
        assert connection.execute(query).fetchone()[0] == 5


def test_the_copy_holds_the_analyst_tables_and_marts_but_not_the_raw_layer(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    backend = DuckDBBackend(str(warehouse), schema="wareader")
    day = datetime(2024, 5, 1, tzinfo=UTC)
    window = TimeWindowFilter("sent_at", day, day.replace(day=2))
    backend.replace_rows("cleaned_messages", CLEANED_MESSAGES, _rows(2), window)
    raw = conform_to_schema(
        pd.DataFrame({"message_id": ["m0"], "sent_at": day, "sender_wa_id": "34612345678"}),
        RAW_MESSAGES,
        "raw_messages",
    )
    backend.replace_rows("raw_messages", RAW_MESSAGES, raw, window)
    quarantine = pd.DataFrame({"source_file": ["f"], "landed_at": day, "partition_at": day})
    backend.replace_rows(
        "quarantine",
        QUARANTINE,
        conform_to_schema(quarantine, QUARANTINE, "quarantine"),
        TimeWindowFilter("partition_at", day, day.replace(day=2)),
    )
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.fct_messages as select 1 as n")
    copy = publish_read_copy(warehouse, tmp_path / "analytics.duckdb")
    with duckdb.connect(str(copy), read_only=True) as connection:
        tables = connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables()"
        ).fetchall()
        # the copy's file name is its catalog: the marts' schema must not be called that
        assert connection.execute("select n from marts.fct_messages").fetchone() == (1,)
        # and by bare name, as analysts write it (issue 16: `SELECT … FROM fct_messages`)
        assert connection.execute("select n from fct_messages").fetchone() == (1,)
        assert connection.execute("select count(*) from cleaned_messages").fetchone() == (2,)
    assert sorted(t for (t,) in tables) == ["marts.fct_messages", "wareader.cleaned_messages"]
    with duckdb.connect() as connection:  # attached under another name, the views still resolve
        connection.execute(f"ATTACH '{copy}' AS elsewhere (READ_ONLY)")
        assert connection.execute("select n from elsewhere.fct_messages").fetchone() == (1,)
