"""Writing imported sessions: checked all together first, then one atomic session each.

:func:`write_recordings` is the one writer behind :mod:`tinybench.dataset.importers`. It checks
that the new sessions have unique names and share fields and rate with each other and with the
dataset's sessions, and that none would overwrite a session with other samples, before writing
anything. Each session then goes through the capture package's writer
(:class:`~tinybench.capture.partial.PartialSession`: a reserved name, the CSV, the sidecar
last, ``csv_sha256``), so an interrupted import leaves only whole sessions; running it again
skips those already imported with the same samples.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinybench.capture.metadata import session_meta
from tinybench.capture.names import validate_name
from tinybench.capture.partial import PartialSession, recover_sessions
from tinybench.capture.sessions import Session, csv_header, csv_rows
from tinybench.capture.stream_shape import StreamShape
from tinybench.dataset.files import check_compatible, check_groups, read_metas
from tinybench.errors import CaptureError, DatasetError
from tinybench.wire.protocol import Sample

__all__ = ["IMPORTED", "Recording", "checked_name", "write_recordings"]

IMPORTED = "imported"
"""The ``ended`` of every imported session."""


@dataclass
class Recording:
    """One session to write.

    Attributes:
        label: Its label (folder).
        session: Its name.
        fields: tinybench's field names.
        samples: The samples, in order.
        rate_hz: Nominal rate, or ``None``.
        extra: Sidecar keys added to what ``session_meta`` says (``source``, ``groups``, …).
        base: A whole sidecar to keep instead (a class import copies the student's).
    """

    label: str
    session: str
    fields: tuple[str, ...]
    samples: list[Sample]
    rate_hz: float | None
    extra: dict[str, Any]
    base: dict[str, Any] | None = field(default=None)  # a whole sidecar to reuse (class import)


def checked_name(text: str, what: str, where: str) -> str:
    """Return ``text`` if :func:`validate_name` accepts it, else a :class:`DatasetError`."""
    try:
        return validate_name(text, what)
    except CaptureError as exc:
        raise DatasetError(f"{where}: {exc} Rename it, then import again.") from exc


# -- writing sessions -------------------------------------------------------------------------


def write_recordings(
    recordings: list[Recording],
    dataset: str,
    data_dir: str | os.PathLike[str],
    groups: Mapping[str, str] | None,
) -> list[Session]:
    """Check every recording against each other and the dataset, then write the new ones.

    Sessions an earlier import (or capture) left unfinished are recovered first, so a run
    that was cut short can simply be repeated.

    Raises:
        DatasetError: Two recordings share a name, they disagree with each other or with the
            dataset on fields or rate, or one would overwrite a session with other samples.
    """
    root = Path(data_dir) / checked_name(dataset, "dataset", "dataset")
    recover_sessions(root)
    extra = check_groups(dict(groups), "groups=") if groups else {}
    seen: dict[str, str] = {}
    for rec in recordings:
        if extra:  # the caller's groups join those the format gives (a recording's name)
            rec.extra["groups"] = rec.extra.get("groups", {}) | extra
        where = rec.extra.get("source") or (rec.base or {}).get("source")
        if rec.session in seen:
            raise DatasetError(
                f"session {rec.session!r} comes from both {seen[rec.session]} and {where}; "
                "rename one of the files (labels and students must be unique)."
            )
        seen[rec.session] = str(where)
    new = [{"session": r.session, "fields": r.fields, "rate_hz": r.rate_hz} for r in recordings]
    check_compatible(read_metas(root) + new, root)
    done = {r.session: _existing(root, r) for r in recordings}
    return [done[r.session] or _write(root, dataset, r) for r in recordings]


def _csv_bytes(rec: Recording) -> bytes:
    return csv_header(rec.fields) + csv_rows(rec.samples)


def _existing(root: Path, rec: Recording) -> Session | None:
    """The session already imported with the same samples; ``None`` if there is none."""
    meta_path = root / rec.label / f"{rec.session}.json"
    if not meta_path.exists() and not meta_path.with_suffix(".csv").exists():
        return None
    digest = hashlib.sha256(_csv_bytes(rec)).hexdigest()
    if meta_path.exists() and Session.load(meta_path).meta.get("csv_sha256") == digest:
        return Session.load(meta_path)
    raise DatasetError(
        f"session {rec.session!r} already exists in {root / rec.label} with other samples; "
        "nothing was overwritten. Import into another dataset, or delete that session first."
    )


def _write(root: Path, dataset: str, rec: Recording) -> Session:
    """Write one session through the capture package's writer: CSV first, sidecar last."""
    draft = {
        "dataset": dataset,
        "label": rec.label,
        "session": rec.session,
        "started_at": (rec.base or rec.extra)["started_at"],
        "rate_hz": rec.rate_hz,
    }
    if rec.base is not None:
        meta = {**rec.base, "dataset": dataset, "session": rec.session, "ended": IMPORTED}
        meta.pop("csv_sha256", None)
    else:
        shape = StreamShape()
        shape.on_header(tuple(rec.extra["device_fields"]))
        for sample in rec.samples:
            shape.add(sample)
        meta = session_meta(draft, shape, ended=IMPORTED)
        meta.pop("stream", None)
        rate_source = "file" if shape.timestamped else "given"
        meta |= {**rec.extra, "fields": list(rec.fields), "rate_source": rate_source}
    partial = PartialSession.reserve(root / rec.label, rec.label, rec.session)
    try:
        partial.write_draft(draft)
        partial.append(rec.fields, rec.samples)
        return partial.finish(meta)
    finally:
        partial.close()
