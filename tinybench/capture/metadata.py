"""What a session's sidecar says: one function for finished and for recovered sessions.

The keys are the contract in ``docs/data-format.md``. Every number is finite (sidecars are
strict JSON), and the nominal rate comes from, in order: the hello, the rate the user gave
(``rate_hz=`` / ``--rate-hz``), the measured rate rounded to whole hertz.
"""

from __future__ import annotations

import dataclasses
import math
from importlib import metadata
from typing import Any

from tinybench.capture.sessions import SESSION_FORMAT
from tinybench.capture.stream_shape import StreamShape
from tinybench.wire.protocol import Hello

__all__ = ["hello_from_dict", "hello_to_dict", "session_meta"]


def _version() -> str:
    try:
        return metadata.version("tinybench")
    except metadata.PackageNotFoundError:
        return "unknown"


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def hello_to_dict(hello: Hello | None) -> dict[str, Any] | None:
    """Return a hello as plain JSON-ready data (non-finite rates become 0), or ``None``."""
    if hello is None:
        return None
    data = dataclasses.asdict(hello)
    data["rate_hz"] = _finite(hello.rate_hz) or 0.0
    return data


def hello_from_dict(data: dict[str, Any] | None) -> Hello | None:
    """Rebuild a hello saved with :func:`hello_to_dict`; anything malformed gives ``None``."""
    if not isinstance(data, dict):
        return None
    try:
        return Hello(
            version=int(data.get("version", 1)),
            board=str(data.get("board", "unknown")),
            sensor=str(data.get("sensor", "")),
            rate_hz=float(data.get("rate_hz", 0.0)),
            fields=tuple(str(f) for f in data.get("fields", ())),
            labels=tuple(str(f) for f in data.get("labels", ())),
            virtual=bool(data.get("virtual", False)),
            units=tuple(str(f) for f in data.get("units", ())),
            extra={str(k): str(v) for k, v in dict(data.get("extra", {})).items()},
        )
    except (TypeError, ValueError):
        return None


# Long because it lists every key of the sidecar contract in one place, in the documented order.
def session_meta(
    draft: dict[str, Any],
    shape: StreamShape,
    *,
    ended: str,
    host_rate_hz: float | None = None,
    dropped: dict[str, int] | None = None,
    error: str | None = None,
    device_errors: list[str] | None = None,
) -> dict[str, Any]:
    """Return the sidecar of a session.

    Args:
        draft: What was known when the session started (``dataset``, ``label``, ``session``,
            ``started_at``, ``rate_hz`` given by the user), as written in the partial sidecar.
        shape: The session's samples as seen by :class:`StreamShape`.
        ended: How it ended, one of :data:`~tinybench.capture.sessions.ENDINGS`.
        host_rate_hz: Rate measured from host arrival times, for streams without timestamps.
        dropped: Dropped lines by reason; ``None`` when unknown (recovered sessions).
        error: What went wrong, for sessions that did not complete.
        device_errors: ``!`` lines the device sent during the session.
    """
    hello = shape.hello
    device_rate = shape.device_rate_hz()
    measured = device_rate if shape.timestamped else _finite(host_rate_hz)
    nominal = shape.hello_rate_hz() or _finite(draft.get("rate_hz"))
    if nominal is None and measured:
        nominal = float(round(measured))
    fields = shape.fields()
    meta: dict[str, Any] = {
        "format": SESSION_FORMAT,
        "dataset": draft["dataset"],
        "label": draft["label"],
        "session": draft["session"],
        "board": hello.board if hello else "unknown",
        "virtual": bool(hello and hello.virtual),
        "sensor": hello.sensor if hello else "",
        "rate_hz": nominal,
        "fields": list(fields),
        "units": shape.units(),
        "started_at": draft["started_at"],
        "samples": shape.count,
        "lost_samples": shape.lost,
        "restarts": shape.restarts,
        "dropped_lines": dict(dropped) if dropped is not None else {},
        "measured_rate_hz": measured,
        "rate_source": "device" if shape.timestamped else "host",
        "ended": ended,
        "tinybench_version": _version(),
    }
    if fields != shape.device_fields():
        meta["device_fields"] = list(shape.device_fields())
    if error:
        meta["error"] = error
    if device_errors:
        meta["device_errors"] = device_errors[:20]
    if hello is None:
        meta["stream"] = "plain"
    return meta
