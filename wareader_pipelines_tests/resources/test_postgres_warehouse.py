"""The PostgreSQL warehouse backend against a real server: types, windows, atomicity, COPY."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import psycopg
import pytest

from wareader_pipelines.lib import tables
from wareader_pipelines.resources import postgres_warehouse
from wareader_pipelines.resources.postgres_warehouse import (
    ANALYST_ROLE,
    PostgresBackend,
    copy_rows,
    numbered_placeholders,
)
from wareader_pipelines.resources.warehouse import (
    Warehouse,
    WarehouseIOManager,
    backend_for,
    conform_to_schema,
)
from wareader_pipelines.resources.warehouse_backend import TimeWindowFilter

SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("message_id", "text"),
        dg.TableColumn("sent_at", "timestamptz"),
        dg.TableColumn("word_count", "integer"),
        dg.TableColumn("bytes", "bigint"),
        dg.TableColumn("score", "double precision"),
        dg.TableColumn("is_media", "boolean"),
    ]
)
DAY = datetime(2024, 5, 13, tzinfo=UTC)


def window(day: datetime) -> TimeWindowFilter:
    return TimeWindowFilter("sent_at", day, day + timedelta(days=1))


def rows(day: datetime, count: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "message_id": [f"{prefix}{i}" for i in range(count)],
            "sent_at": [day + timedelta(seconds=i) for i in range(count)],
            "word_count": [float(i) if i % 3 else None for i in range(count)],
            "bytes": [2**40 + i for i in range(count)],
            "score": [i / max(count, 1) for i in range(count)],
            "is_media": [i % 2 == 0 for i in range(count)],
        }
    )


@pytest.fixture
def backend(postgres_url: str) -> PostgresBackend:
    made = backend_for(postgres_url, "wareader")
    assert isinstance(made, PostgresBackend)
    return made


def test_placeholders_are_numbered_outside_quotes_and_comments() -> None:
    sql = "select '?', \"a?\" , ? -- why?\n, ? /* ? */ from t where x = $3 and y = ?"
    assert numbered_placeholders(sql) == (
        "select '?', \"a?\" , $1 -- why?\n, $2 /* ? */ from t where x = $3 and y = $3"
    )
    assert numbered_placeholders("select 'it''s ?', ?") == "select 'it''s ?', $1"


def test_copy_rows_converts_to_the_declared_types() -> None:
    frame = pd.DataFrame(
        {
            "message_id": pd.Series([7, None], dtype=object),
            "sent_at": [pd.Timestamp("2024-05-13 10:00"), pd.NaT],
            "word_count": [3.0, float("nan")],
            "bytes": [5, 6],
            "score": [1, 0],
            "is_media": [True, False],
        }
    )
    first, second = list(copy_rows(frame, SCHEMA))
    assert first == ("7", datetime(2024, 5, 13, 10, tzinfo=UTC), 3, 5, 1.0, True)
    assert second == (None, None, None, 6, 0.0, False)
    with pytest.raises(ValueError, match="whole number"):
        list(copy_rows(frame.assign(word_count=[2.5, 1.0]), SCHEMA))


def test_creates_typed_table_and_replaces_only_its_window(backend: PostgresBackend) -> None:
    backend.replace_rows("t", SCHEMA, rows(DAY, 5, "a"), window(DAY))
    backend.replace_rows(
        "t", SCHEMA, rows(DAY + timedelta(days=1), 3, "b"), window(DAY + timedelta(days=1))
    )
    backend.replace_rows("t", SCHEMA, rows(DAY, 2, "c"), window(DAY))

    types = backend.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        ["wareader", "t"],
    )
    assert dict(zip(types.column_name, types.data_type, strict=True)) == {
        "message_id": "text",
        "sent_at": "timestamp with time zone",
        "word_count": "integer",
        "bytes": "bigint",
        "score": "double precision",
        "is_media": "boolean",
    }
    everything = backend.read_rows("t", None, ["sent_at", "message_id"])
    assert sorted(everything.message_id) == ["b0", "b1", "b2", "c0", "c1"]
    day = backend.read_rows("t", window(DAY), ["message_id"])
    assert list(day.message_id) == ["c0", "c1"]
    assert str(day.sent_at.dtype) == "datetime64[ns, UTC]" or "UTC" in str(day.sent_at.dtype)
    assert day.bytes.tolist() == [2**40, 2**40 + 1]
    assert day.word_count.isna().tolist() == [True, False]
    assert backend.table_exists("t") and not backend.table_exists("absent")


def test_whole_table_replace_and_added_column(backend: PostgresBackend) -> None:
    backend.replace_rows("t", SCHEMA, rows(DAY, 4, "a"), None)
    wider = dg.TableSchema(columns=[*SCHEMA.columns, dg.TableColumn("language", "text")])
    backend.replace_rows("t", wider, rows(DAY, 2, "z").assign(language="pt"), None)
    frame = backend.read_rows("t", None, ["message_id"])
    assert frame.message_id.tolist() == ["z0", "z1"]
    assert frame.language.tolist() == ["pt", "pt"]


def test_a_failed_copy_leaves_the_old_rows(backend: PostgresBackend) -> None:
    backend.replace_rows("t", SCHEMA, rows(DAY, 4, "old"), window(DAY))
    bad = rows(DAY, 10, "new").astype({"bytes": object})
    bad.loc[7, "bytes"] = "not a number"
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        backend.replace_rows("t", SCHEMA, bad, window(DAY))
    assert sorted(backend.read_rows("t", window(DAY), []).message_id) == [
        "old0",
        "old1",
        "old2",
        "old3",
    ]


def test_a_reader_never_sees_a_half_written_partition(
    backend: PostgresBackend, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer stops half-way through its COPY; readers meanwhile see all the old rows."""
    backend.replace_rows("t", SCHEMA, rows(DAY, 50, "old"), window(DAY))
    halfway = threading.Event()
    resume = threading.Event()
    real_copy_rows = postgres_warehouse.copy_rows

    def pausing_copy_rows(frame: pd.DataFrame, schema: dg.TableSchema) -> Iterator[tuple]:
        for number, row in enumerate(real_copy_rows(frame, schema)):
            if number == len(frame) // 2:
                halfway.set()
                assert resume.wait(30)
            yield row

    monkeypatch.setattr(postgres_warehouse, "copy_rows", pausing_copy_rows)
    count_sql = "select count(*), min(message_id) from wareader.t"
    with psycopg.connect(postgres_url) as held:
        held.execute("begin isolation level repeatable read")
        assert held.execute(count_sql).fetchone() == (50, "old0")
        errors: list[BaseException] = []

        def write() -> None:
            try:
                backend.replace_rows("t", SCHEMA, rows(DAY, 80, "new"), window(DAY))
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        assert halfway.wait(30)
        with psycopg.connect(postgres_url, autocommit=True) as fresh:
            assert fresh.execute(count_sql).fetchone() == (50, "old0")
        assert held.execute(count_sql).fetchone() == (50, "old0")
        resume.set()
        writer.join(30)
        assert not errors
        # The held snapshot still shows the old partition whole; a new one shows the new whole.
        assert held.execute(count_sql).fetchone() == (50, "old0")
        held.execute("commit")
        assert held.execute(count_sql).fetchone() == (80, "new0")


