"""The one way to get a model's ``.tflite`` bytes, whatever the caller holds.

:func:`model_bytes` accepts the bytes themselves, the path of a ``.tflite`` file, the path of an
export folder holding ``model.tflite``, or any object with a ``tflite`` attribute holding the
bytes (a ``Variant``, an ``ExportedModel``). It duck-types that attribute so that measure never
imports optimize or deploy.

Every read is capped at :data:`MAX_MODEL_BYTES` (16 MiB). The largest reference model is
333 KB and the largest board tinybench knows has a few MB of flash, so a bigger "model" is a
mistake, not a model: ``tinybench profile /dev/zero`` fails after reading 16 MiB instead of
filling the memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinybench.errors import ModelError

__all__ = ["EXPORTED_TFLITE", "MAX_MODEL_BYTES", "model_bytes", "read_capped"]

MAX_MODEL_BYTES = 16 * 1024 * 1024
"""Largest model tinybench reads: 16 MiB, about 50 times the largest reference model (333 KB)
and several times the flash of any board tinybench knows."""

EXPORTED_TFLITE = "model.tflite"
"""Name of the flatbuffer inside an export folder."""

_ACCEPTED = (
    "Pass .tflite bytes, the path of a .tflite file or of an export folder holding "
    "model.tflite, or a Variant."
)


def model_bytes(model: Any) -> bytes:
    """Return the ``.tflite`` bytes of ``model``, read from disk at most once.

    Args:
        model: Bytes (``bytes``, ``bytearray`` or ``memoryview``), a path (``str`` or
            ``os.PathLike``) of a ``.tflite`` file or of an export folder holding
            ``model.tflite``, or an object whose ``tflite`` attribute holds the bytes.

    Returns:
        The bytes, not yet checked to be a flatbuffer (see
        :func:`tinybench.measure.flatbuffer.load_model`).

    Raises:
        ModelError: ``model`` is none of those, the file is missing or unreadable, or the
            bytes are empty or larger than :data:`MAX_MODEL_BYTES`.
    """
    if isinstance(model, str | os.PathLike):
        return read_capped(model)
    data = getattr(model, "tflite", model)
    if not isinstance(data, bytes | bytearray | memoryview):
        kind = type(model).__name__
        where = "" if data is model else f" (its tflite attribute is a {type(data).__name__})"
        raise ModelError(f"Cannot read a model from a {kind}{where}. {_ACCEPTED}")
    return _checked(bytes(data), "The model")


def read_capped(path: str | os.PathLike[str]) -> bytes:
    """Read a model file (or an export folder's ``model.tflite``), at most the cap.

    Raises:
        ModelError: The file is missing, unreadable, empty or larger than the cap.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / EXPORTED_TFLITE).is_file():
            raise ModelError(f"{str(path)!r} is a folder without {EXPORTED_TFLITE}. {_ACCEPTED}")
        path = path / EXPORTED_TFLITE
    try:
        with path.open("rb") as file:
            data = file.read(MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        raise ModelError(f"No model file at {str(path)!r}. {_ACCEPTED}") from None
    except OSError as exc:
        raise ModelError(
            f"Cannot read the model file {str(path)!r}: {exc.strerror or exc}. {_ACCEPTED}"
        ) from None
    return _checked(data, f"The model file {str(path)!r}")


def _checked(data: bytes, what: str) -> bytes:
    if not data:
        raise ModelError(
            f"{what} is empty (0 bytes). Convert the model again, or pass a non-empty .tflite file."
        )
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(
            f"{what} is larger than {MAX_MODEL_BYTES:,} bytes (16 MiB), the most tinybench reads: "
            "no microcontroller model is that big. Pass a .tflite file, not a device or an "
            "archive."
        )
    return data
