"""The on-disk session format: ``data/<dataset>/<label>/<session>.csv`` and its JSON sidecar.

A session is a CSV file with the header ``seq,t_us,<fields…>`` and one sample per row, and a
strict-JSON sidecar beside it (no ``NaN`` or ``Infinity``); ``docs/data-format.md`` is the
contract. While a session is being recorded its samples go to a partial file
(:mod:`tinybench.capture.partial`); the finished CSV appears first and the sidecar last, so a
CSV without a sidecar is never taken for a finished session: :class:`Session` refuses to load
it and :func:`list_sessions` skips it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinybench.capture.names import validate_name
from tinybench.errors import CaptureError
from tinybench.wire.protocol import Sample

__all__ = [
    "ENDINGS",
    "SESSION_FORMAT",
    "Session",
    "csv_header",
    "csv_rows",
    "list_sessions",
    "sessions_table",
    "sidecar_bytes",
]

SESSION_FORMAT = "tinybench-session/1"
ENDINGS = (
    "complete",
    "stopped",
    "interrupted",
    "unplugged",
    "stalled",
    "error",
    "recovered",
    "imported",
)
"""How a session can end, the sidecar's ``ended`` (meanings in ``docs/data-format.md``)."""


@dataclass(frozen=True)
class Session:
    """One recorded session: a CSV of samples and its JSON sidecar.

    Attributes:
        path: The CSV file.
        meta_path: The JSON sidecar beside it.
        label: The class label.
        dataset: The dataset name.
        samples: Number of samples in the CSV.
        lost_samples: Samples missing from gaps in sequence numbers.
        dropped_lines: Lines the link dropped during the session, by reason.
        measured_rate_hz: Sample rate measured over the session, or ``None``.
        meta: The whole sidecar.
    """

    path: Path
    meta_path: Path
    label: str
    dataset: str
    samples: int
    lost_samples: int
    dropped_lines: dict[str, int]
    measured_rate_hz: float | None
    meta: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        """The session name, for example ``wave-0001``."""
        return self.path.stem

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Session:
        """Load a session from its CSV or JSON path.

        Raises:
            CaptureError: The sidecar is missing or is not a tinybench session.
        """
        csv_path = Path(path).with_suffix(".csv")
        meta_path = csv_path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CaptureError(
                f"No sidecar {meta_path} for session {csv_path}. A CSV without its sidecar is an "
                "unfinished recording: record the session again."
            ) from None
        except json.JSONDecodeError as exc:
            raise CaptureError(f"Sidecar {meta_path} is not valid JSON ({exc}).") from exc
        if meta.get("format") != SESSION_FORMAT:
            raise CaptureError(
                f"{meta_path} has format {meta.get('format')!r}, expected {SESSION_FORMAT!r}. "
                "Is this a tinybench session?"
            )
        return cls(
            path=csv_path,
            meta_path=meta_path,
            label=meta["label"],
            dataset=meta["dataset"],
            samples=int(meta["samples"]),
            lost_samples=int(meta["lost_samples"]),
            dropped_lines=dict(meta["dropped_lines"]),
            measured_rate_hz=meta["measured_rate_hz"],
            meta=meta,
        )

    def to_frame(self) -> Any:
        """Return the samples as a :class:`pandas.DataFrame` (columns ``seq``, ``t_us``, fields)."""
        import pandas as pd

        frame = pd.read_csv(self.path)
        for column in ("seq", "t_us"):
            if frame[column].notna().all():
                frame[column] = frame[column].astype("int64")
        return frame


def list_sessions(dataset: str, data_dir: str | os.PathLike[str] = "data") -> list[Session]:
    """Return every finished session of ``data_dir/dataset``, sorted by label and name.

    CSV files without a sidecar and hidden files (sessions being recorded) are skipped.
    """
    root = Path(data_dir) / validate_name(dataset, "dataset")
    metas = sorted(p for p in root.glob("*/*.json") if not p.name.startswith("."))
    return [Session.load(meta) for meta in metas]


def sessions_table(sessions: Iterable[Session]) -> Any:
    """Return one row per session as a :class:`pandas.DataFrame`, for a quick look."""
    import pandas as pd

    rows = [
        {
            "label": s.label,
            "session": s.name,
            "samples": s.samples,
            "lost_samples": s.lost_samples,
            "dropped_lines": sum(s.dropped_lines.values()),
            "measured_rate_hz": s.measured_rate_hz,
            "ended": s.meta.get("ended", "complete"),
            "path": str(s.path),
        }
        for s in sessions
    ]
    columns = ["label", "session", "samples", "lost_samples", "dropped_lines"]
    columns += ["measured_rate_hz", "ended", "path"]
    return pd.DataFrame(rows, columns=columns)


def csv_header(fields: Sequence[str]) -> bytes:
    """Return the CSV header line ``seq,t_us,<fields…>`` (fields already made safe)."""
    return (",".join(("seq", "t_us", *fields)) + "\n").encode("ascii")


def csv_rows(samples: Sequence[Sample]) -> bytes:
    """Return one CSV row per sample; a missing ``seq`` or ``t_us`` is an empty cell.

    Values are written with :func:`repr`, the shortest text that reads back as the same float.
    """
    rows = [
        f"{'' if seq is None else seq},{'' if t_us is None else t_us},"
        + ",".join(map(repr, values))
        for seq, t_us, values in samples
    ]
    rows.append("")
    return "\n".join(rows).encode("ascii")


def sidecar_bytes(meta: dict[str, Any]) -> bytes:
    """Return ``meta`` as strict JSON (no ``NaN``/``Infinity``), one key per line.

    Raises:
        ValueError: A value is not finite; callers clean values first, so this is a bug guard.
    """
    return (json.dumps(meta, indent=1, allow_nan=False) + "\n").encode("utf-8")
