"""The DuckDB warehouse backend: windows replaced atomically, and the shared parameter style."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from wareader_pipelines.resources import duckdb_warehouse
from wareader_pipelines.resources.duckdb_warehouse import DuckDBBackend
from wareader_pipelines.resources.warehouse import WarehouseIOManager, backend_for
from wareader_pipelines_tests.resources.test_postgres_warehouse import DAY, SCHEMA, rows, window


@pytest.fixture
def backend(tmp_path: Path) -> DuckDBBackend:
    made = backend_for(str(tmp_path / "w.duckdb"), "wareader")
    assert isinstance(made, DuckDBBackend)
    return made


def test_replaces_only_its_window(backend: DuckDBBackend) -> None:
    backend.replace_rows("t", SCHEMA, rows(DAY, 5, "a"), window(DAY))
    later = DAY + timedelta(days=1)
    backend.replace_rows("t", SCHEMA, rows(later, 3, "b"), window(later))
    backend.replace_rows("t", SCHEMA, rows(DAY, 2, "c"), window(DAY))
    assert sorted(backend.read_rows("t", None, []).message_id) == ["b0", "b1", "b2", "c0", "c1"]
    assert backend.read_rows("t", window(DAY), ["message_id"]).bytes.tolist() == [2**40, 2**40 + 1]


def test_a_failed_insert_leaves_the_old_rows(backend: DuckDBBackend) -> None:
    backend.replace_rows("t", SCHEMA, rows(DAY, 4, "old"), window(DAY))
    bad = rows(DAY, 10, "new").astype({"bytes": object})
    bad.loc[7, "bytes"] = "not a number"
    with pytest.raises(duckdb.ConversionException):
        backend.replace_rows("t", SCHEMA, bad, window(DAY))
    assert len(backend.read_rows("t", window(DAY), [])) == 4


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) as n from wareader.t where message_id = ? and sent_at >= ?",
        "select count(*) as n from wareader.t where message_id = $1 and sent_at >= $2",
    ],
)
def test_query_takes_both_placeholder_styles(backend: DuckDBBackend, sql: str) -> None:
    """`?` and `$n` mean the same in both engines, so checks and reports run on either."""
    backend.replace_rows("t", SCHEMA, rows(DAY, 3, "a"), window(DAY))
    found = backend.query(sql, ["a1", datetime(2024, 5, 13, tzinfo=UTC)])
    assert found.n.tolist() == [1]


def test_query_placeholders_agree_with_postgres(postgres_url: str, tmp_path: Path) -> None:
    """The same `?` query returns the same frame from DuckDB and PostgreSQL."""
    frames = []
    for url in (str(tmp_path / "w.duckdb"), postgres_url):
        engine = backend_for(url, "wareader")
        engine.replace_rows("t", SCHEMA, rows(DAY, 6, "m"), window(DAY))
        frames.append(
            engine.query(
                "select message_id, sent_at, word_count, score, is_media from wareader.t "
                "where message_id <> ? and word_count is not null order by message_id",
                ["m1"],
            )
        )
    duck, postgres = frames
    pd.testing.assert_frame_equal(
        duck.astype({"word_count": "Int64"}).assign(sent_at=duck.sent_at.dt.as_unit("us")),
        postgres.astype({"word_count": "Int64"}).assign(sent_at=postgres.sent_at.dt.as_unit("us")),
    )


def test_a_run_reads_a_window_once_and_each_step_gets_its_own_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three steps of one run load the window an upstream step wrote: the warehouse is read
    once, a step changing its frame changes no other step's, and the next run reads anew."""
    reads: list[str] = []
    original = DuckDBBackend.read_rows

    def counted(self: DuckDBBackend, table: str, *args: object) -> pd.DataFrame:
        reads.append(table)
        return original(self, table, *args)

    monkeypatch.setattr(DuckDBBackend, "read_rows", counted)
    partitions = dg.DailyPartitionsDefinition(start_date="2024-05-01")
    metadata = {"dagster/column_schema": SCHEMA, "partition_expr": "sent_at"}

    @dg.asset(partitions_def=partitions, metadata=metadata)
    def upstream() -> pd.DataFrame:
        return rows(DAY, 4, "m")

    seen: dict[str, list[str]] = {}

    def reader(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name, partitions_def=partitions, ins={"upstream": dg.AssetIn()})
        def _read(upstream: pd.DataFrame) -> None:
            seen[name] = upstream["message_id"].tolist()
            upstream["message_id"] = "changed by " + name  # must not reach the next step
            return None

        return _read

    io_manager = WarehouseIOManager(url=str(tmp_path / "warehouse.duckdb"))
    assets = [upstream, reader("first"), reader("second"), reader("third")]
    for _ in range(2):
        result = dg.materialize(
            assets, resources={"io_manager": io_manager}, partition_key="2024-05-13"
        )
        assert result.success
    assert seen == {name: ["m0", "m1", "m2", "m3"] for name in ("first", "second", "third")}
    assert reads == ["upstream", "upstream"]  # once per run


def _stored(backend: DuckDBBackend, table: str = "t") -> list[tuple]:
    """The table's rows in the order DuckDB stores them."""
    return [tuple(r) for r in backend.query(f"select * from wareader.{table}").itertuples()]


