"""Reading a dataset folder: sidecars, CSVs, and the checks that name the session at fault.

Before reading, sessions whose recorder died are recovered
(:func:`~tinybench.capture.partial.recover_sessions`). A session's CSV must match the
``csv_sha256`` of its sidecar, hold finite numbers that fit in float32, and have the columns
``seq,t_us,<fields…>`` or just ``<fields…>`` (then ``seq`` and ``t_us`` are empty). Sessions
must share their fields, and their rates must agree within :data:`RATE_TOLERANCE`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinybench.capture.names import RESERVED_COLUMNS
from tinybench.capture.partial import recover_sessions
from tinybench.capture.sessions import SESSION_FORMAT
from tinybench.errors import DatasetError
from tinybench.wire.protocol import FLOAT32_MAX

__all__ = [
    "RATE_TOLERANCE",
    "SESSION_COLUMNS",
    "SessionFiles",
    "check_compatible",
    "check_groups",
    "read_metas",
    "read_sessions",
]

RATE_TOLERANCE = 0.05
"""Sessions whose rates differ from the dataset's median rate by more than 5% are refused."""
SESSION_COLUMNS = (
    "session",
    "label",
    "rate_hz",
    "samples",
    "lost_samples",
    "board",
    "virtual",
    "path",
)
"""Columns of :attr:`Dataset.sessions`; a sidecar's ``groups`` keys become columns beside them."""
_GROUP_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class SessionFiles:
    """What :func:`read_sessions` found in a dataset folder.

    Attributes:
        metas: One cleaned sidecar per session (``path`` is its CSV).
        frames: One samples frame per session: ``session, label, seq, t_us, <fields…>``.
        fields: The fields all sessions share.
        rate_hz: The median of the sessions' rates, or ``None`` if none recorded one.
    """

    metas: list[dict[str, Any]]
    frames: list[pd.DataFrame]
    fields: tuple[str, ...]
    rate_hz: float | None


def read_sessions(root: Path, data_dir: Path) -> SessionFiles:
    """Recover, read and check every session of the dataset folder ``root``.

    Raises:
        DatasetError: The folder is missing or empty, or a session is malformed, damaged or
            disagrees with the others; the message names the session.
    """
    if root.is_dir():
        recover_sessions(root)
    json_paths = [p for p in sorted(root.glob("*/*.json")) if not p.name.startswith(".")]
    if not json_paths:
        raise DatasetError(_empty_message(root, data_dir))
    csvs = [p for p in sorted(root.glob("*/*.csv")) if not p.name.startswith(".")]
    orphans = [p for p in csvs if not p.with_suffix(".json").is_file()]
    if orphans:
        raise DatasetError(
            f"{len(orphans)} session CSV files in {root} have no .json beside them "
            f"(first: {orphans[0]}); a CSV without a sidecar is not a tinybench session. "
            "Delete them or re-record the sessions."
        )
    metas = [_read_meta(path) for path in json_paths]
    rate = check_compatible(metas, root)
    fields = tuple(metas[0]["fields"])
    duplicates = [s for s, n in Counter(m["session"] for m in metas).items() if n > 1]
    if duplicates:
        raise DatasetError(
            f"session ids {sorted(duplicates)} appear more than once in {root}; session ids "
            "must be unique across labels. Rename or delete the duplicate files."
        )
    frames = [_read_samples(meta, fields) for meta in metas]
    return SessionFiles(metas, frames, fields, rate)


def read_metas(root: Path) -> list[dict[str, Any]]:
    """Read and check the sidecars of the finished sessions in ``root`` (CSVs are not read).

    Raises:
        DatasetError: A sidecar is malformed; the message names it.
    """
    paths = sorted(root.glob("*/*.json")) if root.is_dir() else []
    return [_read_meta(p) for p in paths if not p.name.startswith(".")]


def check_compatible(metas: list[dict[str, Any]], root: Path) -> float | None:
    """Check that sessions can share a dataset: one set of fields, rates within tolerance.

    Args:
        metas: Sidecars as :func:`read_metas` returns them (``session``, ``fields`` as a
            tuple, ``rate_hz`` or ``None``).
        root: The dataset folder, for the message.

    Returns:
        The median of the sessions' rates, or ``None`` if none has one.

    Raises:
        DatasetError: They disagree; the message names the odd sessions.
    """
    _check_consistent(metas, "fields", root)
    return _common_rate(metas, root)


def check_groups(groups: object, where: str) -> dict[str, str]:
    """Return a sidecar's ``groups`` (for example ``{"student": "alice"}``) if well formed.

    Keys must be identifiers that are not one of :data:`SESSION_COLUMNS`; values text.

    Raises:
        DatasetError: They are not; the message names ``where``.
    """
    ok = isinstance(groups, dict) and all(
        isinstance(k, str)
        and _GROUP_KEY.match(k)
        and k not in SESSION_COLUMNS
        and isinstance(v, str)
        and v
        for k, v in groups.items()
    )
    if not ok:
        raise DatasetError(
            f"{where}: groups must map names to non-empty text, such as "
            f'{{"student": "alice"}}, with names that are identifiers other than '
            f"{SESSION_COLUMNS}; got {groups!r}. Fix the sidecar or the groups= argument."
        )
    return dict(groups)  # type: ignore[arg-type]


