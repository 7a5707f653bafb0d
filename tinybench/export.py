"""Export a ``.tflite`` model as C++ source for a sketch, with its settings and op resolver.

:func:`export_model` writes six files into one folder:

- ``model_data.h`` / ``model_data.cpp``: the flatbuffer as an ``alignas(16) const unsigned
  char`` array (in flash: ``const`` data stays in ROM on Cortex-M, and ``PROGMEM`` keeps it
  there on AVR) and its length;
- ``model_settings.h``: labels as escaped C string literals, input shape, input and output
  scale and zero point, window, sample rate, normalization and ``kTensorArenaSize``, the arena
  measured in the TFLM interpreter plus a margin;
- ``op_resolver.h``: a ``tflite::MicroMutableOpResolver<N>`` registering exactly the model's
  ``N`` ops;
- ``model.tflite``: the bytes themselves;
- ``model_settings.json``: the machine-readable twin of ``model_settings.h``, which
  :func:`load_exported` (and so the virtual board) reads back.

The C++ text of the first four comes from :mod:`tinybench.c_source`. Files whose content did
not change are not rewritten, so arduino-cli's build cache stays warm. This module never imports
TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.c_source import (
    EXPORT_FILES,
    MODEL_DATA_CPP,
    MODEL_DATA_H,
    MODEL_SETTINGS_H,
    OP_RESOLVER_H,
    c_string_literal,
    model_data_header,
    model_data_source,
    model_settings_header,
    op_resolver_header,
)
from tinybench.errors import ExportError, ProfileError, UnsupportedOpError

__all__ = [
    "DEFAULT_ARENA_MARGIN",
    "EXPORT_FILES",
    "ExportedModel",
    "c_string_literal",
    "export_model",
    "load_exported",
]

EXPORT_FORMAT = "tinybench-export/1"
DEFAULT_ARENA_MARGIN = 1024
"""Bytes added to the measured arena. The measurement is made on the 64-bit host, which needs
more than a 32-bit microcontroller for TFLM's own structs; the margin covers the scratch buffers
that optimized kernels (CMSIS-NN) may ask for on the board."""
ALIGNMENT = 16

MODEL_TFLITE = "model.tflite"
SETTINGS_JSON = "model_settings.json"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TFLITE_IDENTIFIER = b"TFL3"
_ELEMENT_BYTES = {
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "int16": 2,
    "float16": 2,
    "int32": 4,
    "uint32": 4,
    "float32": 4,
    "int64": 8,
    "float64": 8,
}


@dataclass(frozen=True)
class ExportedModel:
    """A model exported as C++ source, with the figures a sketch and the virtual board need.

    Attributes:
        out_dir: The folder holding every file below.
        name: C identifier of the model; the array is ``g_<name>_model_data``.
        labels: Output labels in score order (empty for models without labels).
        op_names: Builtin op names the resolver registers, sorted.
        input_shape: Shape of the input tensor.
        input_dtype: Input dtype name (``"int8"``, ``"float32"``…).
        input_scale: Input quantization scale (0.0 for float inputs).
        input_zero_point: Input quantization zero point.
        output_shape: Shape of the output tensor.
        output_dtype: Output dtype name.
        output_scale: Output quantization scale (0.0 for float outputs).
        output_zero_point: Output quantization zero point.
        window: Samples per inference window, or ``None`` when the model does not take one.
        sample_rate_hz: Sample rate the model was trained at, or ``None``.
        normalization: ``{"mean": [...], "std": [...]}`` (plus ``"fields"`` when known) applied
            to the raw samples before quantization, or ``None``.
        model_bytes: Length of the flatbuffer: exactly what the C array holds in flash.
        arena_bytes: Tensor arena the TFLM interpreter needed on the host (the larger of its
            allocation report and the smallest arena that allocates and invokes).
        arena_size: ``kTensorArenaSize``: ``arena_bytes`` plus the alignment and the margin,
            rounded up to 16.
        sha256: SHA-256 of the flatbuffer.
        variant: Name of the variant the model came from, if it came from one.
    """

    out_dir: Path
    name: str
    labels: tuple[str, ...]
    op_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_dtype: str
    output_scale: float
    output_zero_point: int
    window: int | None
    sample_rate_hz: float | None
    normalization: dict[str, list[Any]] | None
    model_bytes: int
    arena_bytes: int
    arena_size: int
    sha256: str
    variant: str | None = None

    @property
    def model_data_h(self) -> Path:
        """``model_data.h``: declarations of the array and its length."""
        return self.out_dir / MODEL_DATA_H

    @property
    def model_data_cpp(self) -> Path:
        """``model_data.cpp``: the array itself."""
        return self.out_dir / MODEL_DATA_CPP

    @property
    def model_settings_h(self) -> Path:
        """``model_settings.h``: labels, quantization, window, rate, normalization, arena."""
        return self.out_dir / MODEL_SETTINGS_H

    @property
    def op_resolver_h(self) -> Path:
        """``op_resolver.h``: the ``MicroMutableOpResolver`` with exactly the model's ops."""
        return self.out_dir / OP_RESOLVER_H

    @property
    def tflite_path(self) -> Path:
        """``model.tflite``: the flatbuffer."""
        return self.out_dir / MODEL_TFLITE

    @property
    def settings_json(self) -> Path:
        """``model_settings.json``: the machine-readable twin of ``model_settings.h``."""
        return self.out_dir / SETTINGS_JSON

    @property
    def source_files(self) -> tuple[Path, ...]:
        """The C++ files a sketch compiles, in the order they are written."""
        return tuple(self.out_dir / name for name in EXPORT_FILES)

    @property
    def input_bytes(self) -> int:
        """Bytes of the input tensor: the length of the payload of a ``v`` command."""
        return math.prod(self.input_shape) * _ELEMENT_BYTES.get(self.input_dtype, 1)

    @property
    def output_bytes(self) -> int:
        """Bytes of the output tensor: the length of the data of an ``o`` line."""
        return math.prod(self.output_shape) * _ELEMENT_BYTES.get(self.output_dtype, 1)

    @property
    def tflite(self) -> bytes:
        """The flatbuffer from ``model.tflite``, as a ``Variant`` holds it (see read_tflite)."""
        return self.read_tflite()

    def read_tflite(self) -> bytes:
        """Return the flatbuffer from ``model.tflite``, checked against the recorded SHA-256.

        Raises:
            ExportError: The file is missing or changed since the export.
        """
        data = _read_file(self.tflite_path)
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise ExportError(
                f"{self.tflite_path} changed since it was exported (SHA-256 {digest[:12]}…, "
                f"expected {self.sha256[:12]}…). Export the model again with export_model()."
            )
        return data