def test_streamed_writes_store_what_one_write_per_window_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows carried between windows (row groups of 4 here) land in the same order, and a
    window replaced again while its rows are still carried loses its old rows."""
    monkeypatch.setattr(duckdb_warehouse, "ROW_GROUP_ROWS", 4)
    days = [DAY + timedelta(days=d) for d in range(4)]
    writes = [(days[0], 3, "a"), (days[1], 6, "b"), (days[2], 1, "c"), (days[1], 2, "B")]
    writes += [(days[3], 0, "d")]
    one_by_one = DuckDBBackend(str(tmp_path / "one.duckdb"), "wareader")
    streamed = DuckDBBackend(str(tmp_path / "streamed.duckdb"), "wareader")
    for day, count, prefix in writes:
        one_by_one.replace_rows("t", SCHEMA, rows(day, count, prefix), window(day))
    with streamed.streamed_writes() as stream:
        for day, count, prefix in writes[:3]:
            stream.replace_rows("t", SCHEMA, rows(day, count, prefix), window(day))
        # 3 + 6 rows: 8 inserted, "b5" carried; then "c0" carried with it
        for day, count, prefix in writes[3:]:
            stream.replace_rows("t", SCHEMA, rows(day, count, prefix), window(day))
    assert _stored(streamed) == _stored(one_by_one)
    assert [r[1] for r in _stored(streamed)] == ["a0", "a1", "a2", "c0", "B0", "B1"]


def test_streamed_writes_take_frames_arrow_types_differently(tmp_path: Path) -> None:
    """A column of nulls in one window and of values in the next, or one Arrow cannot type
    (a number among texts: DuckDB casts it), is stored as `replace_rows` stores it."""
    typed, untyped = rows(DAY, 3, "a"), rows(DAY + timedelta(days=1), 3, "b")
    typed["word_count"] = None
    untyped["message_id"] = ["b0", 1, "b2"]
    one_by_one = DuckDBBackend(str(tmp_path / "one.duckdb"), "wareader")
    streamed = DuckDBBackend(str(tmp_path / "streamed.duckdb"), "wareader")
    frames = [typed, rows(DAY + timedelta(days=2), 2, "c"), untyped]
    with streamed.streamed_writes() as stream:
        for frame in frames:
            stream.replace_rows("t", SCHEMA, frame, window(frame.sent_at.min()))
    for frame in frames:
        one_by_one.replace_rows("t", SCHEMA, frame, window(frame.sent_at.min()))
    assert _stored(streamed) == _stored(one_by_one)
    assert len(_stored(streamed)) == 8


def test_streamed_writes_keep_written_rows_when_a_write_fails(tmp_path: Path) -> None:
    """A failed window leaves the earlier windows' rows, carried ones included (stored when
    the block ends), and the error goes on to the caller."""
    backend = DuckDBBackend(str(tmp_path / "w.duckdb"), "wareader")
    bad = rows(DAY + timedelta(days=1), 3, "bad").astype({"bytes": object})
    bad.loc[1, "bytes"] = "not a number"
    with pytest.raises(duckdb.ConversionException), backend.streamed_writes() as stream:
        stream.replace_rows("t", SCHEMA, rows(DAY, 2, "a"), window(DAY))
        stream.replace_rows("t", SCHEMA, bad, window(DAY + timedelta(days=1)))
    assert [r[1] for r in _stored(backend)] == ["a0", "a1"]


def test_streamed_writes_fill_whole_row_groups(tmp_path: Path) -> None:
    """Windows smaller than DuckDB's row group, and inserts of several row groups made of
    carried rows and new ones, still make full row groups, each written once: none is
    rewritten at a window's commit or merged by the final checkpoint (which leaves the
    rewritten row groups' blocks free in the file)."""
    backend = DuckDBBackend(str(tmp_path / "w.duckdb"), "wareader")
    schema = dg.TableSchema(
        columns=[dg.TableColumn("n", "bigint"), dg.TableColumn("sent_at", "timestamptz")]
    )
    third = duckdb_warehouse.ROW_GROUP_ROWS // 3 + 7
    # 3 windows of a third of a row group, then 2 of one and a half: the last inserts two
    # row groups from the carried rows' chunk and its own
    sizes = [third] * 3 + [duckdb_warehouse.ROW_GROUP_ROWS * 3 // 2 + 7] * 2
    starts = [sum(sizes[:d]) for d in range(len(sizes) + 1)]
    with backend.streamed_writes() as stream:
        for d, size in enumerate(sizes):
            day = DAY + timedelta(days=d)
            frame = pd.DataFrame(
                {
                    "n": range(starts[d], starts[d + 1]),
                    "sent_at": pd.Timestamp(day) + pd.to_timedelta(range(size), "ms"),
                }
            )
            stream.replace_rows("t", schema, frame, window(day))
    groups = backend.query(
        "select row_group_id, max(count) as n from pragma_storage_info('wareader.t') "
        "where column_name = 'n' group by 1 order by 1"
    ).n.tolist()
    assert groups[:-1] == [duckdb_warehouse.ROW_GROUP_ROWS] * (len(groups) - 1)
    assert sum(groups) == starts[-1]
    assert backend.query("select n from wareader.t").n.tolist() == list(range(starts[-1]))
    [free] = backend.query("pragma database_size").free_blocks.tolist()
    assert free == 0


def test_a_nul_anywhere_in_a_long_text_column_is_repaired(backend: DuckDBBackend) -> None:
    """The NUL search reads a column's bytes at once (`_may_hold_nul`): one NUL among a
    thousand values, in a later value, is still found, repaired and counted."""
    frame = rows(DAY, 1000, "a")
    frame.loc[777, "message_id"] = "a\x00777"
    assert backend.replace_rows("t", SCHEMA, frame, window(DAY)) == {"message_id": 1}
    assert "a777" in backend.read_rows("t", None, []).message_id.tolist()
    frame.loc[777, "message_id"] = "a777"
    assert backend.replace_rows("t", SCHEMA, frame, window(DAY)) == {}
