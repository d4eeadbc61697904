"""Telemetry recorded in memory: the project's instruments on SDK providers with in-memory
readers, installed for one test and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from wareader_pipelines.observability import telemetry


@dataclass
class Recorded:
    """What the instrumented code exported during the test."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans.get_finished_spans() if span.name == name]

    def points(self, metric: str) -> list[Any]:
        """Every data point of `metric` (each has .attributes and .value or .count/.sum)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found.extend(item.data.data_points)
        return found

    def total(self, metric: str, **attributes: object) -> float:
        """Sum of a counter's points whose attributes include `attributes`."""
        return sum(
            point.value
            for point in self.points(metric)
            if all(point.attributes.get(key) == value for key, value in attributes.items())
        )


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    previous = telemetry.install(telemetry.Telemetry(tracer_provider, meter_provider, enabled=True))
    try:
        yield Recorded(spans, reader)
    finally:
        telemetry.install(previous)
        tracer_provider.shutdown()
        meter_provider.shutdown()
