"""Self-checks for the exercises at the end of notebooks 02 (train), 03 (optimize), 04 (export).

Each ``check_…()`` takes the student's answer and the notebook's own objects and returns a
:class:`~tinybench.teach.exercises.CheckResult`: right, or "Not yet" with a hint. It never gives
the solution, and a placeholder answer (``None``, ``...``) is a "Not yet", not an error, so the
notebook runs top to bottom before anyone has answered. Solutions: docs/teaching-solutions.md.

>>> check_test_accuracy(None, evaluation)                 # doctest: +SKIP
Not yet: replace ANSWER with the accuracy, in percent, ...
"""

from __future__ import annotations

import gzip
from numbers import Real
from pathlib import Path
from typing import Any

from tinybench.measure.arena import tensor_arena_size
from tinybench.measure.tflm_arena import arena_report
from tinybench.teach.exercises import CheckResult

__all__ = ["check_fits_ram", "check_flash_bytes", "check_test_accuracy"]


def _right(message: str) -> CheckResult:
    return CheckResult(True, "Right: " + message)


def _not_yet(hint: str) -> CheckResult:
    return CheckResult(False, "Not yet: " + hint)


def _number(answer: Any) -> float | None:
    """The answer as a number, or ``None`` for a placeholder or anything not a number."""
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return None
    return float(answer)


def check_test_accuracy(answer: Any, evaluation: Any) -> CheckResult:
    """Notebook 02: the float model's accuracy on the test windows, in percent, to 1 point.

    Args:
        answer: The student's figure in percent (``93.5``); a fraction (``0.935``) is read as
            one when it is at most 1.
        evaluation: The notebook's ``evaluation`` (``tinybench.train.evaluate``), or anything
            with ``accuracy`` (a fraction) and ``y_true``.
    """
    value = _number(answer)
    if value is None:
        return _not_yet(
            "replace ANSWER with the accuracy, in percent, that the model reaches on the test "
            "windows. Which cell measures the model on data it never trained on?"
        )
    percent = value * 100 if 0 <= value <= 1 else value
    truth = 100 * float(evaluation.accuracy)
    if abs(percent - truth) <= 1:
        return _right(
            f"about {round(truth)} % of the {len(evaluation.y_true)} test windows. Training "
            "accuracy would be higher: those windows shaped the weights."
        )
    if not 0 <= percent <= 100:
        return _not_yet("an accuracy is between 0 and 100 percent.")
    if percent > truth:
        return _not_yet(
            "too high. Is that the training or validation accuracy from the history? The "
            "exercise asks for the test windows, from held-out sessions."
        )
    return _not_yet(
        "too low. Read the figure the evaluate cell prints (a fraction of the test windows) "
        "and give it in percent."
    )


def check_fits_ram(
    answer: Any,
    ram_bytes: int = 32_768,
    min_accuracy: float = 0.9,
    *,
    accuracy: float | None = None,
) -> CheckResult:
    """Notebook 03: a variant whose tensor arena fits ``ram_bytes``, with enough accuracy.

    RAM is counted with the project's one rule, the ``kTensorArenaSize`` a sketch reserves
    (:func:`tinybench.measure.arena.tensor_arena_size`: the measured arena rounded up to 16,
    plus the alignment and sketch margins).

    Args:
        answer: A row of the sweep's ``results`` (``results.loc[i]``, ``best_variant(...)``),
            or a ``Variant`` (its arena is measured; give its accuracy with ``accuracy``).
        ram_bytes: The RAM budget for the tensor arena.
        min_accuracy: The lowest accuracy accepted, as a fraction.
        accuracy: The accuracy of a ``Variant``, as a fraction.
    """
    figures = _ram_figures(answer, accuracy)
    if isinstance(figures, CheckResult):
        return figures
    arena, required, runnable, acc = figures
    if not runnable:
        return _not_yet(
            "this variant cannot run on a microcontroller (float16 and dynamic-range models "
            "need LiteRT). Look at the runnable_on_mcu column."
        )
    reserved = tensor_arena_size(arena, required)
    ram_ok = reserved <= ram_bytes
    acc_ok = acc is not None and acc >= min_accuracy
    if ram_ok and acc_ok:
        return _right(f"its sketch reserves {reserved:,} B of arena and it reaches {acc:.1%}.")
    problems = []
    if not ram_ok:
        problems.append(
            f"its sketch would reserve {reserved:,} B of arena, more than {ram_bytes:,} B. Which "
            "knob makes every activation smaller: the width, or the activations' number format?"
        )
    if not acc_ok:
        shown = "unknown" if acc is None else f"{acc:.1%}"
        problems.append(f"its accuracy is {shown}, below {min_accuracy:.0%}.")
    return _not_yet(" ".join(problems))


