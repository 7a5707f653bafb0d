"""The truth about a ``.tflite`` model on a board: accuracy, flash, RAM, MACs and fit.

:func:`profile` reads the model without running it (:mod:`tinybench.tflite_model`), measures
its tensor arena in TensorFlow Lite Micro (:mod:`tinybench.tflm`) and, given data, computes
accuracy in TFLM: the kernels the board runs. What each figure is:

- ``flash_model_bytes``: ``len(tflite)``, exactly what the C array holds. Exact.
- ``gzip_bytes``: the flatbuffer gzipped at level 9. It is never flash: pruning shrinks it,
  not the array, unless the firmware decompresses.
- ``arena_bytes``: "Arena allocation total" from TFLM's own allocation report. Exact, on the
  64-bit host. ``arena_required_bytes`` is the smallest arena TFLM accepts, which can be
  larger (temporary memory for planning).
- ``runtime_flash_estimate``: the board's core + TFLM estimate plus one kernel estimate per op
  type (:data:`KERNEL_FLASH_ESTIMATES`). An estimate: compiling with arduino-cli gives the
  real figure.
- ``ram_total_estimate``: the arena TFLM needs (rounded up to 16, plus a 16-byte alignment
  margin) plus the board's RAM estimate for the core and sketch.
- ``latency_ms_estimate``: MACs x cycles per MAC (int8 or float, per board) / clock.

The flash, RAM and fit figures follow :mod:`tinybench.budget`'s rules (:attr:`Profile.budget`),
and :func:`check_budget` refuses through :func:`tinybench.budget.check_budget`.

Float16 and dynamic-range models are not runnable on a microcontroller: they get no arena,
no latency and ``fits=False``, and their accuracy comes from LiteRT (``interpreter="litert"``).
"""

from __future__ import annotations

import dataclasses
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinybench import budget as budget_rules
from tinybench.boards import Board, get_board
from tinybench.budget import DEFAULT_KERNEL_FLASH_ESTIMATE, KERNEL_FLASH_ESTIMATES, BudgetReport
from tinybench.errors import ConfigError, DatasetError, ProfileError
from tinybench.tflite_model import OpInfo, load_model
from tinybench.tflm import LiteRtRunner, Runner, TflmRunner, arena_report, dequantize, quantize

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_KERNEL_FLASH_ESTIMATE",
    "KERNEL_FLASH_ESTIMATES",
    "Profile",
    "check_budget",
    "evaluate",
    "profile",
]

_INT_QUANTIZATIONS = frozenset({"int8", "int16x8"})


