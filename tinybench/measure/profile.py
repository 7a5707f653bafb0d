"""The truth about a ``.tflite`` model on a board: accuracy, flash, RAM, MACs and fit.

:func:`profile` reads the model without running it (:mod:`tinybench.measure.flatbuffer`),
measures its tensor arena in TensorFlow Lite Micro (:mod:`tinybench.measure.tflm_arena`) and,
given data, computes accuracy in TFLM: the kernels the board runs. What each figure is:

- ``flash_model_bytes``: ``len(tflite)``, exactly what the C array holds. Exact.
- ``gzip_bytes``: the flatbuffer gzipped at level 9. It is never flash: pruning shrinks it,
  not the array, unless the firmware decompresses.
- ``arena_bytes``: "Arena allocation total" from TFLM's own allocation report. Exact, on the
  64-bit host. ``arena_required_bytes`` is the smallest arena TFLM accepts, which can be
  larger (temporary memory for planning).
- ``runtime_flash_estimate``: the board's core + TFLM estimate plus one kernel estimate per op
  type (:data:`~tinybench.measure.budget.KERNEL_FLASH_ESTIMATES`). An estimate: compiling with
  arduino-cli gives the real figure.
- ``ram_total_estimate``: the ``kTensorArenaSize`` an exported sketch reserves
  (:func:`tinybench.measure.arena.tensor_arena_size`) plus the board's RAM estimate for the
  core and sketch.
- ``latency_ms_estimate``: MACs x cycles per MAC (int8 or float, per board) / clock.

With ``target=`` (a :class:`~tinybench.measure.target.TargetFootprint`) on a Cortex-M4 board,
flash, RAM and latency come from the firmware's link and run instead, labelled "linked".

The flash, RAM and fit figures are :class:`~tinybench.measure.budget.BudgetReport`'s
(:attr:`Profile.budget`); ``check_budget(profile, board).require()`` refuses a profile that
does not fit.

Float16 and dynamic-range models are not runnable on a microcontroller: they get no arena,
no latency and ``fits=False``, and their accuracy comes from LiteRT (``interpreter="litert"``).
"""

from __future__ import annotations

import dataclasses
import gzip
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinybench.boards import Board, get_board
from tinybench.measure.accuracy import evaluate, examples_and_labels
from tinybench.measure.budget import BudgetReport
from tinybench.measure.flatbuffer import load_model
from tinybench.measure.interpreters import LiteRtRunner, Runner, TflmRunner
from tinybench.measure.model_info import OpInfo
from tinybench.measure.target import TargetFootprint
from tinybench.measure.tflm_arena import arena_report

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Profile", "profile"]

_INTERPRETER_TITLES = {"tflm": "TFLM (the board's kernels)", "litert": "LiteRT (not TFLM)"}


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
        target: The model's firmware measured for the emulated Cortex-M4F, or ``None``; on a
            Cortex-M4 board the flash, RAM and latency figures come from it.
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
    target: TargetFootprint | None = None

    @property
    def op_names(self) -> tuple[str, ...]:
        """Unique op names, sorted."""
        return tuple(sorted({op.name for op in self.ops}))

    @property
    def budget(self) -> BudgetReport:
        """The flash and RAM figures on :attr:`board`, from the budget rules."""
        return BudgetReport(
            self.board,
            self.flash_model_bytes,
            self.arena_bytes,
            None if self.runnable_on_mcu else self.reason,
            arena_required_bytes=self.arena_required_bytes,
            op_names=self.op_names,
            target=self.target,
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
            "size_basis": self.budget.basis,
        }

    def summary(self) -> str:
        """Return a human-readable table of the figures, saying what each byte count is."""
        b = self.board
        lines = [
            f"{b.title} [{b.name}]: {self.quantization} model, {len(self.ops)} ops "
            f"({', '.join(self.op_names)})",
            _row("parameters", f"{self.parameter_count:,}"),
            _row("MACs / inference", f"{self.macs:,}"),
            *self._flash_rows(),
            *self._ram_rows(),
            self._accuracy_row(),
            f"  verdict: {'fits' if self.fits else 'does not fit: ' + '; '.join(self.problems)}",
        ]
        return "\n".join(lines)

    def _flash_rows(self) -> list[str]:
        linked = self.budget.linked
        if linked is None:
            kernels = _plural(len(self.op_names), "kernel")
            runtime = f"~{self.runtime_flash_estimate:,} B"
            parts = [("flash: runtime", runtime, f"estimate: core + TFLM + {kernels}")]
        else:
            parts = linked.flash_rows(self.board)
        basis, approx = ("linked + estimate", "") if linked else ("estimate", "~")
        return [
            _row("flash: model array", f"{self.flash_model_bytes:,} B", "exact: the C array"),
            *(_row(*part) for part in parts),
            _row(
                "flash: total",
                f"{approx}{self.flash_total_estimate:,} B",
                f"{basis}, of {self.board.flash_bytes:,} B: {_verdict(self.fits_flash)}",
            ),
            _row("gzip of the model", f"{self.gzip_bytes:,} B", "compressed size, NOT flash"),
        ]

    def _ram_rows(self) -> list[str]:
        if self.arena_bytes is None:
            return [_row("RAM: tensor arena", "n/a", f"not runnable: {self.reason}")]
        b = self.board
        linked = self.budget.linked
        if linked is not None:
            rows = linked.ram_rows(b, self.arena_bytes, self.arena_required_bytes)
            return [
                *(_row(*row) for row in rows),
                _row(
                    "RAM: total",
                    f"{self.ram_total_estimate:,} B",
                    f"linked + estimate, of {b.ram_bytes:,} B: {_verdict(self.fits_ram)}",
                ),
                _row(
                    "latency",
                    f"~{self.latency_ms_estimate:.3g} ms",
                    f"from instructions: {linked.latency_text(b)}",
                ),
            ]
        return [
            _row(
                "RAM: tensor arena",
                f"{self.arena_bytes:,} B",
                f"TFLM allocation report; allocates with {self.arena_required_bytes:,} B",
            ),
            _row(
                "RAM: total",
                f"~{self.ram_total_estimate:,} B",
                f"estimate: kTensorArenaSize + runtime, of {b.ram_bytes:,} B: "
                f"{_verdict(self.fits_ram)}",
            ),
            _row(
                "latency",
                f"~{self.latency_ms_estimate:.3g} ms",
                f"estimate from MACs at {b.clock_hz / 1e6:g} MHz",
            ),
        ]

    def _accuracy_row(self) -> str:
        if self.accuracy is None:
            return _row("accuracy", "n/a", "no dataset given")
        where = _INTERPRETER_TITLES[self.interpreter]
        return _row(
            "accuracy", f"{100 * self.accuracy:.2f} %", f"{self.samples:,} examples in {where}"
        )


