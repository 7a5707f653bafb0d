"""What :func:`~tinybench.deploy.export.export_model` accepts: each argument checked, or refused.

Every function here takes one argument as the caller gave it (falling back to the variant's
attribute where the argument is ``None``) and returns it in the form an export stores, or raises
:class:`~tinybench.errors.ExportError` naming the bad value and what to pass instead. Labels
are checked against the wire protocol itself: a label is accepted only if a hello line carrying
it parses back to the same label, so host and board always agree on the labels.
"""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinybench.errors import ExportError, ProtocolError

__all__ = [
    "check_name",
    "check_out_dir",
    "label_problem",
    "resolve_labels",
    "resolve_normalization",
    "resolve_rate",
    "resolve_window",
    "variant_name",
    "variant_of",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_name(name: Any) -> str:
    """Return ``name`` if it is a C identifier (it names the array ``g_<name>_model_data``)."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ExportError(
            f"Model name {name!r} is not a C identifier; it names the array "
            "g_<name>_model_data. Use ASCII letters, digits and underscores, not starting with "
            "a digit, for example 'gesture_int8'."
        )
    return name


def check_out_dir(out_dir: Any) -> Path:
    """Return the export folder as a path; refuse an empty path or a file.

    An empty string would export into the current folder, which is never what was meant.
    """
    if not isinstance(out_dir, str | os.PathLike) or str(out_dir).strip() == "":
        raise ExportError(
            f"The export folder (out_dir, `--out`) is {out_dir!r}, an empty path. Pass the "
            "folder to write the export into, for example 'build/export/gesture'."
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(
            f"The export folder {str(out)!r} is a file. Pass a folder (it is created if missing)."
        )
    return out


def variant_of(model: Any) -> Any:
    """Return the variant ``model`` is (anything with ``tflite``), or ``None`` for bytes/paths.

    Raises:
        ExportError: The variant is marked not runnable on a microcontroller, or ``model`` is
            a folder (an export folder is read back with ``load_exported``).
    """
    if isinstance(model, str | os.PathLike) and Path(model).is_dir():
        raise ExportError(
            f"{str(model)!r} is a folder; pass the path of a .tflite file, its bytes, or a "
            "Variant. (To read an export folder back, use load_exported().)"
        )
    if isinstance(model, bytes | bytearray | memoryview | str | os.PathLike):
        return None
    if not hasattr(model, "tflite"):
        return None
    if getattr(model, "runnable_on_mcu", True) is False:
        reason = getattr(model, "reason", "") or "it is marked not runnable on an MCU"
        raise ExportError(
            f"Variant {variant_name(model)!r} cannot run on a microcontroller: {reason}. "
            "Export an int8 or float32 variant instead."
        )
    return model


def variant_name(variant: Any) -> str | None:
    """Return the variant's ``name`` as text, or ``None``."""
    name = getattr(variant, "name", None)
    return str(name) if name is not None else None


def label_problem(label: str) -> str | None:
    """Return why ``label`` cannot cross the wire protocol's hello line, or ``None`` if it can.

    The protocol is the judge: the label goes on a hello line with
    :func:`tinybench.wire.format_hello`, the line is sent as UTF-8 bytes and read back
    with :func:`tinybench.wire.parse_line`, and it must come back unchanged.
    """
    from tinybench.wire import Hello, format_hello, parse_line

    if "\0" in label:
        return "a NUL character ends a C string, so the sketch would send a shorter label"
    try:
        line = format_hello(Hello(board="export", labels=(label,)))
    except ProtocolError as exc:
        return str(exc)
    except UnicodeError:
        return "it is not ASCII, and the protocol is ASCII text (non-ASCII lines are dropped)"
    parsed = parse_line(line.encode("utf-8"))
    if not isinstance(parsed, Hello):
        return f"a hello line carrying it is dropped ({getattr(parsed, 'detail', parsed)})"
    if parsed.labels != (label,):
        return f"it is read back from a hello line as {list(parsed.labels)!r}"
    return None


def resolve_labels(labels: Sequence[str] | None, variant: Any, outputs: int) -> tuple[str, ...]:
    """Return the labels (the variant's when ``labels`` is ``None``), one per output or none.

    Raises:
        ExportError: Not a list of strings, a label the protocol cannot carry, or a count that
            does not match the model's outputs.
    """
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
    problems = [f"{label!r}: {why}" for label in result if (why := label_problem(label))]
    if problems:
        raise ExportError(
            "These labels cannot cross the serial protocol, so the board's hello line would "
            f"disagree with the host: {'; '.join(problems)}. Use printable ASCII without "
            "spaces, ',', '=' or '*', for example 'wave' or 'punch_left'."
        )
    if result and len(result) != outputs:
        raise ExportError(
            f"The model has {outputs} output values but {len(result)} labels were given "
            f"({list(result)}). Pass one label per output, in score order, or none."
        )
    return result


def resolve_window(window: Any, variant: Any, input_shape: tuple[int, ...]) -> int | None:
    """Return samples per window: the argument, the variant's, or a ``(1, window, f)`` input's."""
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


def resolve_rate(rate: Any, variant: Any) -> float | None:
    """Return the sample rate in hertz: the argument, the variant's, or ``None``."""
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


def resolve_normalization(normalization: Any, variant: Any) -> dict[str, list[Any]] | None:
    """Return ``{"mean", "std"[, "fields"]}`` from a ``Normalization``, a dict, or the variant."""
    if normalization is None:
        normalization = getattr(variant, "normalization", None)
    if normalization is None:
        return None
    if isinstance(normalization, Mapping):
        mean, std = normalization.get("mean"), normalization.get("std")
        fields = normalization.get("fields")
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
            f"std={std!r}. Pass a tinybench.dataset.loading.Normalization or "
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
