"""Atomic writes: a file or a whole folder is either absent, the old one, or complete.

Every writer in tinybench (session files, export folders, sweep cache entries, rendered
sketches) goes through this module, so there is one rule for temporary names and clean-up:

- temporary names are unique (``.<name>.<random>.tmp``), so concurrent writers never share one;
- a temporary file or folder is removed when the write fails or is interrupted;
- the rename is atomic (``os.replace`` for files, ``os.rename`` for folders), and the parent
  folder is fsynced afterwards so the rename survives a power loss.

A kill -9 between creating a temporary and renaming it can still leave a ``.tmp`` behind:
:func:`stale_temporaries` finds them so that their owners can recover or remove them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TEMP_SUFFIX",
    "atomic_directory",
    "atomic_write",
    "fsync_directory",
    "is_temporary",
    "stale_temporaries",
    "temporary_name",
]

TEMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """Return a unique hidden temporary path beside ``path`` (``.<name>.<random>.tmp``)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is named like a :func:`temporary_name` (a write in progress or cut)."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def fsync_directory(folder: Path) -> None:
    """Flush a folder's entries to disk, where the OS allows it (a no-op elsewhere)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644) -> bool:
    """Write ``data`` to ``path`` atomically; skip the write when the file already holds it.

    Args:
        path: The file to write. Its folder must exist.
        data: Bytes, or text that is written as UTF-8.
        mode: Permission bits before the umask is applied (like ``open()``'s 0o666 default,
            but not executable or world-writable).

    Returns:
        ``True`` if the file was written, ``False`` if it already held ``data``.

    Raises:
        OSError: The folder is missing or not writable; nothing is left behind.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with contextlib.suppress(OSError):
        if target.stat().st_size == len(payload) and target.read_bytes() == payload:
            return False
    temp = temporary_name(target)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_directory(target.parent)
    return True


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place as one unit.

    Use it as ``with atomic_directory(out) as tmp: write files into tmp``. On a clean exit the
    old folder (if any) is swapped out and removed, and ``tmp`` takes its name; on an error or
    an interrupt the temporary folder is removed and the old folder is left untouched.

    Args:
        path: The final folder. Its parent is created if needed.

    Yields:
        The temporary folder to fill.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temporary_name(target)
    temp.mkdir()
    try:
        yield temp
        _swap_into_place(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    fsync_directory(target.parent)


def _swap_into_place(temp: Path, target: Path) -> None:
    """Rename ``temp`` to ``target``, replacing an existing folder with one short window."""
    if not target.exists():
        os.rename(temp, target)
        return
    old = temporary_name(target)
    os.rename(target, old)
    try:
        os.rename(temp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Return the temporaries that interrupted atomic writes left in ``folder`` (not recursive)."""
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if is_temporary(p))
