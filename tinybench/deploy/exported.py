"""An export folder as one unit: what it holds, and reading it back with every file checked.

:func:`tinybench.deploy.export.export_model` writes six files into one folder, renamed into
place together. ``model_settings.json`` is the manifest: it names the model's SHA-256 and the
SHA-256 of every other file. :func:`load_exported` and :func:`read_export_file` check each file
against it, and the C array in ``model_data.cpp`` and ``model.tflite`` against the model's
SHA-256, so a folder holding files of two models (a half-copied folder, a hand edit) is refused
with the names of the files that do not belong.

This module never imports TensorFlow, and imports nothing else from :mod:`tinybench.deploy`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.errors import ExportError
from tinybench.measure.model_info import TensorInfo

__all__ = [
    "EXPORT_FILES",
    "EXPORT_FORMAT",
    "MODEL_DATA_CPP",
    "MODEL_DATA_H",
    "MODEL_SETTINGS_H",
    "MODEL_TFLITE",
    "OP_RESOLVER_H",
    "SETTINGS_JSON",
    "ExportedModel",
    "load_exported",
    "read_export_file",
    "settings_json",
    "verify_export",
]

EXPORT_FORMAT = "tinybench-export/2"
"""Format of ``model_settings.json``; version 2 added the per-file SHA-256 manifest."""

MODEL_DATA_H = "model_data.h"
MODEL_DATA_CPP = "model_data.cpp"
MODEL_SETTINGS_H = "model_settings.h"
OP_RESOLVER_H = "op_resolver.h"
MODEL_TFLITE = "model.tflite"
SETTINGS_JSON = "model_settings.json"
EXPORT_FILES = (MODEL_DATA_H, MODEL_DATA_CPP, MODEL_SETTINGS_H, OP_RESOLVER_H)
"""The C++ files a sketch compiles, in the order they are written."""

_MAX_SETTINGS_BYTES = 1024 * 1024
_HEX_BYTE = re.compile(r"0x([0-9a-fA-F]{2})\b")
_AGAIN = "Export the model again with tinybench.export_model()."


def _export_path(name: str, what: str) -> property:
    """A read-only :class:`ExportedModel` property: the path of file ``name`` in ``out_dir``."""

    def path(self: ExportedModel) -> Path:
        return self.out_dir / name

    return property(path, doc=f"``{name}``: {what}.")


@dataclass(frozen=True)
class ExportedModel:
    """A model exported as C++ source, with the figures a sketch and the virtual board need.

    Attributes:
        out_dir: The folder holding every file below.
        name: C identifier of the model; the array is ``g_<name>_model_data``.
        labels: Output labels in score order (empty for models without labels).
        op_names: Builtin op names the resolver registers, sorted.
        input: The input tensor: shape, dtype (``"int8"``, ``"float32"``…), scale and zero
            point (scale 0.0 for float inputs); ``input.nbytes`` is the payload of a ``v``
            command.
        output: The output tensor; ``output.nbytes`` is the data of an ``o`` line.
        window: Samples per inference window, or ``None`` when the model does not take one.
        sample_rate_hz: Sample rate the model was trained at, or ``None``.
        normalization: ``{"mean": [...], "std": [...]}`` (plus ``"fields"`` when known) applied
            to the raw samples before quantization, or ``None``.
        model_bytes: Length of the flatbuffer: exactly what the C array holds in flash.
        arena_bytes: Tensor arena TFLM needs, from :func:`tinybench.measure.arena.arena_needed`.
        arena_size: ``kTensorArenaSize``, from
            :func:`tinybench.measure.arena.tensor_arena_size`.
        sha256: SHA-256 of the flatbuffer.
        variant: Name of the variant the model came from, if it came from one.
        file_sha256: ``(file name, SHA-256)`` of every file but ``model_settings.json``.
    """

    out_dir: Path
    name: str
    labels: tuple[str, ...]
    op_names: tuple[str, ...]
    input: TensorInfo
    output: TensorInfo
    window: int | None
    sample_rate_hz: float | None
    normalization: dict[str, list[Any]] | None
    model_bytes: int
    arena_bytes: int
    arena_size: int
    sha256: str
    variant: str | None = None
    file_sha256: tuple[tuple[str, str], ...] = ()

    model_data_h = _export_path(MODEL_DATA_H, "declarations of the array and its length")
    model_data_cpp = _export_path(MODEL_DATA_CPP, "the array itself")
    model_settings_h = _export_path(
        MODEL_SETTINGS_H, "labels, quantization, window, rate, normalization, arena"
    )
    op_resolver_h = _export_path(
        OP_RESOLVER_H, "the ``MicroMutableOpResolver`` with exactly the model's ops"
    )
    tflite_path = _export_path(MODEL_TFLITE, "the flatbuffer")
    settings_json = _export_path(
        SETTINGS_JSON, "the manifest and machine-readable twin of the header"
    )

    @property
    def source_files(self) -> tuple[Path, ...]:
        """The C++ files a sketch compiles, in the order they are written."""
        return tuple(self.out_dir / name for name in EXPORT_FILES)

    @property
    def tflite(self) -> bytes:
        """The flatbuffer from ``model.tflite``, as a ``Variant`` holds it (see read_tflite)."""
        return self.read_tflite()

    def read_tflite(self) -> bytes:
        """Return the flatbuffer from ``model.tflite``, checked against the recorded SHA-256.

        Raises:
            ExportError: The file is missing or changed since the export.
        """
        return read_export_file(self, MODEL_TFLITE)


def read_export_file(exported: ExportedModel, name: str) -> bytes:
    """Return one file of an export, checked against the export's manifest.

    Args:
        exported: The export.
        name: A file name from the manifest, e.g. ``"model_data.cpp"``.

    Raises:
        ExportError: The file is missing, unreadable, or holds other bytes than the export
            wrote (it belongs to another model, or was edited).
    """
    path = exported.out_dir / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ExportError(
            f"The export at {str(exported.out_dir)!r} is incomplete: {name} missing. {_AGAIN}"
        ) from None
    except OSError as exc:
        raise ExportError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from None
    expected = dict(exported.file_sha256).get(name)
    if name == MODEL_TFLITE:
        expected = exported.sha256
    digest = hashlib.sha256(data).hexdigest()
    if expected is None or digest != expected:
        raise ExportError(
            f"{str(path)!r} changed since it was exported: it does not belong to the model "
            f"{exported.name!r} described by {SETTINGS_JSON} (SHA-256 {digest[:12]}…, expected "
            f"{(expected or 'none recorded')[:12]}…). The folder mixes files of two exports. "
            f"{_AGAIN}"
        )
    return data


def verify_export(exported: ExportedModel) -> None:
    """Check that every file of ``exported`` belongs to it, and the C array is the model.

    Raises:
        ExportError: A file is missing, or belongs to another model; the message names each.
    """
    problems = []
    for name in (*EXPORT_FILES, MODEL_TFLITE):
        try:
            data = read_export_file(exported, name)
        except ExportError as exc:
            problems.append(str(exc).split(". ")[0])
            continue
        if name == MODEL_DATA_CPP:
            array = bytes(int(h, 16) for h in _HEX_BYTE.findall(data.decode("ascii", "replace")))
            if hashlib.sha256(array).hexdigest() != exported.sha256:
                problems.append(f"the C array in {name} is not the model {exported.sha256[:12]}…")
    if problems:
        raise ExportError(
            f"The export at {str(exported.out_dir)!r} does not hold one model: "
            f"{'; '.join(problems)}. {_AGAIN}"
        )


def load_exported(out_dir: str | os.PathLike[str]) -> ExportedModel:
    """Read an export folder written by :func:`~tinybench.deploy.export.export_model`.

    Every file is checked against the SHA-256 manifest in ``model_settings.json``.

    Raises:
        ExportError: The folder, ``model_settings.json`` or another file is missing, the JSON is
            not an export's, or a file belongs to another model.
    """
    folder = Path(out_dir)
    settings_path = folder / SETTINGS_JSON
    if not settings_path.is_file():
        what = "folder" if not folder.is_dir() else f"{SETTINGS_JSON} in the folder"
        raise ExportError(
            f"No exported model at {str(folder)!r}: the {what} is missing. Export one with "
            "tinybench.export_model(model, out_dir) (or `tinybench export model.tflite --out "
            "DIR`)."
        )
    try:
        exported = _from_settings(folder, _read_settings(settings_path))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportError(
            f"{settings_path} is not a tinybench export ({type(exc).__name__}: {exc}). {_AGAIN}"
        ) from None
    verify_export(exported)
    return exported


def _read_settings(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        raw = file.read(_MAX_SETTINGS_BYTES + 1)
    if len(raw) > _MAX_SETTINGS_BYTES:
        raise ValueError(f"the file is larger than {_MAX_SETTINGS_BYTES:,} bytes")
    settings = json.loads(raw.decode("utf-8"))
    if settings.get("format") != EXPORT_FORMAT:
        raise ValueError(f"format is {settings.get('format')!r}, expected {EXPORT_FORMAT!r}")
    return settings


def _from_settings(folder: Path, settings: dict[str, Any]) -> ExportedModel:
    arena = settings["arena"]
    files = settings["files"]
    if not isinstance(files, dict) or set(files) != {*EXPORT_FILES, MODEL_TFLITE}:
        raise ValueError(f"files is {files!r}, expected the SHA-256 of each exported file")
    return ExportedModel(
        out_dir=folder,
        name=str(settings["name"]),
        labels=tuple(str(label) for label in settings["labels"]),
        op_names=tuple(str(op) for op in settings["ops"]),
        input=_tensor_from_settings(settings["input"]),
        output=_tensor_from_settings(settings["output"]),
        window=None if settings["window"] is None else int(settings["window"]),
        sample_rate_hz=None if settings["rate_hz"] is None else float(settings["rate_hz"]),
        normalization=settings["normalization"],
        model_bytes=int(settings["model_bytes"]),
        arena_bytes=int(arena["measured_bytes"]),
        arena_size=int(arena["bytes"]),
        sha256=str(settings["sha256"]),
        variant=settings.get("variant"),
        file_sha256=tuple(sorted((str(k), str(v)) for k, v in files.items())),
    )


def settings_json(exported: ExportedModel, reported_bytes: int, margin: int) -> str:
    """Return the text of ``model_settings.json`` for ``exported`` (its manifest included).

    Args:
        exported: The export, with ``file_sha256`` filled in.
        reported_bytes: The arena TFLM reported ("Arena allocation total").
        margin: The margin added for ``kTensorArenaSize``.
    """
    from tinybench import __version__

    settings = {
        "format": EXPORT_FORMAT,
        "name": exported.name,
        "variant": exported.variant,
        "sha256": exported.sha256,
        "model_bytes": exported.model_bytes,
        "labels": list(exported.labels),
        "input": dataclasses.asdict(exported.input) | {"shape": list(exported.input.shape)},
        "output": dataclasses.asdict(exported.output) | {"shape": list(exported.output.shape)},
        "window": exported.window,
        "rate_hz": exported.sample_rate_hz,
        "normalization": exported.normalization,
        "arena": {
            "measured_bytes": exported.arena_bytes,
            "reported_bytes": reported_bytes,
            "margin_bytes": margin,
            "bytes": exported.arena_size,
        },
        "ops": list(exported.op_names),
        "files": dict(exported.file_sha256),
        "tinybench_version": __version__,
    }
    return json.dumps(settings, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _tensor_from_settings(tensor: dict[str, Any]) -> TensorInfo:
    """The ``"input"`` or ``"output"`` entry of ``model_settings.json`` as a TensorInfo.

    Older exports recorded only shape, dtype, scale and zero point; the rest takes defaults.
    """
    return TensorInfo(
        name=str(tensor.get("name", "")),
        shape=tuple(int(d) for d in tensor["shape"]),
        dtype=str(tensor["dtype"]),
        scale=float(tensor["scale"]),
        zero_point=int(tensor["zero_point"]),
        per_channel=bool(tensor.get("per_channel", False)),
        index=int(tensor.get("index", -1)),
    )