def profile(
    tflite: Any,
    board: str | Board = "nano33ble",
    dataset: Any = None,
    *,
    labels: list[str] | tuple[str, ...] | None = None,
    target: TargetFootprint | None = None,
) -> Profile:
    """Profile a ``.tflite`` model for a board, with accuracy if data is given.

    Args:
        tflite: Model bytes, the path of a ``.tflite`` file (or export folder), or a
            ``Variant``.
        board: Board name or :class:`~tinybench.boards.Board`.
        dataset: ``None``, a tuple ``(x, y)`` or an object with ``.x`` and ``.y``: float
            inputs already normalized (one example per row) and integer labels (or label
            names, with ``labels``).
        labels: Class names in output order; needed when ``y`` holds names.
        target: The model's firmware measured for the emulated Cortex-M4F
            (:func:`tinybench.emulate.footprint.target_footprint`); on a Cortex-M4 board the
            flash, RAM and latency come from it, labelled "linked". ``None``: estimates.

    Raises:
        UnsupportedOpError: The model uses ops TFLM lacks (checked before running it).
        ModelError: The bytes are not a readable ``.tflite`` model.
        ProfileError: The model cannot be run.
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
        samples = len(examples_and_labels(dataset)[1])
    flash_model_bytes = len(data)
    budget_report = BudgetReport(
        board,
        flash_model_bytes,
        arena.reported_bytes if arena else None,
        None if runnable else info.mcu_reason,
        arena_required_bytes=arena.required_bytes if arena else None,
        op_names=info.op_names,
        target=target,
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
        target=target,
        **_board_figures(budget_report, quantization=info.quantization, macs=info.macs),
    )


# --- helpers ---------------------------------------------------------------------------------


def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<24}{value:>14}   {note}".rstrip()


def _verdict(ok: bool) -> str:
    return "fits" if ok else "DOES NOT FIT"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _board_figures(report: BudgetReport, *, quantization: str, macs: int) -> dict[str, Any]:
    """Figures that depend on the board: flash and RAM totals and fit (``report``'s), latency."""
    board = report.board
    latency = None
    if report.linked is not None and report.not_runnable is None:
        latency = report.linked.latency_ms(board)
    elif report.not_runnable is None:
        latency = board.mac_latency_ms(macs, quantization)
    return {
        "runtime_flash_estimate": report.flash_needed - report.model_bytes,
        "flash_total_estimate": report.flash_needed,
        "ram_total_estimate": report.ram_needed,
        "fits_flash": report.fits_flash,
        "fits_ram": report.fits_ram is True,
        "fits": report.fits,
        "latency_ms_estimate": latency,
    }
