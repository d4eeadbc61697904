"""Expectations as plain data, and their validation on a DataFrame with Great Expectations 1.x.

The rules are frozen dataclasses so the checks can be declared, compared and
unit-tested without importing Great Expectations (~3 s and ~300 MB); `validate`
imports it lazily, builds an ephemeral context with progress bars off, runs the
suite on the frame and returns, per rule, how many rows fail and a few of them.
`validate_by_partition` runs the suite once over a run's whole range and tells the
outcome of each of its partitions (days), so a ranged run reports every day's own result.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd

EXAMPLE_ROWS = 5
RULE_INDEX = "wareader_rule_index"


@dataclass(frozen=True, slots=True)
class Unique:
    """No two rows share a value of `column` (nulls are the NotNull rule's business)."""

    column: str


@dataclass(frozen=True, slots=True)
class UniqueTogether:
    """No two rows share the same combination of `columns`."""

    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotNull:
    """Every row has a value in `column`."""

    column: str


@dataclass(frozen=True, slots=True)
class Between:
    """Non-null values of `column` lie in [low, high] (a bound of None is open)."""

    column: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class InWindow:
    """Non-null timestamps of `column` lie in [start, end): the partition being checked."""

    column: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class InSet:
    """Non-null values of `column` are among `values`."""

    column: str
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class Matches:
    """Non-null values of `column` match the regular expression `pattern`."""

    column: str
    pattern: str


Expectation = Unique | UniqueTogether | NotNull | Between | InWindow | InSet | Matches


def describe(rule: Expectation) -> str:
    """A short, stable name for a rule, used as a metadata key."""
    match rule:
        case Unique(column):
            return f"{column} unique"
        case UniqueTogether(columns):
            return f"({', '.join(columns)}) unique"
        case NotNull(column):
            return f"{column} not null"
        case Between(column, low, high):
            return f"{column} in [{low}, {high}]"
        case InWindow(column, _, _):
            return f"{column} inside the partition"
        case InSet(column, _):
            return f"{column} in accepted values"
        case Matches(column, pattern):
            return f"{column} matches {pattern}"
    raise TypeError(f"unknown expectation {rule!r}")


def columns_of_rule(rule: Expectation) -> tuple[str, ...]:
    """The columns a rule reads."""
    return rule.columns if isinstance(rule, UniqueTogether) else (rule.column,)


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule fared: rows failing it, rows checked, and a few failing rows."""

    rule: str
    failing_count: int
    checked_count: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    # Positions (0..n-1) of every failing row in the validated frame.
    failing_rows: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        return self.failing_count == 0 and self.error is None


@dataclass(frozen=True)
class Validation:
    """The outcome of every rule of a suite on one frame."""

    outcomes: list[RuleOutcome]
    row_count: int

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)

    @property
    def failing_count(self) -> int:
        """Failing rows summed over the rules (a row failing two rules counts twice)."""
        return sum(outcome.failing_count for outcome in self.outcomes)

    def failing_counts(self) -> dict[str, int]:
        return {outcome.rule: outcome.failing_count for outcome in self.outcomes}

    def examples(self) -> list[dict[str, Any]]:
        """Up to EXAMPLE_ROWS failing rows over all rules, each tagged with the rule it broke."""
        rows: list[dict[str, Any]] = []
        for outcome in self.outcomes:
            for example in outcome.examples:
                if len(rows) >= EXAMPLE_ROWS:
                    return rows
                rows.append({"rule": outcome.rule, **example})
        return rows

    def errors(self) -> dict[str, str]:
        return {o.rule: o.error for o in self.outcomes if o.error is not None}


@cache
def _context() -> Any:
    """One ephemeral GX context per process; nothing is written to disk or sent anywhere."""
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    # GX fingerprints every frame under 1 GB it validates (`hash_pandas_object` over each
    # column) only to name the batch in the result's metadata, which nothing here reads: a
    # tenth of a check step's time on a quarter's rows. The verdicts do not use it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    return context


def _gx_expectation(rule: Expectation) -> Any:
    import great_expectations as gx

    match rule:
        case Unique(column):
            return gx.expectations.ExpectColumnValuesToBeUnique(column=column)
        case UniqueTogether(columns):
            return gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(columns))
        case NotNull(column):
            return gx.expectations.ExpectColumnValuesToNotBeNull(column=column)
        case Between(column, low, high):
            return gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high
            )
        case InWindow(column, start, end):
            return gx.expectations.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=pd.Timestamp(start).isoformat(),
                max_value=pd.Timestamp(end).isoformat(),
                strict_max=True,
            )
        case InSet(column, values):
            return gx.expectations.ExpectColumnValuesToBeInSet(
                column=column, value_set=sorted(values)
            )
        case Matches(column, pattern):
            return gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=pattern)
    raise TypeError(f"unknown expectation {rule!r}")


def _prepared(
    frame: pd.DataFrame, rules: Sequence[Expectation], example_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """The columns the rules read or the examples show, with a 0..n-1 index, and timestamps
    of InWindow columns as UTC datetimes.

    Great Expectations copies and hashes every column of the frame it is given (twice per
    validation), so leaving out what no rule reads (message texts) saves most of its work
    and changes no verdict: each rule reads only its own columns.
    """
    wanted = {c for rule in rules for c in columns_of_rule(rule)} | set(example_columns)
    prepared = frame.loc[:, [c for c in frame.columns if c in wanted]].reset_index(drop=True)
    for rule in rules:
        if isinstance(rule, InWindow) and rule.column in prepared.columns:
            prepared[rule.column] = pd.to_datetime(
                prepared[rule.column], utc=True, format="ISO8601"
            )
    return prepared


def validate(
    frame: pd.DataFrame,
    rules: Sequence[Expectation],
    *,
    example_columns: Sequence[str] = (),
) -> Validation:
    """Run `rules` on `frame` with Great Expectations; failing rows show `example_columns`.

    A rule naming a column the frame lacks fails with an error instead of raising,
    so one drifted column does not hide the other rules' results.
    """
    prepared = _prepared(frame, rules, example_columns)
    return _told_for(prepared, _outcomes(prepared, rules, example_columns), None, example_columns)


def validate_by_partition(
    frame: pd.DataFrame,
    rules: Sequence[Expectation],
    partition_of_row: Sequence[str | None],
    partitions: Sequence[str],
    *,
    example_columns: Sequence[str] = (),
) -> dict[str, Validation]:
    """Run `rules` once on `frame`, and tell each partition its own outcome.

    `partition_of_row` names each row's partition (None: the row belongs to none, e.g.
    its time is missing). A partition's outcome counts its rows and their failures,
    plus every row placed in no partition: such a row could belong to any of them, so
    no partition reports a pass it might break. Rules over several rows (uniqueness)
    are judged on the whole frame: a duplicate across two days fails both days.
    """
    prepared = _prepared(frame, rules, example_columns)
    codes, names = pd.factorize(pd.Series(list(partition_of_row), dtype=object))
    if len(codes) != len(prepared):
        raise ValueError(f"{len(codes)} partition labels for {len(prepared)} rows")
    outcomes = _outcomes(prepared, rules, example_columns)
    unplaced = codes == -1
    code_of = {name: code for code, name in enumerate(names)}
    return {
        partition: _told_for(
            prepared, outcomes, (codes == code_of.get(partition, -2)) | unplaced, example_columns
        )
        for partition in partitions
    }


def _outcomes(
    prepared: pd.DataFrame, rules: Sequence[Expectation], example_columns: Sequence[str]
) -> list[RuleOutcome]:
    outcomes: dict[int, RuleOutcome] = {}
    runnable: list[tuple[int, Expectation]] = []
    for position, rule in enumerate(rules):
        missing = [c for c in columns_of_rule(rule) if c not in prepared.columns]
        if missing:
            outcomes[position] = RuleOutcome(
                describe(rule), 0, len(prepared), error=f"missing columns {missing}"
            )
        else:
            runnable.append((position, rule))
    if runnable and len(prepared) == 0:
        # No row to fail a rule: GX reports exactly this on an empty frame, whatever the
        # column types, and importing it costs seconds a run over empty days need not pay.
        for position, rule in runnable:
            outcomes[position] = RuleOutcome(describe(rule), 0, 0)
    elif runnable:
        results = _run_suite(prepared, [rule for _, rule in runnable])
        for (position, rule), result in zip(runnable, results, strict=True):
            outcomes[position] = _outcome(rule, result, prepared, example_columns)
    return [outcomes[i] for i in range(len(rules))]


def _told_for(
    frame: pd.DataFrame,
    outcomes: Sequence[RuleOutcome],
    rows: Any,
    example_columns: Sequence[str],
) -> Validation:
    """The outcomes restricted to `rows` (a boolean mask over the frame; None: every row)."""
    if rows is None:
        return Validation(list(outcomes), row_count=len(frame))
    told = []
    for outcome in outcomes:
        failing = [i for i in outcome.failing_rows if rows[i]]
        told.append(
            RuleOutcome(
                outcome.rule,
                len(failing),
                int(rows.sum()),
                _examples(frame, failing, outcome.examples, example_columns),
                outcome.error,
                tuple(failing),
            )
        )
    return Validation(told, row_count=int(rows.sum()))


def _run_suite(frame: pd.DataFrame, rules: Sequence[Expectation]) -> list[Any]:
    import great_expectations as gx

    context = _context()
    name = f"suite_{uuid.uuid4().hex}"
    source = context.data_sources.add_pandas(name)
    try:
        definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=name)
        for position, rule in enumerate(rules):
            expectation = _gx_expectation(rule)
            expectation.meta = {RULE_INDEX: position}
            suite.add_expectation(expectation)
        # What `Batch.validate` builds, without first fetching the batch it then fetches again
        # (each fetch copies and fingerprints the whole frame).
        from great_expectations.validator.v1_validator import Validator

        result = Validator(
            batch_definition=definition,
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE"},
        ).validate_expectation_suite(suite)
    finally:
        context.data_sources.delete(name)
    # GX groups results by expectation type: put them back in the rules' order.
    by_position = {int(r.expectation_config.meta[RULE_INDEX]): r for r in result.results}
    return [by_position[position] for position in range(len(rules))]


def _outcome(
    rule: Expectation, result: Any, frame: pd.DataFrame, example_columns: Sequence[str]
) -> RuleOutcome:
    name = describe(rule)
    exception = result.exception_info or {}
    if exception.get("raised_exception"):
        return RuleOutcome(name, 0, len(frame), error=str(exception.get("exception_message"))[:500])
    details: Mapping[str, Any] = result.result or {}
    failing = int(details.get("unexpected_count") or 0)
    indices = tuple(i for i in details.get("unexpected_index_list") or [] if isinstance(i, int))
    shown = _shown_columns(rule, frame, example_columns)
    examples = _rows(frame, indices[:EXAMPLE_ROWS], shown)
    return RuleOutcome(
        name, failing, int(details.get("element_count") or len(frame)), examples, None, indices
    )


def _shown_columns(rule: Expectation, frame: pd.DataFrame, example_columns: Sequence[str]) -> list:
    shown = [c for c in (*example_columns, *columns_of_rule(rule)) if c in frame.columns]
    return list(dict.fromkeys(shown))


def _rows(frame: pd.DataFrame, indices: Sequence[int], columns: Sequence[str]) -> list[dict]:
    return [
        {column: _plain(value) for column, value in row.items()}
        for row in frame.loc[list(indices), list(columns)].to_dict("records")
    ]


def _examples(
    frame: pd.DataFrame,
    failing: Sequence[int],
    whole_frame_examples: list[dict[str, Any]],
    example_columns: Sequence[str],
) -> list[dict[str, Any]]:
    """The first failing rows of a partition, with the columns the whole frame's examples show."""
    if not failing:
        return []
    columns = list(whole_frame_examples[0]) if whole_frame_examples else list(example_columns)
    return _rows(frame, failing[:EXAMPLE_ROWS], [c for c in columns if c in frame.columns])


def _plain(value: Any) -> Any:
    """A value JSON can carry: timestamps as ISO strings, missing values as None."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def summary(validation: Validation) -> dict[str, Any]:
    """Plain values for a check result's metadata: counts per rule and any rule errors."""
    summarized: dict[str, Any] = {
        "failing_count": validation.failing_count,
        "row_count": validation.row_count,
        "failing_by_rule": validation.failing_counts(),
    }
    if validation.errors():
        summarized["rule_errors"] = validation.errors()
    return summarized


def examples_markdown(validation: Validation) -> str:
    """A few failing rows as a Markdown table (the rule they broke first), or a note."""
    rows = validation.examples()
    if not rows:
        return "_no failing rows_"
    columns = list(dict.fromkeys(column for row in rows for column in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [_cell(row.get(column)) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"