def export_model(
    model: Any,
    out_dir: str | os.PathLike[str],
    name: str = "model",
    *,
    labels: Sequence[str] | None = None,
    window: int | None = None,
    sample_rate_hz: float | None = None,
    normalization: Any = None,
    arena_margin: int = DEFAULT_ARENA_MARGIN,
) -> ExportedModel:
    """Write a model as C++ source files for a sketch, and its settings, into ``out_dir``.

    Args:
        model: A ``Variant`` (anything with a ``tflite`` attribute holding the bytes, and
            optionally ``labels``, ``normalization``, ``input_window`` or ``window``,
            ``rate_hz`` or ``sample_rate_hz``, ``name`` and ``runnable_on_mcu``/``reason``),
            the ``.tflite`` bytes, or the path of a ``.tflite`` file.
        out_dir: Folder for the files; created if missing.
        name: C identifier of the model: the array is ``g_<name>_model_data``.
        labels: Output labels in score order; defaults to the variant's labels.
        window: Samples per inference window; defaults to the variant's, then to the second
            dimension of a ``(1, window, fields)`` input.
        sample_rate_hz: Sample rate the model was trained at; defaults to the variant's.
        normalization: ``(x - mean) / std`` applied to raw samples before quantization: a
            ``tinybench.dataset.Normalization``, a dict with ``mean`` and ``std``, or ``None``;
            defaults to the variant's.
        arena_margin: Bytes added to the measured tensor arena for ``kTensorArenaSize``.

    Returns:
        The :class:`ExportedModel` describing the files.

    Raises:
        ExportError: ``name`` is not a C identifier, the model is empty, missing, not a
            ``.tflite`` flatbuffer, not runnable on a microcontroller, or the labels or
            normalization do not fit it.
        UnsupportedOpError: The model uses ops TensorFlow Lite Micro lacks.
    """
    _check_name(name)
    if not isinstance(arena_margin, int) or arena_margin < 0:
        raise ExportError(
            f"arena_margin must be a whole number of bytes >= 0, got {arena_margin!r}. "
            f"The default is {DEFAULT_ARENA_MARGIN}."
        )
    data, variant = _model_bytes(model)
    info = _read_model_info(data)
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise ExportError(
            f"The model has {len(info.inputs)} input and {len(info.outputs)} output tensors; "
            "tinybench sketches feed one input tensor and read one output tensor. Export a "
            "model with a single input and a single output."
        )
    model_input, model_output = info.inputs[0], info.outputs[0]
    resolver_methods = _resolver_methods(info)

    labels = _labels(labels, variant, model_output.size)
    window = _window(window, variant, model_input.shape)
    rate = _rate(sample_rate_hz, variant)
    norm = _normalization(normalization, variant)

    from tinybench.tflm import arena_report

    try:
        report = arena_report(data)
    except UnsupportedOpError:
        raise
    except ProfileError as exc:
        raise ExportError(
            f"TensorFlow Lite Micro cannot run this model, so it cannot be exported for a "
            f"microcontroller: {exc}"
        ) from exc
    arena_bytes = max(report.reported_bytes, report.required_bytes)
    arena_size = _round_up(arena_bytes + ALIGNMENT + arena_margin, ALIGNMENT)

    out = Path(out_dir)
    exported = ExportedModel(
        out_dir=out,
        name=name,
        labels=labels,
        op_names=tuple(info.op_names),
        input_shape=tuple(model_input.shape),
        input_dtype=model_input.dtype,
        input_scale=float(model_input.scale),
        input_zero_point=int(model_input.zero_point),
        output_shape=tuple(model_output.shape),
        output_dtype=model_output.dtype,
        output_scale=float(model_output.scale),
        output_zero_point=int(model_output.zero_point),
        window=window,
        sample_rate_hz=rate,
        normalization=norm,
        model_bytes=len(data),
        arena_bytes=arena_bytes,
        arena_size=arena_size,
        sha256=hashlib.sha256(data).hexdigest(),
        variant=_variant_name(variant),
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"Cannot create the export folder {str(out)!r}: {exc.strerror or exc}. "
            "Pass a folder you can write to."
        ) from None
    _write(exported.model_data_h, model_data_header(exported))
    _write(exported.model_data_cpp, model_data_source(exported, data))
    _write(exported.model_settings_h, model_settings_header(exported))
    _write(exported.op_resolver_h, op_resolver_header(exported, resolver_methods))
    _write(exported.tflite_path, data)
    _write(exported.settings_json, _settings_json(exported, report.reported_bytes, arena_margin))
    return exported