def _ram_figures(
    answer: Any, accuracy: float | None
) -> tuple[int, int | None, bool, float | None] | CheckResult:
    """``(arena, required, runnable, accuracy)`` of a row or a Variant, or a "Not yet"."""
    hint = (
        "pass one row of the sweep's results, e.g. results.loc[3] or best_variant(results, "
        "min_accuracy=0.9), or a Variant with accuracy=..."
    )
    if answer is None or answer is Ellipsis:
        return _not_yet(hint)
    if hasattr(answer, "tflite") and hasattr(answer, "runnable_on_mcu"):
        if not answer.runnable_on_mcu:
            return 0, None, False, accuracy
        report = arena_report(answer.tflite)
        return report.reported_bytes, report.required_bytes, True, accuracy
    if len(getattr(answer, "shape", ())) == 2:
        if len(answer) != 1:
            return _not_yet(f"that is {len(answer)} rows; {hint}")
        answer = answer.iloc[0]
    try:
        row = dict(answer)
    except (TypeError, ValueError):
        return _not_yet(f"a {type(answer).__name__} is not a row of results; {hint}")
    if "arena_bytes" not in row or "accuracy" not in row:
        return _not_yet(f"this has no arena_bytes and accuracy columns; {hint}")
    runnable = bool(row.get("runnable_on_mcu", True)) and _present(row["arena_bytes"])
    required = row.get("arena_required_bytes")
    acc = float(row["accuracy"]) if _present(row["accuracy"]) else accuracy
    return (
        int(row["arena_bytes"]) if runnable else 0,
        int(required) if runnable and _present(required) else None,
        runnable,
        acc,
    )


def _present(value: Any) -> bool:
    """Not ``None`` and not NaN (a missing figure in a DataFrame)."""
    return value is not None and value == value


def check_flash_bytes(answer: Any, exported: Any) -> CheckResult:
    """Notebook 04: the bytes of flash the model array takes, exactly.

    Args:
        answer: The student's number of bytes.
        exported: The notebook's ``exported`` (``tinybench.deploy.export_model``).
    """
    value = _number(answer)
    if value is None:
        return _not_yet(
            "replace ANSWER with a number of bytes. What exactly does model_data.cpp hold, "
            "and which file of the export folder has the same bytes?"
        )
    folder = Path(exported.out_dir)
    data = (folder / "model.tflite").read_bytes()
    if value == len(data):
        return _right(
            "the array is the .tflite flatbuffer byte for byte. Gzip is smaller because zeros "
            "and repeated weights compress, but the board reads the weights in place, "
            "uncompressed, so flash holds every byte."
        )
    source = folder / "model_data.cpp"
    if value == len(gzip.compress(data, compresslevel=9, mtime=0)):
        return _not_yet(
            "that is the gzip size. Could TFLM run a compressed model without first unpacking "
            "it into RAM the board does not have?"
        )
    if source.is_file() and value == source.stat().st_size:
        return _not_yet(
            "that is the size of the C source text, where every byte is written as '0x..,'. "
            "The compiler turns that text into the array: how many bytes does the array hold?"
        )
    if abs(value - len(data)) <= 0.01 * len(data):
        return _not_yet("close, but flash is counted to the byte here: no rounding.")
    return _not_yet(
        "the array is not the source file, the gzip, or an estimate: it is one file of the "
        "export folder, byte for byte."
    )
