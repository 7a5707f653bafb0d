"""Notebook widgets: ipywidgets views over tinybench's session objects.

Each widget only observes an object that does the work (a
:class:`~tinybench.capture.recorder.Recorder`,
a live session) and can be tested without a browser. Widgets are imported on first use, so
``import tinybench.widgets`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module that defines it. Add one line per widget.
_EXPORTS = {
    "CapturePanel": "tinybench.widgets.capture_panel",
    "LiveView": "tinybench.widgets.live_view",
    "TradeoffExplorer": "tinybench.widgets.tradeoff_explorer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