@dataclass(frozen=True)
class Profile:
    """What a model costs on a board, and how well it does.

    Attributes:
        board: The board the budget figures are for.
        flash_model_bytes: Bytes of the model array in flash (exact: ``len(tflite)``).
        gzip_bytes: Bytes of the model gzipped at level 9 (compressed size, not flash).
        arena_bytes: Tensor arena from TFLM's allocation report; ``None`` if TFLM cannot
            run the model.
        arena_required_bytes: Smallest arena TFLM allocates the model in; ``None`` likewise.
        runtime_flash_estimate: Estimated flash of core + TFLM + this model's kernels.
        flash_total_estimate: ``flash_model_bytes + runtime_flash_estimate``.
        ram_total_estimate: Estimated RAM: arena, alignment margin, core and sketch; ``None``
            if TFLM cannot run the model.
        fits_flash: Whether the flash estimate fits the board's flash.
        fits_ram: Whether the RAM estimate fits the board's RAM.
        fits: Whether the model can run on the board at all: runnable in TFLM, the board runs
            TFLM, and both budgets fit.
        runnable_on_mcu: Whether TFLM can run the model (int8 or float32, known ops).
        reason: Why TFLM cannot run the model; ``""`` when it can.
        quantization: ``"int8"``, ``"int16x8"``, ``"float32"``, ``"float16"`` or
            ``"dynamic-range"``.
        parameter_count: Elements of weight and bias tensors.
        weight_bytes: Bytes of constant tensor data inside the flatbuffer.
        ops: Every operator in execution order, with its MACs.
        macs: Multiply-accumulates per inference.
        latency_ms_estimate: Estimated inference time on the board; ``None`` if TFLM cannot
            run the model.
        accuracy: Top-1 accuracy on the dataset given; ``None`` without data.
        samples: Number of examples the accuracy was computed on.
        interpreter: ``"tflm"`` or ``"litert"``: which interpreter computed (or would
            compute) the accuracy.
    """

    board: Board
    flash_model_bytes: int
    gzip_bytes: int
    arena_bytes: int | None
    arena_required_bytes: int | None
    runtime_flash_estimate: int
    flash_total_estimate: int
    ram_total_estimate: int | None
    fits_flash: bool
    fits_ram: bool
    fits: bool
    runnable_on_mcu: bool
    reason: str
    quantization: str
    parameter_count: int
    weight_bytes: int
    ops: tuple[OpInfo, ...]
    macs: int
    latency_ms_estimate: float | None
    accuracy: float | None
    samples: int
    interpreter: str

    @property
    def op_names(self) -> tuple[str, ...]:
        """Unique op names, sorted."""
        return tuple(sorted({op.name for op in self.ops}))

    @property
    def budget(self) -> BudgetReport:
        """The flash and RAM figures on :attr:`board`, from :mod:`tinybench.budget`'s rules."""
        return BudgetReport(
            self.board,
            self.flash_model_bytes,
            self.arena_bytes,
            None if self.runnable_on_mcu else self.reason,
            arena_required_bytes=self.arena_required_bytes,
            op_names=self.op_names,
        )

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the model does not fit the board, one sentence each; empty if it fits."""
        return self.budget.problems

    def on_board(self, board: str | Board) -> Profile:
        """Return this profile with the budget figures recomputed for another board."""
        board = get_board(board)
        return dataclasses.replace(
            self,
            board=board,
            **_board_figures(
                dataclasses.replace(self.budget, board=board),
                quantization=self.quantization,
                macs=self.macs,
            ),
        )

    def ops_table(self) -> pd.DataFrame:
        """Return one row per operator: index, op, MACs, input and output shapes."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "subgraph": op.subgraph,
                    "index": op.index,
                    "op": op.name,
                    "macs": op.macs,
                    "input_shapes": op.input_shapes,
                    "output_shapes": op.output_shapes,
                }
                for op in self.ops
            ]
        )

    def to_row(self) -> dict[str, Any]:
        """Return the figures as one flat dict, for a pandas DataFrame of many profiles."""
        return {
            "board": self.board.name,
            "quantization": self.quantization,
            "runnable_on_mcu": self.runnable_on_mcu,
            "reason": self.reason,
            "interpreter": self.interpreter,
            "accuracy": self.accuracy,
            "samples": self.samples,
            "flash_model_bytes": self.flash_model_bytes,
            "gzip_bytes": self.gzip_bytes,
            "runtime_flash_estimate": self.runtime_flash_estimate,
            "flash_total_estimate": self.flash_total_estimate,
            "arena_bytes": self.arena_bytes,
            "arena_required_bytes": self.arena_required_bytes,
            "ram_total_estimate": self.ram_total_estimate,
            "fits_flash": self.fits_flash,
            "fits_ram": self.fits_ram,
            "fits": self.fits,
            "parameter_count": self.parameter_count,
            "weight_bytes": self.weight_bytes,
            "macs": self.macs,
            "latency_ms_estimate": self.latency_ms_estimate,
            "ops": ",".join(self.op_names),
        }

    def summary(self) -> str:
        """Return a human-readable table of the figures, saying what each byte count is."""
        b = self.board

        def verdict(ok: bool) -> str:
            return "fits" if ok else "DOES NOT FIT"

        def row(label: str, value: str, note: str = "") -> str:
            return f"  {label:<24}{value:>14}   {note}".rstrip()

        lines = [
            f"{b.title} [{b.name}]: {self.quantization} model, {len(self.ops)} ops "
            f"({', '.join(self.op_names)})",
            row("parameters", f"{self.parameter_count:,}"),
            row("MACs / inference", f"{self.macs:,}"),
            row("flash: model array", f"{self.flash_model_bytes:,} B", "exact: the C array"),
            row(
                "flash: runtime",
                f"~{self.runtime_flash_estimate:,} B",
                f"estimate: core + TFLM + {_plural(len(self.op_names), 'kernel')}",
            ),
            row(
                "flash: total",
                f"~{self.flash_total_estimate:,} B",
                f"of {b.flash_bytes:,} B: {verdict(self.fits_flash)}",
            ),
            row("gzip of the model", f"{self.gzip_bytes:,} B", "compressed size, NOT flash"),
        ]
        if self.arena_bytes is not None:
            lines += [
                row(
                    "RAM: tensor arena",
                    f"{self.arena_bytes:,} B",
                    f"TFLM allocation report; allocates with {self.arena_required_bytes:,} B",
                ),
                row(
                    "RAM: total",
                    f"~{self.ram_total_estimate:,} B",
                    f"of {b.ram_bytes:,} B: {verdict(self.fits_ram)}",
                ),
                row(
                    "latency",
                    f"~{self.latency_ms_estimate:.3g} ms",
                    f"estimate at {b.clock_hz / 1e6:g} MHz",
                ),
            ]
        else:
            lines.append(row("RAM: tensor arena", "n/a", f"not runnable: {self.reason}"))
        if self.accuracy is None:
            lines.append(row("accuracy", "n/a", "no dataset given"))
        else:
            lines.append(
                row(
                    "accuracy",
                    f"{100 * self.accuracy:.2f} %",
                    f"{self.samples:,} examples in {_INTERPRETER_TITLES[self.interpreter]}",
                )
            )
        lines.append(
            f"  verdict: {'fits' if self.fits else 'does not fit: ' + '; '.join(self.problems)}"
        )
        return "\n".join(lines)


