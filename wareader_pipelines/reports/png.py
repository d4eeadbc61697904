"""Matplotlib figures as reproducible PNG bytes: same data, same bytes, on any run.

The Agg renderer draws with the DejaVu Sans shipped inside matplotlib and, for emoji, the
monochrome outline font Noto Emoji from the pinned `manimgx-fonts` package (never a system
font that differs between machines): Agg cannot draw colour bitmap emoji fonts, but it
draws an outline one, and matplotlib's text shaping keeps skin-tone, ZWJ and flag
sequences one glyph. PNG metadata carries no software version or timestamp, and the
figure is built without pyplot, so no global state leaks between reports.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import manimgx_fonts
import matplotlib
import matplotlib.image
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# The emoji font, registered once: the fallback of texts that may hold emoji (EMOJI_TEXT).
EMOJI_FONT_FILE = Path(manimgx_fonts.__file__).with_name("NotoEmoji[wght].ttf")
font_manager.fontManager.addfont(str(EMOJI_FONT_FILE))
EMOJI_FONT = font_manager.FontProperties(fname=EMOJI_FONT_FILE).get_name()
EMOJI_TEXT = ["DejaVu Sans", EMOJI_FONT]
# Everything besides this code that shapes the bytes.
LIBRARIES = f"matplotlib {matplotlib.__version__}, manimgx-fonts {version('manimgx-fonts')}"

DPI = 80
# zlib level of the PNG: 1 encodes several times faster than the default 6 for pages
# about a fifth larger (flat colours and text compress well either way)
COMPRESS_LEVEL = 1
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "wareader",
    "path.simplify": False,
    # glyphs as the font draws them: FreeType's auto-hinter costs a sixth of a page
    "text.hinting": "no_hinting",
    # a fixed title height: matplotlib's automatic one measures every tick label of the axes
    "axes.titley": 1.0,
}


@contextmanager
def style() -> Iterator[None]:
    """The report style, for creating artists outside `figure` (rc is read at creation)."""
    with matplotlib.rc_context(STYLE):
        yield


def blank_figure(width_inches: float, height_inches: float) -> Figure:
    """A figure on an Agg canvas, to be filled under `style()` and drawn with `png_bytes`."""
    fig = Figure(figsize=(width_inches, height_inches), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


@contextmanager
def figure(width_inches: float, height_inches: float) -> Iterator[Figure]:
    """A fresh figure in the report style, independent of any user matplotlibrc."""
    with matplotlib.rc_context(STYLE):
        # fixed axes positions: a layout engine costs more than the drawing itself
        yield blank_figure(width_inches, height_inches)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG with fixed metadata (no Software tag, no creation time)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(
            buffer,
            format="png",
            dpi=DPI,
            metadata={"Software": None},
            pil_kwargs={"compress_level": COMPRESS_LEVEL},
        )
    return buffer.getvalue()


def canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """What the canvas holds now (after blitting, say) as PNG, with `png_bytes`' metadata."""
    buffer = io.BytesIO()
    matplotlib.image.imsave(
        buffer,
        np.asarray(canvas.buffer_rgba()),
        format="png",
        dpi=DPI,
        metadata={"Software": None},
        pil_kwargs={"compress_level": COMPRESS_LEVEL},
    )
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown that shows the PNG inline (the Dagster UI renders data URIs)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
