"""What a failed run tells Sentry: one report per failed step, tagged for searching.

Plain data in, plain data out (the sensor unpacks Dagster's objects), so the rules are
tested without a run: tags name the run id, job, asset (the step's asset when the run
selected assets, else the step key) and partition (or partition range); the stack keeps
only `file:line in function` for each frame, never the source lines, which can hold
literals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wareader_pipelines.lib.partitions import RANGE_END_TAG, RANGE_START_TAG

PARTITION_TAG = "dagster/partition"

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')


@dataclass(frozen=True)
class StepError:
    """A failed step as the event log records it."""

    step_key: str | None
    message: str
    error_type: str | None
    stack: Sequence[str]


@dataclass(frozen=True)
class FailureReport:
    """One event to send."""

    message: str
    error_type: str | None
    stack: list[str]
    tags: dict[str, str]


def partition_of(run_tags: Mapping[str, str]) -> str | None:
    """The run's partition, or `start...end` for a ranged run, or None."""
    if run_tags.get(PARTITION_TAG):
        return run_tags[PARTITION_TAG]
    start, end = run_tags.get(RANGE_START_TAG), run_tags.get(RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}...{end}"
    return None


def frames_of(stack: Sequence[str]) -> list[str]:
    """`path:line in function` per frame of a formatted Python stack; source lines dropped."""
    frames = []
    for entry in stack:
        for match in _FRAME.finditer(entry):
            frames.append(f"{match['file']}:{match['line']} in {match['function']}")
    return frames


def asset_of_step(step_key: str | None, asset_selection: Sequence[str]) -> str | None:
    """The selected asset whose op is `step_key` (`a/b` runs as op `a__b`), else the key."""
    if step_key is None:
        return None
    for asset in asset_selection:
        if asset.replace("/", "__") == step_key or asset.split("/")[-1] == step_key:
            return asset
    return step_key


def failure_reports(
    *,
    run_id: str,
    job_name: str,
    run_tags: Mapping[str, str],
    asset_selection: Sequence[str],
    run_message: str,
    step_errors: Sequence[StepError],
) -> list[FailureReport]:
    """One report per failed step, or one for the run when no step failed (e.g. launch)."""
    base = {"run_id": run_id, "job": job_name}
    partition = partition_of(run_tags)
    if partition:
        base["partition"] = partition
    if not step_errors:
        tags = dict(base)
        if len(asset_selection) == 1:
            tags["asset"] = asset_selection[0]
        return [FailureReport(run_message, None, [], tags)]
    reports = []
    for error in step_errors:
        tags = dict(base)
        asset = asset_of_step(error.step_key, asset_selection)
        if asset:
            tags["asset"] = asset
        if error.step_key:
            tags["step"] = error.step_key
        message = f"{error.error_type or 'Error'} in {error.step_key or job_name}: {error.message}"
        reports.append(FailureReport(message, error.error_type, frames_of(error.stack), tags))
    return reports
