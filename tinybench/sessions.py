"""The on-disk session format: ``data/<dataset>/<label>/<session>.csv`` and its JSON sidecar.

A session is a CSV file with the header ``seq,t_us,<fields…>`` and one sample per row, and a JSON
sidecar beside it (the contract in ``docs/architecture.md``, "Dataset files"). Both files are
written atomically, CSV first and sidecar last, so a crash never leaves a half-written file and a
CSV without a sidecar is never taken for a finished session: :class:`Session` refuses to load it
and :func:`list_sessions` skips it.

:class:`~tinybench.capture.Recorder` writes sessions with :func:`write_session`; the dataset
loader reads them back with :class:`Session` and :func:`list_sessions`. Every label, dataset and
session name goes through :func:`validate_name` before it becomes a folder or file name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinybench.errors import CaptureError, LabelError
from tinybench.protocol import Sample

__all__ = [
    "MAX_NAME_LENGTH",
    "SESSION_FORMAT",
    "Session",
    "atomic_write",
    "format_session_csv",
    "list_sessions",
    "next_session_name",
    "sessions_table",
    "validate_name",
    "write_session",
]

SESSION_FORMAT = "tinybench-session/1"
MAX_NAME_LENGTH = 64
_NAME = re.compile(r"^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in "123456789"
}
_ALLOWED = (
    "letters, digits, '_' and '-' (and '.' between them), at most "
    f"{MAX_NAME_LENGTH} characters, for example 'wave' or 'left_hand-2'"
)


def validate_name(name: object, what: str = "label") -> str:
    """Return ``name`` if it is safe as a folder or file name under ``data/``.

    Args:
        name: The label, dataset or session name to check.
        what: What the name is, for the error message (``label``, ``dataset``, ``session``).

    Raises:
        LabelError: The name is empty, too long, absolute, contains ``..``, a path separator,
            a control character, a leading dot or any character other than letters, digits,
            ``_``, ``-`` and inner dots, or is a reserved device name on Windows.
    """
    if not isinstance(name, str):
        problem = f"is a {type(name).__name__}, not text"
    elif not name:
        problem = "is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is {len(name)} characters long"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "contains control characters"
    elif "/" in name or "\\" in name or os.path.isabs(name):
        problem = "contains a path separator, so it would escape its folder"
    elif ".." in name:
        problem = "contains '..', so it could escape its folder"
    elif name.startswith("."):
        problem = "starts with a dot, which would make it hidden"
    elif not _NAME.match(name):
        problem = "contains characters other than letters, digits, '_', '-' and inner dots"
    elif name.split(".")[0].lower() in _WINDOWS_DEVICES:
        problem = "is a reserved device name on Windows"
    else:
        return name
    raise LabelError(f"Invalid {what} {name!r}: it {problem}. Use {_ALLOWED}.")


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

    CSV files without a sidecar (unfinished recordings) are skipped.
    """
    root = Path(data_dir) / validate_name(dataset, "dataset")
    return [Session.load(meta) for meta in sorted(root.glob("*/*.json"))]


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


def format_session_csv(fields: Sequence[str], samples: Sequence[Sample]) -> bytes:
    """Return the session CSV: the header ``seq,t_us,<fields…>`` and one sample per row.

    A missing sequence number or timestamp (plain CSV streams) is an empty cell.
    """
    lines = [",".join(("seq", "t_us", *fields))]
    for seq, t_us, values in samples:
        head = f"{'' if seq is None else seq},{'' if t_us is None else t_us}"
        lines.append(head + "," + ",".join(map(repr, values)))
    return ("\n".join(lines) + "\n").encode("ascii")


def next_session_name(folder: Path, label: str) -> str:
    """Return ``<label>-<NNNN>`` with the number after the highest one already in ``folder``."""
    pattern = re.compile(rf"^{re.escape(label)}-(\d+)$")
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.stem))]
    return f"{label}-{max(numbers, default=0) + 1:04d}"


def write_session(csv_path: Path, csv_data: bytes, meta: dict[str, Any]) -> None:
    """Write a session's CSV, then its JSON sidecar beside it, each with :func:`atomic_write`.

    If the sidecar cannot be written, the CSV is removed again: a CSV is on disk only with its
    sidecar. The caller keeps the samples to write them again.

    Raises:
        OSError: Either file could not be written.
    """
    meta_path = csv_path.with_suffix(".json")
    atomic_write(csv_path, csv_data)
    try:
        atomic_write(meta_path, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    except BaseException:
        with contextlib.suppress(OSError):
            csv_path.unlink()  # no sidecar: take the CSV back, the samples stay here
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old, or complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