_INTERPRETER_TITLES = {"tflm": "TFLM (the board's kernels)", "litert": "LiteRT (not TFLM)"}


def profile(
    tflite: bytes | str | Path,
    board: str | Board = "nano33ble",
    dataset: Any = None,
    *,
    labels: list[str] | tuple[str, ...] | None = None,
) -> Profile:
    """Profile a ``.tflite`` model for a board, with accuracy if data is given.

    Args:
        tflite: Model bytes, or the path of a ``.tflite`` file.
        board: Board name or :class:`~tinybench.boards.Board`.
        dataset: ``None``, a tuple ``(x, y)`` or an object with ``.x`` and ``.y``: float
            inputs already normalized (one example per row) and integer labels (or label
            names, with ``labels``).
        labels: Class names in output order; needed when ``y`` holds names.

    Raises:
        UnsupportedOpError: The model uses ops TFLM lacks (checked before running it).
        ProfileError: The model cannot be read or run.
        DatasetError: The dataset does not match the model.
        ConfigError: Unknown board, or labels that do not match the model's outputs.
    """
    data, info = load_model(tflite)
    board = get_board(board)
    info.check_tflm_ops()
    runnable = info.runnable_on_mcu
    arena = arena_report(data) if runnable else None
    accuracy, samples = None, 0
    if dataset is not None:
        runner: Runner = TflmRunner(data, arena.arena_size) if arena else LiteRtRunner(data)
        accuracy = evaluate(runner, dataset, labels=labels)
        samples = len(_unpack(dataset)[1])
    flash_model_bytes = len(data)
    budget_report = BudgetReport(
        board,
        flash_model_bytes,
        arena.reported_bytes if arena else None,
        None if runnable else info.mcu_reason,
        arena_required_bytes=arena.required_bytes if arena else None,
        op_names=info.op_names,
    )
    return Profile(
        board=board,
        flash_model_bytes=flash_model_bytes,
        gzip_bytes=len(gzip.compress(data, compresslevel=9, mtime=0)),
        arena_bytes=budget_report.arena_bytes,
        arena_required_bytes=budget_report.arena_required_bytes,
        runnable_on_mcu=runnable,
        reason=info.mcu_reason,
        quantization=info.quantization,
        parameter_count=info.parameter_count,
        weight_bytes=info.weight_bytes,
        ops=info.ops,
        macs=info.macs,
        accuracy=accuracy,
        samples=samples,
        interpreter="tflm" if runnable else "litert",
        **_board_figures(budget_report, quantization=info.quantization, macs=info.macs),
    )


def evaluate(
    runner: Runner, dataset: Any, *, labels: list[str] | tuple[str, ...] | None = None
) -> float:
    """Return top-1 accuracy of ``runner`` on ``dataset``.

    Float inputs are quantized with the model's input scale and zero point when the model
    takes integers. A model with one output is read as a binary classifier (score >= 0.5).

    Args:
        runner: A :class:`~tinybench.tflm.TflmRunner` or :class:`~tinybench.tflm.LiteRtRunner`.
        dataset: A tuple ``(x, y)`` or an object with ``.x`` and ``.y``.
        labels: Class names in output order; needed when ``y`` holds names.

    Raises:
        DatasetError: Shapes or labels do not match the model.
        ConfigError: ``labels`` does not match the model's number of classes.
    """
    x, y = _unpack(dataset)
    classes = max(runner.output.size, 2)
    y = _label_indices(y, labels, classes)
    example = runner.input.shape[1:] if runner.input.shape[:1] == (1,) else runner.input.shape
    if x.shape[1:] != example:
        raise DatasetError(
            f"Dataset examples have shape {x.shape[1:]}, but the model takes {example}. "
            "Window and reshape the data the way the model was trained."
        )
    if np.issubdtype(x.dtype, np.floating):
        x = quantize(x, runner.input)
    scores = dequantize(runner.predict(x), runner.output).reshape(len(x), -1)
    predicted = (scores[:, 0] >= 0.5).astype(int) if scores.shape[1] == 1 else scores.argmax(1)
    return float(np.mean(predicted == y))


