"""Matplotlib figures as reproducible PNG bytes: same data, same bytes, on any run.

The Agg renderer draws with the DejaVu Sans shipped inside matplotlib (never a system
font that differs between machines), PNG metadata carries no software version or
timestamp, and the figure is built without pyplot, so no global state leaks between
reports. Colour emoji cannot be drawn by Agg; reports show emoji by name instead.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 80
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "wareader",
    "path.simplify": False,
}


@contextmanager
def figure(width_inches: float, height_inches: float) -> Iterator[Figure]:
    """A fresh figure in the report style, independent of any user matplotlibrc."""
    with matplotlib.rc_context(STYLE):
        # fixed axes positions: a layout engine costs more than the drawing itself
        fig = Figure(figsize=(width_inches, height_inches), dpi=DPI)
        FigureCanvasAgg(fig)
        yield fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG with fixed metadata (no Software tag, no creation time)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown that shows the PNG inline (the Dagster UI renders data URIs)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
