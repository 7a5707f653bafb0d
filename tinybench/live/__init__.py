"""Live: predictions from a board as they arrive, and host-vs-device validation.

``session`` runs a :class:`LiveSession` over a link and hands out the objects of ``updates``;
``validation`` compares the board's raw outputs with the host TFLM interpreter's, on inputs
that ``inputs`` records from the board's sensor (or the virtual board's, on a board without one).
"""

from tinybench.live.inputs import validation_windows
from tinybench.live.session import LiveSession
from tinybench.live.updates import LiveSummary, LiveUpdate
from tinybench.live.validation import ValidationReport, record_windows, validate

__all__ = [
    "LiveSession",
    "LiveSummary",
    "LiveUpdate",
    "ValidationReport",
    "record_windows",
    "validate",
    "validation_windows",
]
