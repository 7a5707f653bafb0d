"""Sessions on disk while they are recorded: reserved names, an append-only partial file.

A session's name is reserved by creating its partial file create-exclusive
(``os.open(O_CREAT | O_EXCL)``): ``<label>/.<session>.partial.csv``. Any number of recorders,
in one process or many, can number sessions in one folder and never get the same name. Beside
it, ``.<session>.partial.json`` holds what was known when the session started (the draft
sidecar). The recorder keeps an exclusive ``flock`` on the partial file while it records.

Samples are appended as CSV rows, one ``write()`` per batch, flushed to the operating system
at every batch and fsynced at least every :data:`SYNC_SECONDS`. The file only grows, so a crash
can only cut it, and recovery keeps every complete line.

Finishing links the partial file to ``<session>.csv`` (a hard link, which fails rather than
overwrite), writes ``<session>.json`` atomically, then removes the partial files. A session
whose recorder died (kill -9, power loss, a killed kernel) is finished by
:func:`recover_sessions` as ``ended: "recovered"``, which the next recorder, ``Dataset.load``
and ``tinybench capture`` call on their dataset. Nothing with a sample in it is deleted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinybench.atomic import atomic_write, fsync_directory, stale_temporaries
from tinybench.capture.metadata import hello_from_dict, session_meta
from tinybench.capture.sessions import Session, csv_header, csv_rows, sidecar_bytes
from tinybench.capture.stream_shape import StreamShape
from tinybench.errors import CaptureError
from tinybench.wire.protocol import Sample

__all__ = [
    "DRAFT_SUFFIX",
    "PARTIAL_SUFFIX",
    "SYNC_SECONDS",
    "PartialSession",
    "recover_sessions",
]

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial.csv"
DRAFT_SUFFIX = ".partial.json"
SYNC_SECONDS = 0.5
STALE_TEMPORARY_SECONDS = 60.0
_FILE_MODE = 0o644  # before the umask, like the session files written by atomic_write


def _lock(fd: int) -> bool:
    """Take an exclusive, non-blocking ``flock`` on ``fd``; False if someone else holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no live-session check (documented in docs/data-format.md)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class PartialSession:
    """A session being recorded: its reserved name and its append-only partial CSV.

    Build one with :meth:`reserve`.

    Attributes:
        folder: The label folder.
        name: The reserved session name.
        path: The partial CSV, ``.<name>.partial.csv``.
        draft_path: The draft sidecar, ``.<name>.partial.json``.
        csv_path: Where the finished CSV goes.
        meta_path: Where the finished sidecar goes.
        rows: Sample rows written so far.
    """

    def __init__(self, folder: Path, name: str, fd: int) -> None:
        self.folder, self.name, self._fd = folder, name, fd
        self.path = folder / f".{name}{PARTIAL_SUFFIX}"
        self.draft_path = folder / f".{name}{DRAFT_SUFFIX}"
        self.csv_path = folder / f"{name}.csv"
        self.meta_path = folder / f"{name}.json"
        self.rows = 0
        self._size = 0
        self._sha = hashlib.sha256()
        self._header = False
        self._synced = time.monotonic()

    @classmethod
    def reserve(cls, folder: Path, label: str, name: str | None = None) -> PartialSession:
        """Reserve ``name`` (or the next free ``<label>-NNNN``) in ``folder``.

        Raises:
            CaptureError: ``name`` is taken by a finished or a running session.
            OSError: The folder cannot be created or written.
        """
        folder.mkdir(parents=True, exist_ok=True)
        number = None if name is not None else _next_number(folder, label)
        while True:
            candidate = name if number is None else f"{label}-{number:04d}"
            try:
                return cls._create(folder, candidate)
            except FileExistsError:
                if number is None:
                    raise CaptureError(
                        f"Session {folder / candidate}.csv already exists or is being recorded. "
                        "Give another session name, or leave session=None to number it "
                        "automatically."
                    ) from None
                number += 1

    @classmethod
    def _create(cls, folder: Path, name: str) -> PartialSession:
        final = [folder / f"{name}.csv", folder / f"{name}.json"]
        if any(p.exists() for p in final):
            raise FileExistsError(name)
        path = folder / f".{name}{PARTIAL_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, _FILE_MODE)
        # A recorder that reserved ``name`` before us may have finished it meanwhile.
        if not _lock(fd) or any(p.exists() for p in final):
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise FileExistsError(name)
        return cls(folder, name, fd)

    def write_draft(self, draft: dict[str, Any]) -> None:
        """Write what is known so far, for recovery (atomically)."""
        atomic_write(self.draft_path, sidecar_bytes(draft))

    def append(self, fields: Sequence[str], samples: Sequence[Sample]) -> None:
        """Append ``samples`` as rows (the header ``seq,t_us,<fields…>`` first, once).

        Raises:
            OSError: The write failed (disk full, file system gone); see :meth:`append_rows`.
        """
        self.append_rows(fields, csv_rows(samples) if samples else b"", len(samples))

    def append_rows(self, fields: Sequence[str], rows: bytes, count: int) -> None:
        r"""Append ``count`` CSV rows given as text, each ending in ``\n``, with one ``write()``.

        The header ``seq,t_us,<fields…>`` goes first, once. A failed write is cut back to the
        last whole row, so the file stays valid and the caller can try the same rows again.

        Raises:
            OSError: The write failed (disk full, file system gone).
        """
        data = rows if self._header else csv_header(fields) + rows
        if not data:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)
        self._sha.update(data)
        self._header = True
        self.rows += count
        if time.monotonic() - self._synced >= SYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        """Flush the partial file to the disk (``fsync``)."""
        os.fsync(self._fd)
        self._synced = time.monotonic()

    def finish(self, meta: dict[str, Any], *, checksum: bool = True) -> Session:
        """Turn the partial file into ``<name>.csv`` plus ``<name>.json``, atomically.

        If the sidecar cannot be written, the finished CSV is taken back: the partial file
        and its samples stay, to be finished again or recovered.

        Raises:
            OSError: A file could not be written.
        """
        self.sync()
        if checksum:
            meta = {**meta, "csv_sha256": self._sha.hexdigest()}
        _link_exclusive(self.path, self.csv_path)
        try:
            atomic_write(self.meta_path, sidecar_bytes(meta), mode=_FILE_MODE)
        except BaseException:
            with contextlib.suppress(OSError):
                self.csv_path.unlink()
            raise
        self._remove_partial()
        return Session.load(self.csv_path)

    def discard(self) -> None:
        """Remove the reservation of a session that received no sample."""
        if self.rows:
            raise CaptureError(f"{self.path} holds {self.rows} samples; it is not discarded.")
        self._remove_partial()

    def _remove_partial(self) -> None:
        for path in (self.path, self.draft_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        fsync_directory(self.folder)
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (and release its lock). Safe to call twice."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


def _next_number(folder: Path, label: str) -> int:
    """The number after the highest one used by a finished or partial session in ``folder``."""
    pattern = re.compile(rf"^\.?{re.escape(label)}-(\d+)(?:\.csv|\.json|\.partial\.csv)$")
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return max(numbers, default=0) + 1


def _link_exclusive(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` too, failing if ``target`` exists."""
    try:
        os.link(source, target)
    except FileExistsError:
        if not os.path.samefile(source, target):
            raise
    except OSError as exc:  # a file system without hard links
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "session exists", str(target)) from exc
        os.rename(source, target)


# -- recovery ---------------------------------------------------------------------------------


def recover_sessions(dataset_folder: str | os.PathLike[str]) -> list[Session]:
    """Finish every session whose recorder died, as ``ended: "recovered"``.

    Sessions still being recorded (their partial file is locked) are left alone. Empty
    reservations (no complete sample row) and leftover temporaries of interrupted atomic
    writes older than a minute are removed; every complete sample row is kept.

    Args:
        dataset_folder: ``data/<dataset>``.

    Returns:
        The recovered sessions.
    """
    root = Path(dataset_folder)
    if not root.is_dir():
        return []
    recovered = []
    for partial in sorted(root.glob(f"*/.*{PARTIAL_SUFFIX}")):
        try:
            session = _recover(partial)
        except (OSError, ValueError, CaptureError) as exc:
            log.error("could not recover %s: %s; it is left as it is", partial, exc)
            continue
        if session is not None:
            log.warning("recovered %s: %d samples", session.path, session.samples)
            recovered.append(session)
    for folder in (p for p in root.iterdir() if p.is_dir()):
        _remove_leftovers(folder)
    return recovered


def _remove_leftovers(folder: Path) -> None:
    now = time.time()
    for temp in stale_temporaries(folder):
        with contextlib.suppress(OSError):
            if now - temp.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                temp.unlink()
    for draft in folder.glob(f".*{DRAFT_SUFFIX}"):
        if not draft.with_name(draft.name[: -len(DRAFT_SUFFIX)] + PARTIAL_SUFFIX).exists():
            with contextlib.suppress(OSError):
                draft.unlink()  # its session was finished; only the clean-up was cut short


def _recover(partial: Path) -> Session | None:
    try:
        fd = os.open(partial, os.O_RDWR)
    except FileNotFoundError:
        return None  # finished meanwhile
    try:
        if not _lock(fd) or not _same_file(fd, partial):
            return None  # still being recorded, or finished meanwhile
        rows = _whole_rows(fd)
        return _finish_recovered(partial, rows)
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False


def _whole_rows(fd: int) -> list[bytes]:
    """Read the partial file, cut it after its last complete, well-formed row; return rows."""
    data = b""
    while chunk := os.read(fd, 1 << 20):
        data += chunk
    lines = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
    width = lines[0].count(b",") + 1 if lines else 0
    good = 1 if lines else 0
    while good < len(lines) and _row(lines[good], width) is not None:
        good += 1
    keep = sum(len(line) + 1 for line in lines[:good])
    if keep < len(data):
        os.ftruncate(fd, keep)
    return lines[:good]


def _row(line: bytes, width: int) -> Sample | None:
    cells = line.split(b",")
    if len(cells) != width or width < 3:
        return None
    try:
        seq = int(cells[0]) if cells[0] else None
        t_us = int(cells[1]) if cells[1] else None
        return Sample(seq, t_us, tuple(float(c) for c in cells[2:]))
    except ValueError:
        return None


def _finish_recovered(partial: Path, rows: list[bytes]) -> Session | None:
    folder = partial.parent
    name = partial.name[1 : -len(PARTIAL_SUFFIX)]
    csv_path, meta_path = folder / f"{name}.csv", folder / f"{name}.json"
    draft_path = folder / f".{name}{DRAFT_SUFFIX}"
    if csv_path.exists() and meta_path.exists() and os.path.samefile(partial, csv_path):
        done = None  # finished; only the clean-up was cut short
    elif len(rows) < 2:
        log.warning("removing %s: an empty reservation without any sample", partial)
        done = None
    else:
        draft = _read_draft(draft_path, folder, name)
        shape = StreamShape(hello_from_dict(draft.get("hello")))
        shape.header = tuple(rows[0].decode("ascii").split(",")[2:])
        width = len(shape.header)
        for line in rows[1:]:
            sample = _row(line, width + 2)
            assert sample is not None  # _whole_rows kept only rows that parse
            shape.add(sample)
        meta = session_meta(
            draft,
            shape,
            ended="recovered",
            dropped=None,
            error="the recorder stopped without finishing this session (killed, crashed or "
            "powered off); every complete row was kept, dropped-line counts are unknown",
        )
        _link_exclusive(partial, csv_path)
        meta["csv_sha256"] = hashlib.sha256(csv_path.read_bytes()).hexdigest()
        atomic_write(meta_path, sidecar_bytes(meta), mode=_FILE_MODE)
        done = csv_path
    for path in (partial, draft_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    fsync_directory(folder)
    return Session.load(done) if done is not None else None


def _read_draft(path: Path, folder: Path, name: str) -> dict[str, Any]:
    """The draft sidecar, or what the folder names tell when it is missing or damaged."""
    with contextlib.suppress(OSError, ValueError):
        draft = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(draft, dict) and {"dataset", "label", "session", "started_at"} <= set(draft):
            return draft
    started = datetime.fromtimestamp(path.parent.stat().st_mtime, UTC)
    return {
        "dataset": folder.parent.name,
        "label": folder.name,
        "session": name,
        "started_at": started.isoformat(timespec="seconds"),
    }
