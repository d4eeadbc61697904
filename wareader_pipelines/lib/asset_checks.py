"""Asset-check results from Great Expectations validations, shared by every stage's checks."""

import dagster as dg
import pandas as pd

from wareader_pipelines.quality.expectations import (
    Expectation,
    examples_markdown,
    summary,
    validate,
)


def validation_result(
    frame: pd.DataFrame,
    expectations: list[Expectation],
    *,
    severity: dg.AssetCheckSeverity,
    example_columns: list[str],
) -> dg.AssetCheckResult:
    """Validate `frame`; the check passes when every expectation holds.

    The metadata carries the failing count per rule and a few example rows (key
    columns only, never message text or phone numbers).
    """
    validation = validate(frame, expectations, example_columns=example_columns)
    return dg.AssetCheckResult(
        passed=validation.passed,
        severity=severity,
        metadata={
            **summary(validation),
            "examples": dg.MetadataValue.md(examples_markdown(validation)),
        },
    )