def test_io_manager_round_trip_on_postgres(postgres_url: str) -> None:
    """A partitioned asset and its downstream, stored and loaded through PostgreSQL."""
    partitions = dg.DailyPartitionsDefinition(start_date="2024-05-01")

    @dg.asset(
        partitions_def=partitions,
        metadata={
            "dagster/column_schema": SCHEMA,
            "partition_expr": "sent_at",
            "order_by": ["sent_at"],
        },
    )
    def messages(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return rows(context.partition_time_window.start, 3, context.partition_key + "-")

    @dg.asset(partitions_def=partitions)
    def seen(messages: pd.DataFrame) -> None:
        assert messages.message_id.tolist() == ["2024-05-13-0", "2024-05-13-1", "2024-05-13-2"]

    result = dg.materialize(
        [messages, seen],
        partition_key="2024-05-13",
        resources={"io_manager": WarehouseIOManager(url=postgres_url)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("messages")[0].metadata
    assert metadata["dagster/row_count"].value == 3
    assert "***" not in postgres_url and "wareader" in metadata["warehouse"].value
    counted = Warehouse(url=postgres_url).query("select count(*) as n from {schema}.messages")
    assert counted.n.tolist() == [3]


def test_the_analyst_role_reads_the_analyst_layer_and_is_refused_the_raw_layer(
    backend: PostgresBackend, postgres_url: str
) -> None:
    day = datetime(2024, 5, 13, tzinfo=UTC)
    window = TimeWindowFilter("sent_at", day, day + timedelta(days=1))
    for table, contract in (
        ("cleaned_messages", tables.CLEANED_MESSAGES),
        ("raw_messages", tables.RAW_MESSAGES),
    ):
        frame = pd.DataFrame({"message_id": ["m1"], "sent_at": [day]})
        backend.replace_rows(table, contract, conform_to_schema(frame, contract, table), window)
    statuses = pd.DataFrame({"message_id": ["m1"], "status": ["read"], "status_at": [day]})
    backend.replace_rows(
        "message_statuses",
        tables.MESSAGE_STATUSES,
        conform_to_schema(statuses, tables.MESSAGE_STATUSES, "message_statuses"),
        TimeWindowFilter("status_at", day, day + timedelta(days=1)),
    )
    # every other table the pipeline writes is the restricted raw layer (lib/tables.py)
    restricted = {
        name.lower(): contract
        for name, contract in vars(tables).items()
        if isinstance(contract, dg.TableSchema) and name.lower() not in tables.ANALYST_TABLES
    }
    assert {"raw_messages", "message_statuses", "quarantine", "api_errors"} <= set(restricted)
    for table, contract in restricted.items():
        empty = conform_to_schema(pd.DataFrame(), contract, table)
        backend.replace_rows(table, contract, empty, None)
    # dbt, running as the pipeline's role, builds a mart after the setup
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE marts.fct_messages AS SELECT 1 AS n")
        login = f"alice_{abs(hash(postgres_url)) % 10**8}"
        connection.execute(f"CREATE ROLE {login} LOGIN IN ROLE {ANALYST_ROLE}")
    as_analyst = postgres_url.replace("://wareader@", f"://{login}@")
    with psycopg.connect(as_analyst, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM wareader.cleaned_messages").fetchone() == (
            1,
        )
        assert connection.execute("SELECT n FROM marts.fct_messages").fetchone() == (1,)
        for raw in restricted:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(f"SELECT count(*) FROM wareader.{raw}")