def check_budget(model: Profile | bytes | str | Path, board: str | Board | None = None) -> Profile:
    """Return the model's profile if it can run on the board; raise with the figures if not.

    The fit rules and the message are :func:`tinybench.budget.check_budget`'s, applied to the
    profile's figures (its kernels included in the flash estimate).

    Args:
        model: A :class:`Profile`, or model bytes or path (profiled without data).
        board: Board to check; defaults to the profile's board (or ``"nano33ble"``).

    Raises:
        BudgetError: The estimated flash or RAM exceeds the board's, or the board cannot run
            TensorFlow Lite Micro; the message gives the figures.
        ProfileError: The model is not runnable on a microcontroller (float16, dynamic-range).
    """
    if isinstance(model, Profile):
        result = model.on_board(board) if board is not None else model
    else:
        result = profile(model, board if board is not None else "nano33ble")
    b = result.board
    if not result.runnable_on_mcu:
        raise ProfileError(
            f"This {result.quantization} model is not runnable on a microcontroller: "
            f"{result.reason}. Quantize it to int8 before compiling for {b.title}."
        )
    budget_rules.check_budget(result, b)
    return result


# --- helpers ---------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _board_figures(report: BudgetReport, *, quantization: str, macs: int) -> dict[str, Any]:
    """Figures that depend on the board: flash and RAM totals and fit (``report``'s), latency."""
    board = report.board
    latency = None
    if report.not_runnable is None:
        cycles = (
            board.cycles_per_mac_int8
            if quantization in _INT_QUANTIZATIONS
            else board.cycles_per_mac_float
        )
        latency = macs * cycles / board.clock_hz * 1000.0
    return {
        "runtime_flash_estimate": report.runtime_flash_estimate,
        "flash_total_estimate": report.flash_needed,
        "ram_total_estimate": report.ram_needed,
        "fits_flash": report.fits_flash,
        "fits_ram": report.fits_ram is True,
        "fits": report.fits,
        "latency_ms_estimate": latency,
    }


def _unpack(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(dataset, tuple | list) and len(dataset) == 2:
        x, y = dataset
    elif hasattr(dataset, "x") and hasattr(dataset, "y"):
        x, y = dataset.x, dataset.y
    else:
        raise DatasetError(
            f"Cannot read examples from a {type(dataset).__name__}. Pass a tuple (x, y) or "
            "an object with .x (inputs) and .y (labels) attributes."
        )
    x, y = np.asarray(x), np.asarray(y)
    if len(x) == 0 or len(x) != len(y):
        raise DatasetError(
            f"The dataset has {len(x)} inputs and {len(y)} labels; it needs the same "
            "number of each, and at least one."
        )
    return x, y.reshape(len(y))


def _label_indices(
    y: np.ndarray, labels: list[str] | tuple[str, ...] | None, classes: int
) -> np.ndarray:
    if labels is not None and len(labels) != classes:
        raise ConfigError(
            f"{len(labels)} labels {list(labels)!r} for a model with {classes} classes. "
            f"Pass exactly {classes} label names, in the model's output order."
        )
    if y.dtype.kind in "US":
        if labels is None:
            raise DatasetError(
                f"The labels are names ({str(y[0])!r}, …); pass labels=[...] in the model's "
                "output order so they can be matched to outputs."
            )
        index = {name: i for i, name in enumerate(labels)}
        unknown = sorted({str(v) for v in y} - index.keys())
        if unknown:
            raise DatasetError(
                f"Labels {unknown!r} are not among the model's labels {list(labels)!r}. "
                "Fix the labels, or pass the labels the model was trained with."
            )
        return np.array([index[str(v)] for v in y])
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise DatasetError(
            f"Labels have dtype {y.dtype}; accuracy needs integer class indices (or names "
            "with labels=[...]). For regression models, leave dataset=None."
        )
    y = y.astype(int)
    bad = y[(y < 0) | (y >= classes)]
    if bad.size:
        raise DatasetError(
            f"Label {int(bad[0])} is outside 0..{classes - 1}, the model's {classes} "
            "classes. Check that the dataset and the model use the same classes."
        )
    return y