def load_exported(out_dir: str | os.PathLike[str]) -> ExportedModel:
    """Read an export folder written by :func:`export_model`.

    Raises:
        ExportError: The folder, ``model_settings.json`` or a C++ file is missing, the JSON is
            not an export's, or ``model.tflite`` changed since the export.
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
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        if settings.get("format") != EXPORT_FORMAT:
            raise ValueError(f"format is {settings.get('format')!r}, expected {EXPORT_FORMAT!r}")
        io_in, io_out, arena = settings["input"], settings["output"], settings["arena"]
        exported = ExportedModel(
            out_dir=folder,
            name=str(settings["name"]),
            labels=tuple(str(label) for label in settings["labels"]),
            op_names=tuple(str(op) for op in settings["ops"]),
            input_shape=tuple(int(d) for d in io_in["shape"]),
            input_dtype=str(io_in["dtype"]),
            input_scale=float(io_in["scale"]),
            input_zero_point=int(io_in["zero_point"]),
            output_shape=tuple(int(d) for d in io_out["shape"]),
            output_dtype=str(io_out["dtype"]),
            output_scale=float(io_out["scale"]),
            output_zero_point=int(io_out["zero_point"]),
            window=None if settings["window"] is None else int(settings["window"]),
            sample_rate_hz=None if settings["rate_hz"] is None else float(settings["rate_hz"]),
            normalization=settings["normalization"],
            model_bytes=int(settings["model_bytes"]),
            arena_bytes=int(arena["measured_bytes"]),
            arena_size=int(arena["bytes"]),
            sha256=str(settings["sha256"]),
            variant=settings.get("variant"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportError(
            f"{settings_path} is not a tinybench export ({type(exc).__name__}: {exc}). Export "
            "the model again with tinybench.export_model()."
        ) from None
    missing = [path.name for path in exported.source_files if not path.is_file()]
    if missing:
        raise ExportError(
            f"The export at {str(folder)!r} is incomplete: {', '.join(missing)} missing. "
            "Export the model again with tinybench.export_model()."
        )
    exported.read_tflite()
    return exported


# --- inputs --------------------------------------------------------------------------------


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ExportError(
            f"Model name {name!r} is not a C identifier; it names the array "
            "g_<name>_model_data. Use ASCII letters, digits and underscores, not starting with "
            "a digit, for example 'gesture_int8'."
        )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ExportError(
            f"No file at {str(path)!r}. Pass the path of an existing .tflite file, its bytes, "
            "or a Variant."
        ) from None
    except OSError as exc:
        raise ExportError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from None


def _model_bytes(model: Any) -> tuple[bytes, Any]:
    """Return the flatbuffer and the variant it came from (``None`` for bytes and paths)."""
    variant = None
    if isinstance(model, bytes | bytearray | memoryview):
        data = bytes(model)
    elif isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.is_dir():
            raise ExportError(
                f"{str(path)!r} is a folder; pass the path of a .tflite file, its bytes, or a "
                "Variant. (To read an export folder back, use load_exported().)"
            )
        data = _read_file(path)
    elif hasattr(model, "tflite"):
        variant = model
        if getattr(model, "runnable_on_mcu", True) is False:
            reason = getattr(model, "reason", "") or "it is marked not runnable on an MCU"
            raise ExportError(
                f"Variant {_variant_name(model)!r} cannot run on a microcontroller: {reason}. "
                "Export an int8 or float32 variant instead."
            )
        data = model.tflite
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ExportError(
                f"The variant's tflite attribute is a {type(data).__name__}, not bytes. "
                "Pass a Variant made by tinybench.make_variant()."
            )
        data = bytes(data)
    else:
        raise ExportError(
            f"Cannot export a {type(model).__name__}. Pass a Variant, the .tflite bytes or "
            "the path of a .tflite file."
        )
    if not data:
        raise ExportError(
            "The model is empty (0 bytes). Convert it again with TFLiteConverter, or pass the "
            "path of a non-empty .tflite file."
        )
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise ExportError(
            f"Not a .tflite flatbuffer: {len(data)} bytes whose file identifier is "
            f"{data[4:8]!r}, expected {_TFLITE_IDENTIFIER!r}. Pass what "
            "TFLiteConverter.convert() returned or a .tflite file."
        )
    return data, variant


def _read_model_info(data: bytes) -> Any:
    from tinybench.tflite_model import read_model

    try:
        return read_model(data)
    except UnsupportedOpError:
        raise
    except ProfileError as exc:
        raise ExportError(str(exc)) from exc


def _resolver_methods(info: Any) -> tuple[str, ...]:
    from tinybench.tflite_model import tflm_resolver_method

    info.check_tflm_ops()
    return tuple(tflm_resolver_method(op) for op in info.op_names)


def _variant_name(variant: Any) -> str | None:
    name = getattr(variant, "name", None)
    return str(name) if name is not None else None


def _labels(labels: Sequence[str] | None, variant: Any, outputs: int) -> tuple[str, ...]:
    if labels is None:
        labels = getattr(variant, "labels", None) or ()
    if isinstance(labels, str):
        raise ExportError(
            f"labels must be a list of strings, got the single string {labels!r}. "
            f"Pass for example labels=[{labels!r}]."
        )
    result = tuple(labels)
    bad = [label for label in result if not isinstance(label, str)]
    if bad:
        raise ExportError(f"Labels must be strings; got {bad!r}. Pass the class names in order.")
    if any("\0" in label for label in result):
        raise ExportError(
            f"Labels cannot contain a NUL character (it ends a C string); got {list(result)!r}. "
            "Remove it from the label."
        )
    if result and len(result) != outputs:
        raise ExportError(
            f"The model has {outputs} output values but {len(result)} labels were given "
            f"({list(result)}). Pass one label per output, in score order, or none."
        )
    return result


def _window(window: int | None, variant: Any, input_shape: tuple[int, ...]) -> int | None:
    if window is None:
        for attribute in ("input_window", "window"):
            window = getattr(variant, attribute, None)
            if window is not None:
                break
    if window is None and len(input_shape) == 3 and input_shape[0] == 1:
        window = int(input_shape[1])
    if window is None:
        return None
    try:
        samples = operator.index(window) if not isinstance(window, bool) else 0
    except TypeError:
        samples = 0
    if samples <= 0:
        raise ExportError(
            f"window must be a positive number of samples, got {window!r}. Pass the window "
            "the model was trained on, or None."
        )
    return samples


def _rate(rate: float | None, variant: Any) -> float | None:
    if rate is None:
        for attribute in ("sample_rate_hz", "rate_hz"):
            value = getattr(variant, attribute, None)
            if value is not None:
                rate = value
                break
    if rate is None:
        return None
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ExportError(
            f"sample_rate_hz must be a positive number of hertz, got {rate!r}. Pass the rate "
            "the model's training data was captured at (for example 119), or None."
        )
    return value


def _normalization(normalization: Any, variant: Any) -> dict[str, list[Any]] | None:
    if normalization is None:
        normalization = getattr(variant, "normalization", None)
    if normalization is None:
        return None
    if isinstance(normalization, Mapping):
        mean, std, fields = (
            normalization.get("mean"),
            normalization.get("std"),
            normalization.get("fields"),
        )
    else:
        mean, std = getattr(normalization, "mean", None), getattr(normalization, "std", None)
        fields = getattr(normalization, "fields", None)
    try:
        means = [float(v) for v in _as_list(mean)]
        stds = [float(v) for v in _as_list(std)]
    except (TypeError, ValueError):
        means, stds = [], []
    if not means or len(means) != len(stds):
        raise ExportError(
            f"normalization must give as many means as stds (at least one), got mean={mean!r} "
            f"std={std!r}. Pass a tinybench.dataset.Normalization or "
            "{'mean': [...], 'std': [...]}."
        )
    if not all(math.isfinite(v) for v in means) or not all(
        math.isfinite(v) and v > 0 for v in stds
    ):
        raise ExportError(
            f"normalization needs finite means and positive finite stds, got mean={means} "
            f"std={stds}. Recompute it from the training data."
        )
    result: dict[str, list[Any]] = {"mean": means, "std": stds}
    if fields is not None:
        result["fields"] = [str(field) for field in fields]
    return result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    return list(value)


# --- settings and files --------------------------------------------------------------------


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _settings_json(exported: ExportedModel, reported_bytes: int, margin: int) -> str:
    from tinybench import __version__

    def tensor(shape: tuple[int, ...], dtype: str, scale: float, zero_point: int) -> dict:
        return {"shape": list(shape), "dtype": dtype, "scale": scale, "zero_point": zero_point}

    settings = {
        "format": EXPORT_FORMAT,
        "name": exported.name,
        "variant": exported.variant,
        "sha256": exported.sha256,
        "model_bytes": exported.model_bytes,
        "labels": list(exported.labels),
        "input": tensor(
            exported.input_shape,
            exported.input_dtype,
            exported.input_scale,
            exported.input_zero_point,
        ),
        "output": tensor(
            exported.output_shape,
            exported.output_dtype,
            exported.output_scale,
            exported.output_zero_point,
        ),
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
        "files": [*EXPORT_FILES, MODEL_TFLITE],
        "tinybench_version": __version__,
    }
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, content: str | bytes) -> None:
    """Write atomically, and not at all when the file already holds ``content``."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise ExportError(
            f"Cannot write {str(path)!r}: {exc.strerror or exc}. Pass a folder you can write to."
        ) from None