def _empty_message(root: Path, data_dir: Path) -> str:
    available = (
        sorted(p.name for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []
    )
    where = "does not exist" if not root.is_dir() else "holds no <label>/<session>.json files"
    return (
        f"dataset folder {root} {where}. Datasets found in {data_dir}: {available or 'none'}. "
        "Record sessions with `tinybench capture`, use the bundled 'gestures' dataset, or "
        "Dataset.from_digits() for a dataset that needs no files."
    )


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"cannot read session metadata {path}: {exc}. Fix or delete the file."
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != SESSION_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise DatasetError(
            f"{path} has format {found!r}; expected {SESSION_FORMAT!r}. "
            "Re-record the session with `tinybench capture`."
        )
    missing = [k for k in ("session", "label", "fields") if k not in meta]
    if missing:
        raise DatasetError(f"{path} lacks the keys {missing}; re-record the session.")
    if meta["label"] != path.parent.name:
        raise DatasetError(
            f"{path} says label {meta['label']!r} but lives in folder {path.parent.name!r}; "
            "move the session files into the folder of their label."
        )
    fields = tuple(str(f) for f in meta["fields"])
    clash = [f for f in fields if f.lower() in RESERVED_COLUMNS]
    if clash or len({f.lower() for f in fields}) != len(fields) or not fields:
        raise DatasetError(
            f"session {meta['session']!r} ({path}) has fields {list(fields)}: they must be "
            f"unique, non-empty and none may be one of tinybench's columns {RESERVED_COLUMNS}. "
            "Rename them in its sidecar and CSV header (tinybench capture renames them itself)."
        )
    meta["fields"] = fields
    meta["groups"] = check_groups(meta.get("groups", {}), str(path))
    meta["rate_hz"] = _rate_of(meta)
    meta["path"] = path.with_suffix(".csv")
    return meta


def _rate_of(meta: dict[str, Any]) -> float | None:
    """The session's nominal rate, else its measured rate, else ``None``."""
    for key in ("rate_hz", "measured_rate_hz"):
        value = meta.get(key)
        if isinstance(value, int | float) and math.isfinite(value) and value > 0:
            return float(value)
    return None


def _common_rate(metas: list[dict[str, Any]], root: Path) -> float | None:
    rates = [m["rate_hz"] for m in metas if m["rate_hz"] is not None]
    if not rates:
        return None
    median = float(np.median(rates))
    odd = [
        m for m in metas if m["rate_hz"] and abs(m["rate_hz"] - median) > RATE_TOLERANCE * median
    ]
    if odd:
        shown = ", ".join(f"{m['session']} ({m['rate_hz']:g} Hz)" for m in odd[:8])
        more = f" and {len(odd) - 8} more" if len(odd) > 8 else ""
        raise DatasetError(
            f"sessions in {root} disagree on rate_hz: most are near {median:g} Hz but {shown}"
            f"{more} differ by more than {RATE_TOLERANCE:.0%}. A dataset needs one rate_hz; "
            "move the odd sessions to a dataset of their own."
        )
    return median


def _check_consistent(metas: list[dict[str, Any]], key: str, root: Path) -> None:
    counts = Counter(m[key] for m in metas)
    if len(counts) <= 1:
        return
    common = counts.most_common(1)[0][0]
    odd = [f"{m['session']} ({m[key]})" for m in metas if m[key] != common]
    shown = ", ".join(odd[:8]) + (f" and {len(odd) - 8} more" if len(odd) > 8 else "")
    raise DatasetError(
        f"sessions in {root} disagree on {key}: most have {common!r} but {shown} differ. "
        f"A dataset needs one {key}; move the odd sessions to a dataset of their own."
    )


def _read_samples(meta: dict[str, Any], fields: tuple[str, ...]) -> pd.DataFrame:
    path: Path = meta["path"]
    name = meta["session"]
    try:
        data = path.read_bytes()
        frame = pd.read_csv(io.BytesIO(data))
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"cannot read the samples of session {name!r} ({path}): {exc}.") from exc
    expected = meta.get("csv_sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise DatasetError(
            f"session {name!r} ({path}, {len(data):,} bytes) does not match the csv_sha256 of "
            "its sidecar: the file was cut short or changed after recording. Re-record it, or "
            "remove csv_sha256 from its .json if you edited the CSV on purpose."
        )
    if list(frame.columns) == list(fields):
        frame.insert(0, "t_us", np.nan)
        frame.insert(0, "seq", np.nan)
    if list(frame.columns) != ["seq", "t_us", *fields]:
        raise DatasetError(
            f"{path} has columns {list(frame.columns)}; its metadata promises "
            f"{['seq', 't_us', *fields]} (or just the fields). Re-record the session or fix "
            "the header line."
        )
    if len(frame) == 0:
        raise DatasetError(f"{path} holds no samples; delete it or re-record the session.")
    values = frame[list(fields)]
    numeric = all(pd.api.types.is_numeric_dtype(values[f]) for f in fields)
    if not numeric or values.isna().to_numpy().any():
        raise DatasetError(f"{path} has empty or non-numeric sample values; re-record it.")
    if not (np.abs(values.to_numpy(np.float64)) <= FLOAT32_MAX).all():
        raise DatasetError(
            f"session {name!r} ({path}) has values that are infinite or beyond float32; "
            "delete those rows or re-record the session."
        )
    frame.insert(0, "label", meta["label"])
    frame.insert(0, "session", name)
    return frame
