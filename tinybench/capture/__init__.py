"""Capture: recording labelled sessions from a link into ``data/<dataset>/``.

``recorder`` drives the board and a worker thread; ``recording`` is one session's state;
``stream_shape`` decides width, names, restarts and timing (the hello is the authority);
``partial`` reserves names and writes samples to disk as they arrive, and recovers sessions
whose recorder died; ``sessions`` and ``metadata`` own the finished files; ``names`` makes user
and device names safe; ``batch`` records a whole dataset. The format is ``docs/data-format.md``.
"""

from tinybench.capture.batch import record_dataset
from tinybench.capture.names import RESERVED_COLUMNS, safe_field_names, validate_name
from tinybench.capture.partial import recover_sessions
from tinybench.capture.recorder import Recorder
from tinybench.capture.sessions import (
    ENDINGS,
    SESSION_FORMAT,
    Session,
    list_sessions,
    sessions_table,
)

__all__ = [
    "ENDINGS",
    "RESERVED_COLUMNS",
    "SESSION_FORMAT",
    "Recorder",
    "Session",
    "list_sessions",
    "record_dataset",
    "recover_sessions",
    "safe_field_names",
    "sessions_table",
    "validate_name",
]
