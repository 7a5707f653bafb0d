"""Will this model fit this board? The one set of flash and RAM rules, run before every compile.

Flash: the model's bytes (exactly what the C array holds) plus the runtime estimate: the board's
core, TFLM runtime and sketch, plus one kernel estimate per op type of the model. RAM: the
``kTensorArenaSize`` the exported sketch reserves
(:func:`tinybench.measure.arena.tensor_arena_size`: the measured arena rounded up to 16, a
16-byte alignment margin and the 1,024-byte sketch margin) plus the board's own RAM estimate
for the core and the sketch's buffers. The arena is
never guessed: it comes from a profile, from the caller, or from measuring the model with
:func:`tinybench.measure.tflm_arena.arena_report`. These figures are labelled "estimate".

Given a :class:`~tinybench.measure.target.TargetFootprint` (the model's firmware built and run
for the emulated Cortex-M4F) and a Cortex-M4 board, flash and RAM are the linked figures
instead, labelled "linked"; only what the board's Arduino core adds stays an estimate
(:mod:`tinybench.measure.target`).

Boards that cannot run TensorFlow Lite Micro at all (``Board.tflm`` is False, the Uno) and models
that cannot run on any microcontroller (float16, dynamic-range) never fit, and
:meth:`BudgetReport.require` names the boards the model would fit. :func:`check_budget` is the one
check: the profile, the sweep and deploy take their figures from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tinybench.boards import Board, get_board, list_boards
from tinybench.errors import BudgetError
from tinybench.measure.arena import (
    ALIGNMENT_MARGIN,
    SKETCH_ARENA_MARGIN,
    arena_needed,
    tensor_arena_size,
)
from tinybench.measure.flatbuffer import load_model
from tinybench.measure.target import TargetFootprint
from tinybench.measure.tflm_arena import arena_report

__all__ = [
    "DEFAULT_KERNEL_FLASH_ESTIMATE",
    "KERNEL_FLASH_ESTIMATES",
    "BudgetReport",
    "check_budget",
    "kernel_flash_estimate",
]

#: Estimated flash bytes of one TFLM kernel (code and constant tables) in a Cortex-M4 ``-Os``
#: build with CMSIS-NN, per op type. Order-of-magnitude figures, not measurements: a real
#: compile (``tinybench.deploy.arduino``) replaces them with the linker's sizes.
KERNEL_FLASH_ESTIMATES: dict[str, int] = {
    "CONV_2D": 8_000,
    "DEPTHWISE_CONV_2D": 8_000,
    "TRANSPOSE_CONV": 6_000,
    "FULLY_CONNECTED": 4_000,
    "BATCH_MATMUL": 5_000,
    "SVDF": 5_000,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 12_000,
    "SOFTMAX": 3_000,
    "LOG_SOFTMAX": 3_000,
    "AVERAGE_POOL_2D": 2_500,
    "MAX_POOL_2D": 2_500,
    "L2_POOL_2D": 2_500,
    "ADD": 3_000,
    "SUB": 3_000,
    "MUL": 3_000,
    "MEAN": 3_000,
    "LOGISTIC": 2_500,
    "TANH": 2_500,
    "QUANTIZE": 2_000,
    "DEQUANTIZE": 2_000,
    "CONCATENATION": 1_500,
    "PAD": 1_500,
    "STRIDED_SLICE": 1_500,
    "RELU": 1_000,
    "RELU6": 1_000,
    "RESHAPE": 600,
    "SQUEEZE": 600,
    "EXPAND_DIMS": 600,
}
#: Kernel flash estimate for op types missing from :data:`KERNEL_FLASH_ESTIMATES`.
DEFAULT_KERNEL_FLASH_ESTIMATE = 2_000


def kernel_flash_estimate(op_names: Iterable[str]) -> int:
    """Return the estimated flash of the TFLM kernels for ``op_names`` (each op type once)."""
    return sum(
        KERNEL_FLASH_ESTIMATES.get(name, DEFAULT_KERNEL_FLASH_ESTIMATE) for name in set(op_names)
    )


@dataclass(frozen=True)
class BudgetReport:
    """The flash and RAM a model needs on one board, next to what the board has.

    Attributes:
        board: The board the figures are for.
        model_bytes: Size of the ``.tflite`` flatbuffer, exactly what the C array holds.
        arena_bytes: Tensor arena measured by the TFLM interpreter (its allocation report, or
            the arena the caller gave), or ``None`` when it was not measured (the board cannot
            run TFLM, or the model already overflows flash).
        not_runnable: Why the model cannot run on any microcontroller (a float16 or
            dynamic-range model, as its profile says), or ``None``.
        arena_required_bytes: Smallest arena TFLM allocates and invokes the model in, if
            measured; RAM counts the larger of this and ``arena_bytes``.
        op_names: The model's op types, if known; each adds a kernel flash estimate.
        target: The model's firmware measured for the emulated Cortex-M4F, or ``None``. On a
            board with that CPU it replaces the flash and RAM estimates.
    """

    board: Board
    model_bytes: int
    arena_bytes: int | None
    not_runnable: str | None = None
    arena_required_bytes: int | None = None
    op_names: tuple[str, ...] = ()
    target: TargetFootprint | None = None

    @property
    def linked(self) -> TargetFootprint | None:
        """:attr:`target` when it stands for :attr:`board`, else ``None``."""
        target = self.target
        return target if target is not None and target.applies_to(self.board) else None

    @property
    def basis(self) -> str:
        """``"linked"`` when the figures come from a firmware build, else ``"estimate"``."""
        return "linked" if self.linked is not None else "estimate"

    @property
    def runtime_flash_estimate(self) -> int:
        """The board's core, TFLM and sketch estimate, plus a kernel estimate per known op."""
        return self.board.runtime_flash_bytes + kernel_flash_estimate(self.op_names)

    @property
    def flash_needed(self) -> int:
        """Linked flash plus the core estimate; otherwise model bytes plus runtime estimate."""
        if self.linked is not None:
            return self.linked.flash_needed(self.board)
        return self.model_bytes + self.runtime_flash_estimate

    @property
    def arena_needed(self) -> int | None:
        """The arena TFLM needs, rounded up to 16, or ``None`` if unmeasured."""
        return arena_needed(self.arena_bytes, self.arena_required_bytes)

    @property
    def tensor_arena_size(self) -> int | None:
        """The ``kTensorArenaSize`` a sketch reserves for the arena, or ``None`` if unmeasured."""
        if self.linked is not None:
            return self.linked.arena_reserve(self.arena_bytes, self.arena_required_bytes)
        if self.arena_bytes is None:
            return None
        return tensor_arena_size(self.arena_bytes, self.arena_required_bytes)

    @property
    def ram_needed(self) -> int | None:
        """Linked RAM, stack and core estimate; or ``kTensorArenaSize`` + runtime estimate."""
        if self.linked is not None:
            return self.linked.ram_needed(self.board, self.arena_bytes, self.arena_required_bytes)
        arena = self.tensor_arena_size
        return None if arena is None else arena + self.board.runtime_ram_bytes

    @property
    def fits_flash(self) -> bool:
        """Whether the flash figure fits the board's maximum program size."""
        return self.flash_needed <= self.board.flash_bytes

    @property
    def fits_ram(self) -> bool | None:
        """Whether the RAM figure fits the board's data size, or ``None`` if unmeasured."""
        needed = self.ram_needed
        return None if needed is None else needed <= self.board.ram_bytes

    @property
    def fits(self) -> bool:
        """True only if the model and board run TFLM and flash and (measured) RAM both fit."""
        return (
            self.not_runnable is None
            and self.board.tflm
            and self.fits_flash
            and self.fits_ram is not False
        )

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the model cannot run on the board, one sentence each; empty if it fits."""
        found = []
        if self.not_runnable is not None:
            found.append(f"not runnable on a microcontroller: {self.not_runnable}")
        if not self.board.tflm:
            found.append(f"{self.board.title} cannot run TensorFlow Lite Micro")
        if not self.fits_flash:
            found.append(self._flash_line())
        if self.fits_ram is False:
            found.append(self._ram_line())
        return tuple(found)

    def require(self) -> BudgetReport:
        """Return this report if the model fits; raise with the figures if not.

        Raises:
            BudgetError: The model cannot run on a microcontroller, the board cannot run TFLM,
                or the model does not fit its flash or RAM. The message gives each problem with
                the figures needed and available, the boards the model would fit, and how to
                shrink it.
        """
        if self.fits:
            return self
        target = self.board
        if self.not_runnable is not None:
            headline = "The model cannot run on a microcontroller, so it cannot run on any board."
        elif not target.tflm:
            headline = f"The model cannot run on the {target.name}."
        else:
            parts = [] if self.fits_flash else ["flash"]
            if self.fits_ram is False:
                parts.append("RAM")
            headline = f"The model does not fit the {target.name}'s {' and '.join(parts)}."
        raise BudgetError("\n".join([headline, *self.problems, f"Next step: {_advice(self)}"]))

    def summary(self) -> str:
        """Return the figures as a few human-readable lines."""
        board = self.board
        lines = [self._flash_line(), self._ram_line()]
        if not board.tflm:
            lines.append(board.note or f"{board.name} cannot run TensorFlow Lite Micro.")
        if self.not_runnable is not None:
            lines.append(f"The model is not runnable on a microcontroller: {self.not_runnable}")
        return "\n".join(lines)

    def _flash_line(self) -> str:
        board = self.board
        if self.linked is not None:
            return (
                f"flash: needs {self.flash_needed:,} B ({self.linked.flash_text(board)}); "
                f"{board.name} has {board.flash_bytes:,} B"
                + _shortfall(self.flash_needed, board.flash_bytes)
            )
        # Without the ops, the runtime has no kernels in it: the figure is a lower bound.
        bound = "about" if self.op_names else "at least"
        return (
            f"flash: needs {bound} {self.flash_needed:,} B (model {self.model_bytes:,} B + "
            f"runtime estimate {self.runtime_flash_estimate:,} B); {board.name} has "
            f"{board.flash_bytes:,} B" + _shortfall(self.flash_needed, board.flash_bytes)
        )

    def _ram_line(self) -> str:
        board = self.board
        if self.ram_needed is None:
            return f"RAM: arena not measured; {board.name} has {board.ram_bytes:,} B"
        if self.linked is not None:
            text = self.linked.ram_text(board, self.arena_bytes, self.arena_required_bytes)
            return (
                f"RAM: needs {self.ram_needed:,} B ({text}); {board.name} has "
                f"{board.ram_bytes:,} B" + _shortfall(self.ram_needed, board.ram_bytes)
            )
        return (
            f"RAM: needs {self.ram_needed:,} B (arena {self.arena_needed:,} B measured in "
            f"TFLM + {ALIGNMENT_MARGIN} B alignment + {SKETCH_ARENA_MARGIN:,} B sketch margin "
            f"+ runtime estimate {board.runtime_ram_bytes:,} B); {board.name} has "
            f"{board.ram_bytes:,} B" + _shortfall(self.ram_needed, board.ram_bytes)
        )


def _shortfall(needed: int, available: int) -> str:
    if needed <= available:
        return f" ({needed / available:.1%} used)"
    return f" (short by {needed - available:,} B)"


def check_budget(
    model: Any,
    board: str | Board,
    *,
    arena_bytes: int | None = None,
    target: TargetFootprint | None = None,
) -> BudgetReport:
    """Work out the flash and RAM ``model`` needs on ``board``; refuse nothing.

    Call :meth:`BudgetReport.require` on the result to raise if it does not fit.

    Args:
        model: The model: anything :func:`~tinybench.measure.model_bytes.model_bytes` accepts
            (``.tflite`` bytes, a ``.tflite`` file, an export folder, a ``Variant``), or a
            ``Profile`` (anything with ``flash_model_bytes`` and ``arena_bytes``, and
            optionally ``arena_required_bytes``, ``op_names``, ``runnable_on_mcu`` and
            ``reason``).
        board: Board name or :class:`~tinybench.boards.Board`.
        arena_bytes: The measured arena, if the caller already has it. Otherwise it is taken
            from the profile or measured with :func:`~tinybench.measure.tflm_arena.arena_report`,
            and only when the model and the board run TFLM and the model fits the flash.
        target: The model's firmware measured for the emulated Cortex-M4F
            (:func:`tinybench.emulate.footprint.target_footprint`); a profile's own target is
            used when this is ``None``. It counts only on a Cortex-M4 board.

    Returns:
        The figures.

    Raises:
        ModelError: ``model`` is not a readable ``.tflite`` model.
        UnsupportedOpError: The model uses ops TFLM lacks (when its arena is measured).
        ConfigError: ``board`` is unknown.
    """
    report, tflite = _unmeasured_report(model, get_board(board))
    if target is not None:
        report = dataclasses.replace(report, target=target)
    if arena_bytes is not None:
        return dataclasses.replace(report, arena_bytes=arena_bytes, arena_required_bytes=None)
    if (
        report.arena_bytes is None
        and tflite is not None
        and report.fits_flash
        and (report.board.tflm and report.not_runnable is None)
    ):
        measured = arena_report(tflite)
        report = dataclasses.replace(
            report,
            arena_bytes=measured.reported_bytes,
            arena_required_bytes=measured.required_bytes,
        )
    return report


def _advice(report: BudgetReport) -> str:
    if report.not_runnable is not None:
        return (
            "convert the model to int8 (post-training or QAT) or keep it float32; float16 and "
            "dynamic-range models only run in LiteRT on Linux-class devices."
        )
    others = [
        board.name
        for board in list_boards()
        if board.name != report.board.name and dataclasses.replace(report, board=board).fits
    ]
    if not others:
        bigger = "no known board fits it as it is"
    elif report.arena_bytes is None:
        bigger = f"pick a board whose flash it fits (arena not measured yet): {', '.join(others)}"
    else:
        bigger = f"pick a board it would fit: {', '.join(others)}"
    return (
        f"{bigger}; or shrink the model: int8 quantization (about 4x smaller than float32), a "
        "smaller width or fewer layers. Pruning does not shrink flash (it only shrinks the gzip "
        "size) unless the runtime decompresses."
    )


def _unmeasured_report(model: Any, board: Board) -> tuple[BudgetReport, bytes | None]:
    """Return the figures known from ``model`` itself, and its flatbuffer if available."""
    if hasattr(model, "flash_model_bytes") and hasattr(model, "arena_bytes"):
        not_runnable = None
        if getattr(model, "runnable_on_mcu", True) is False:
            not_runnable = getattr(model, "reason", None) or "its profile says so"
        report = BudgetReport(
            board,
            int(model.flash_model_bytes),
            model.arena_bytes,
            not_runnable,
            arena_required_bytes=getattr(model, "arena_required_bytes", None),
            op_names=tuple(getattr(model, "op_names", ())),
            target=getattr(model, "target", None),
        )
        return report, None
    data, info = load_model(model)
    report = BudgetReport(
        board, len(data), None, info.mcu_reason or None, op_names=tuple(info.op_names)
    )
    return report, data
