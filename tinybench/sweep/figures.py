"""Figures that show as images wherever IPython displays them.

tinybench builds :class:`matplotlib.figure.Figure` objects without pyplot, so plots never pile
up in pyplot's global state and functions can return the figure for saving. IPython, though,
only learns to draw a Figure as a picture when pyplot starts its inline backend; without that
(or with ``MPLBACKEND=Agg`` in the kernel's environment) a returned Figure shows as the text
``<Figure size 800x500 with 1 Axes>``. :func:`new_figure` registers an ``image/png`` formatter
for Figures with the running IPython shell, so JupyterLab, classic Notebook and VS Code, which
all follow the same display protocol, show the plot whatever the backend.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure

__all__ = ["figure_png", "new_figure", "register_png_display"]

PNG_DPI = 100


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` as PNG bytes, trimmed to its content."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight")
    return buffer.getvalue()


def register_png_display() -> bool:
    """Teach the running IPython shell to display Figures as PNG; return whether one runs.

    Calling it again is harmless: the formatter is replaced by the same function.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python without IPython installed
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True


def new_figure(**kwargs: Any) -> Figure:
    """Return ``Figure(**kwargs)``, displayable as an image in IPython (see the module docs)."""
    register_png_display()
    return Figure(**kwargs)
