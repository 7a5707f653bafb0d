"""Export a ``.tflite`` model as C++ source for a sketch, with its settings and op resolver.

:func:`export_model` writes six files into one folder, as one unit:

- ``model_data.h`` / ``model_data.cpp``: the flatbuffer as an ``alignas(16) const unsigned
  char`` array (in flash: ``const`` data stays in ROM on Cortex-M, and ``PROGMEM`` keeps it
  there on AVR) and its length;
- ``model_settings.h``: labels as escaped C string literals, input shape, input and output
  scale and zero point, window, sample rate, normalization and ``kTensorArenaSize``
  (:func:`tinybench.measure.arena.tensor_arena_size`, the rule the budget uses too);
- ``op_resolver.h``: a ``tflite::MicroMutableOpResolver<N>`` registering exactly the model's
  ``N`` ops;
- ``model.tflite``: the bytes themselves;
- ``model_settings.json``: the machine-readable twin of ``model_settings.h`` and the manifest
  (the SHA-256 of every file) that :func:`~tinybench.deploy.exported.load_exported` checks.

The folder is built under a temporary name and renamed into place
(:func:`tinybench.atomic.atomic_directory`), so it holds the old export or the new one, never a
mix. A file whose content did not change keeps its modification time, so build caches stay
warm. The C++ text comes from :mod:`tinybench.deploy.c_source`. This module never imports
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinybench.atomic import atomic_directory, atomic_write, is_temporary
from tinybench.deploy.c_source import (
    model_data_header,
    model_data_source,
    model_settings_header,
    op_resolver_header,
)
from tinybench.deploy.export_inputs import (
    check_name,
    check_out_dir,
    resolve_labels,
    resolve_normalization,
    resolve_rate,
    resolve_window,
    variant_name,
    variant_of,
)
from tinybench.deploy.exported import (
    EXPORT_FILES,
    MODEL_DATA_CPP,
    MODEL_DATA_H,
    MODEL_SETTINGS_H,
    MODEL_TFLITE,
    OP_RESOLVER_H,
    SETTINGS_JSON,
    ExportedModel,
    settings_json,
)
from tinybench.errors import ExportError, ModelError, ProfileError, UnsupportedOpError
from tinybench.measure.arena import SKETCH_ARENA_MARGIN, arena_needed, tensor_arena_size

__all__ = ["export_model"]

_EXPORT_NAMES = frozenset({*EXPORT_FILES, MODEL_TFLITE, SETTINGS_JSON})


def export_model(
    model: Any,
    out_dir: str | os.PathLike[str],
    name: str = "model",
    *,
    labels: Sequence[str] | None = None,
    window: int | None = None,
    sample_rate_hz: float | None = None,
    normalization: Any = None,
    arena_margin: int = SKETCH_ARENA_MARGIN,
) -> ExportedModel:
    """Write a model as C++ source files for a sketch, and its settings, into ``out_dir``.

    Args:
        model: A ``Variant`` (anything with a ``tflite`` attribute holding the bytes, and
            optionally ``labels``, ``normalization``, ``input_window`` or ``window``,
            ``rate_hz`` or ``sample_rate_hz``, ``name`` and ``runnable_on_mcu``/``reason``),
            the ``.tflite`` bytes, or the path of a ``.tflite`` file.
        out_dir: Folder for the files; created if missing. An existing folder is replaced as a
            whole, so it must hold nothing but an earlier export.
        name: C identifier of the model: the array is ``g_<name>_model_data``.
        labels: Output labels in score order; defaults to the variant's labels. Each must
            survive the serial protocol's hello line (printable ASCII, no spaces, ``,``,
            ``=`` or ``*``).
        window: Samples per inference window; defaults to the variant's, then to the second
            dimension of a ``(1, window, fields)`` input.
        sample_rate_hz: Sample rate the model was trained at; defaults to the variant's.
        normalization: ``(x - mean) / std`` applied to raw samples before quantization: a
            ``tinybench.dataset.loading.Normalization``, a dict with ``mean`` and ``std``, or
            ``None`` (the variant's).
        arena_margin: Bytes reserved beyond the measured arena for ``kTensorArenaSize``.

    Returns:
        The :class:`~tinybench.deploy.exported.ExportedModel` describing the files.

    Raises:
        ExportError: ``name`` is not a C identifier, ``out_dir`` is empty or holds other
            files, the model is not runnable on a microcontroller, a label cannot cross the
            protocol, the labels or normalization do not fit it, or a write failed (the old
            export, if any, is left as it was).
        ModelError: The bytes are not a readable ``.tflite`` flatbuffer.
        UnsupportedOpError: The model uses ops TensorFlow Lite Micro lacks.
    """
    check_name(name)
    out = check_out_dir(out_dir)
    _check_margin(arena_margin)
    data, variant, info = _read(model)
    exported = _describe(data, variant, info, out_dir=out, name=name)
    exported = dataclasses.replace(
        exported,
        labels=resolve_labels(labels, variant, _outputs(info)),
        window=resolve_window(window, variant, exported.input.shape),
        sample_rate_hz=resolve_rate(sample_rate_hz, variant),
        normalization=resolve_normalization(normalization, variant),
    )
    reported, required = _arena(data)
    exported = dataclasses.replace(
        exported,
        arena_bytes=arena_needed(reported, required) or 0,
        arena_size=tensor_arena_size(reported, required, margin=arena_margin),
    )
    files, exported = _render(exported, data, info.resolver_methods, reported, arena_margin)
    _write_folder(out, files)
    return exported


def _check_margin(arena_margin: Any) -> None:
    if isinstance(arena_margin, bool) or not isinstance(arena_margin, int) or arena_margin < 0:
        raise ExportError(
            f"arena_margin must be a whole number of bytes >= 0, got {arena_margin!r}. "
            f"The default is {SKETCH_ARENA_MARGIN}."
        )


def _describe(data: bytes, variant: Any, info: Any, *, out_dir: Path, name: str) -> ExportedModel:
    """Return what the model itself says: its tensors and ops; settings and arena come later."""
    try:
        model_input, model_output = info.single_io()
    except ProfileError as exc:
        raise ExportError(str(exc)) from exc
    return ExportedModel(
        out_dir=out_dir,
        name=name,
        labels=(),
        op_names=tuple(info.op_names),
        input=model_input,
        output=model_output,
        window=None,
        sample_rate_hz=None,
        normalization=None,
        model_bytes=len(data),
        arena_bytes=0,
        arena_size=0,
        sha256=hashlib.sha256(data).hexdigest(),
        variant=variant_name(variant),
    )


def _outputs(info: Any) -> int:
    return int(info.outputs[0].size)


def _read(model: Any) -> tuple[bytes, Any, Any]:
    """Return the flatbuffer, the variant it came from (or ``None``) and its model info."""
    from tinybench.measure import model_bytes, read_model

    variant = variant_of(model)
    data = model_bytes(model)
    try:
        info = read_model(data)
    except (UnsupportedOpError, ModelError):
        raise
    except ProfileError as exc:
        raise ExportError(str(exc)) from exc
    info.check_tflm_ops()
    return data, variant, info


def _arena(data: bytes) -> tuple[int, int]:
    """Return the arena TFLM reports and the smallest that allocates, measured on the host."""
    from tinybench.measure import arena_report

    try:
        report = arena_report(data)
    except (UnsupportedOpError, ModelError):  # TFLM refusing damaged bytes stays a ModelError
        raise
    except ProfileError as exc:
        raise ExportError(
            f"TensorFlow Lite Micro cannot run this model, so it cannot be exported for a "
            f"microcontroller: {exc}"
        ) from exc
    return report.reported_bytes, report.required_bytes


def _render(
    exported: ExportedModel, data: bytes, methods: Sequence[str], reported: int, margin: int
) -> tuple[dict[str, bytes], ExportedModel]:
    """Return every file's bytes, and the export with its SHA-256 manifest filled in."""
    texts = {
        MODEL_DATA_H: model_data_header(exported),
        MODEL_DATA_CPP: model_data_source(exported, data),
        MODEL_SETTINGS_H: model_settings_header(exported),
        OP_RESOLVER_H: op_resolver_header(exported, methods),
    }
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    files[MODEL_TFLITE] = data
    manifest = tuple(sorted((n, hashlib.sha256(b).hexdigest()) for n, b in files.items()))
    exported = dataclasses.replace(exported, file_sha256=manifest)
    files[SETTINGS_JSON] = settings_json(exported, reported, margin).encode("utf-8")
    return files, exported


def _write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Build the export under a temporary name and rename it into place as one unit."""
    _refuse_foreign_files(out)
    try:
        with atomic_directory(out) as temp:
            for name, data in files.items():
                atomic_write(temp / name, data)
                _keep_mtime_if_unchanged(out / name, temp / name, data)
    except OSError as exc:
        raise ExportError(
            f"Cannot write the export folder {str(out)!r}: {exc.strerror or exc}. Nothing was "
            "changed there. Pass a folder you can write to."
        ) from None


def _refuse_foreign_files(out: Path) -> None:
    """Refuse to replace a folder that holds anything but an export (``--out .``, a typo)."""
    if not out.is_dir():
        return
    foreign = sorted(
        p.name for p in out.iterdir() if p.name not in _EXPORT_NAMES and not is_temporary(p)
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise ExportError(
            f"The export folder {str(out)!r} holds other files ({shown}). An export replaces "
            "its folder as a whole, so pass a new or empty folder, or one holding only an "
            "earlier export, for example 'build/export/gesture'."
        )


def _keep_mtime_if_unchanged(old: Path, new: Path, data: bytes) -> None:
    try:
        if old.stat().st_size == len(data) and old.read_bytes() == data:
            stat = old.stat()
            os.utime(new, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    except OSError:
        pass  # no old file: the new one is new
