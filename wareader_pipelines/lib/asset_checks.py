"""Asset-check results from Great Expectations validations, shared by every stage's checks.

A partitioned check in a ranged run (one run over many days) must report each day:
Dagster files a plain `AssetCheckResult` of such a run under no partition, so the
UI's per-day list showed every day "Skipped" while the run's detail said "Passed".
`validation_results` validates the run's rows once and yields one evaluation per
partition of the run, each pointing at that partition's materialization.
"""

from collections.abc import Iterator, Sequence

import dagster as dg
import pandas as pd

# Dagster exports the evaluation but not the pointer to the materialization it judged,
# which the UI needs to show a partition's check as current; it lives in `dagster._core`.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from wareader_pipelines.lib.partitions import partition_of_rows
from wareader_pipelines.quality.expectations import (
    Expectation,
    Validation,
    examples_markdown,
    summary,
    validate_by_partition,
)


def validation_results(
    context: dg.AssetCheckExecutionContext,
    frame: pd.DataFrame,
    expectations: list[Expectation],
    *,
    time_column: str,
    severity: dg.AssetCheckSeverity,
    example_columns: list[str],
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Validate `frame` (the run's partitions) and yield each partition's own check result.

    A row belongs to the partition whose time window holds its `time_column`; each
    partition passes when every expectation holds on its rows. The metadata carries
    the failing count per rule and a few example rows (key columns only, never
    message text or phone numbers).
    """
    (spec,) = context.check_specs
    partitions_def = spec.partitions_def
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        raise TypeError(f"check {spec.name} needs time-window partitions")
    keys = list(context.partition_keys)
    windows = [partitions_def.time_window_for_partition_key(key) for key in keys]
    labels = partition_of_rows(
        frame[time_column] if time_column in frame.columns else pd.Series([None] * len(frame)),
        keys,
        [(window.start, window.end) for window in windows],
    )
    by_partition = validate_by_partition(
        frame, expectations, labels, keys, example_columns=example_columns
    )
    targets = _materializations(context.instance, spec.asset_key, keys)
    for key in keys:
        yield _evaluation(spec, key, by_partition[key], severity, targets.get(key))
    # The check's output, which Dagster expects once per step whatever the partitions.
    yield dg.Output(None)


def _evaluation(
    spec: dg.AssetCheckSpec,
    partition: str,
    validation: Validation,
    severity: dg.AssetCheckSeverity,
    target: AssetCheckEvaluationTargetMaterializationData | None,
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=validation.passed,
        severity=severity,
        blocking=spec.blocking,
        partition=partition,
        target_materialization_data=target,
        metadata={
            **summary(validation),
            "examples": dg.MetadataValue.md(examples_markdown(validation)),
        },
    )


def _materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition: what the check's result is about."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    cursor = None
    while len(found) < len(keys):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(keys)),
            limit=max(len(keys), 100),
            cursor=cursor,
        )
        for record in page.records:  # newest first
            partition = record.partition_key
            if partition is not None and partition not in found:
                found[partition] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id,
                    run_id=record.run_id,
                    timestamp=record.timestamp,
                )
        if not page.has_more:
            break
        cursor = page.cursor
    return found
