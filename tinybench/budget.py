"""Will this model fit this board? The flash and RAM budget check run before every compile.

Flash: the model's bytes (exactly what the C array holds) plus the board's runtime estimate (core,
TFLM runtime and sketch, without per-op kernels), so the figure is a lower bound: a model refused
here cannot fit. RAM: the tensor arena measured by the TFLM interpreter, a 16-byte alignment
margin and the board's own RAM estimate for the core and the sketch's buffers. The arena is never
guessed: it comes from a :class:`~tinybench.profile.Profile`, from the caller, or from measuring
the model with :func:`tinybench.tflm.measure_arena`.

Boards that cannot run TensorFlow Lite Micro at all (``Board.tflm`` is False, the Uno) are refused
whatever the model's size, and the refusal names the boards the model would fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.boards import Board, get_board, list_boards
from tinybench.errors import BudgetError, ConfigError

__all__ = ["ARENA_ALIGNMENT_MARGIN", "BudgetReport", "budget_for", "check_budget"]

ARENA_ALIGNMENT_MARGIN = 16
"""Bytes added to the measured arena for the ``alignas(16)`` placement of ``tensor_arena``."""


@dataclass(frozen=True)
class BudgetReport:
    """The flash and RAM a model needs on one board, next to what the board has.

    Attributes:
        board: The board the figures are for.
        model_bytes: Size of the ``.tflite`` flatbuffer, exactly what the C array holds.
        arena_bytes: Tensor arena measured by the TFLM interpreter, or ``None`` when it was not
            measured (the board cannot run TFLM, or the model already overflows flash).
        not_runnable: Why the model cannot run on any microcontroller (a float16 or
            dynamic-range model, as its profile says), or ``None``.
    """

    board: Board
    model_bytes: int
    arena_bytes: int | None
    not_runnable: str | None = None

    @property
    def flash_needed(self) -> int:
        """Model bytes plus the board's runtime flash estimate: a lower bound."""
        return self.model_bytes + self.board.runtime_flash_bytes

    @property
    def ram_needed(self) -> int | None:
        """Arena plus alignment margin plus the board's runtime RAM, or ``None`` if unmeasured."""
        if self.arena_bytes is None:
            return None
        return self.arena_bytes + ARENA_ALIGNMENT_MARGIN + self.board.runtime_ram_bytes

    @property
    def fits_flash(self) -> bool:
        """Whether the flash lower bound fits the board's maximum program size."""
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

    def summary(self) -> str:
        """Return the figures as a few human-readable lines."""
        board = self.board
        lines = [
            f"flash: needs at least {self.flash_needed:,} B (model {self.model_bytes:,} B + "
            f"runtime estimate {board.runtime_flash_bytes:,} B); {board.name} has "
            f"{board.flash_bytes:,} B" + _shortfall(self.flash_needed, board.flash_bytes)
        ]
        if self.ram_needed is None:
            lines.append(f"RAM: arena not measured; {board.name} has {board.ram_bytes:,} B")
        else:
            lines.append(
                f"RAM: needs {self.ram_needed:,} B (arena {self.arena_bytes:,} B measured in "
                f"TFLM + {ARENA_ALIGNMENT_MARGIN} B alignment + runtime estimate "
                f"{board.runtime_ram_bytes:,} B); {board.name} has {board.ram_bytes:,} B"
                + _shortfall(self.ram_needed, board.ram_bytes)
            )
        if not board.tflm:
            lines.append(board.note or f"{board.name} cannot run TensorFlow Lite Micro.")
        if self.not_runnable is not None:
            lines.append(f"The model is not runnable on a microcontroller: {self.not_runnable}")
        return "\n".join(lines)


def _shortfall(needed: int, available: int) -> str:
    if needed <= available:
        return f" ({needed / available:.1%} used)"
    return f" (short by {needed - available:,} B)"


def budget_for(model: Any, board: str | Board, *, arena_bytes: int | None = None) -> BudgetReport:
    """Work out the flash and RAM ``model`` needs on ``board``, without refusing anything.

    Args:
        model: The model: ``.tflite`` bytes, a path to a ``.tflite`` file or to an export folder
            holding ``model.tflite``, an object with a ``tflite`` bytes attribute (a ``Variant``),
            or a ``Profile`` (anything with ``flash_model_bytes`` and ``arena_bytes``).
        board: Board name or :class:`~tinybench.boards.Board`.
        arena_bytes: The measured arena, if the caller already has it. Otherwise it is taken
            from the profile or measured with :func:`tinybench.tflm.measure_arena`, and only
            when the board runs TFLM and the model fits its flash.

    Returns:
        The figures; see :func:`check_budget` to refuse a model that does not fit.

    Raises:
        ConfigError: ``model`` is none of the accepted kinds, or a path does not exist.
        ProfileError: The model cannot run in TFLM at all (float16, dynamic-range).
    """
    target = get_board(board)
    model_bytes, tflite, known_arena, not_runnable = _model_figures(model)
    if arena_bytes is None:
        arena_bytes = known_arena
    report = BudgetReport(target, model_bytes, arena_bytes, not_runnable)
    if report.arena_bytes is None and tflite is not None and target.tflm and report.fits_flash:
        from tinybench.tflm import measure_arena

        report = BudgetReport(target, model_bytes, measure_arena(tflite))
    return report


def check_budget(model: Any, board: str | Board, *, arena_bytes: int | None = None) -> BudgetReport:
    """Refuse a model that cannot fit ``board``'s flash or RAM, with the figures.

    Args:
        model: As for :func:`budget_for`.
        board: Board name or :class:`~tinybench.boards.Board`.
        arena_bytes: The measured arena, if the caller already has it.

    Returns:
        The figures, when the model fits.

    Raises:
        BudgetError: The board cannot run TFLM, or the model does not fit its flash or RAM. The
            message gives both figures, the boards the model would fit, and how to shrink it.
    """
    report = budget_for(model, board, arena_bytes=arena_bytes)
    if report.fits:
        return report
    target = report.board
    if report.not_runnable is not None:
        headline = "The model cannot run on a microcontroller, so it cannot run on any board."
    elif not target.tflm:
        headline = (
            f"The {target.name} ({target.title}) cannot run TensorFlow Lite Micro, so it cannot "
            "run this model."
        )
    else:
        parts = [] if report.fits_flash else ["flash"]
        if report.fits_ram is False:
            parts.append("RAM")
        headline = f"The model does not fit the {target.name}'s {' and '.join(parts)}."
    raise BudgetError(f"{headline}\n{report.summary()}\nNext step: {_advice(report)}")


def _advice(report: BudgetReport) -> str:
    if report.not_runnable is not None:
        return (
            "convert the model to int8 (post-training or QAT) or keep it float32; float16 and "
            "dynamic-range models only run in LiteRT on Linux-class devices."
        )
    others = [
        board.name
        for board in list_boards()
        if board.name != report.board.name
        and BudgetReport(board, report.model_bytes, report.arena_bytes).fits
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


def _model_figures(model: Any) -> tuple[int, bytes | None, int | None, str | None]:
    """Return (model bytes, flatbuffer if available, arena if known, why not runnable)."""
    if hasattr(model, "flash_model_bytes") and hasattr(model, "arena_bytes"):
        not_runnable = None
        if getattr(model, "runnable_on_mcu", True) is False:
            not_runnable = getattr(model, "reason", None) or "its profile says so"
        return int(model.flash_model_bytes), None, model.arena_bytes, not_runnable
    tflite = getattr(model, "tflite", model)
    if isinstance(tflite, bytes | bytearray | memoryview):
        data = bytes(tflite)
    elif isinstance(tflite, str | Path):
        path = Path(tflite)
        if path.is_dir():
            path = path / "model.tflite"
        if not path.is_file():
            raise ConfigError(
                f"No model at {str(path)!r}. Pass .tflite bytes, a .tflite file, an export folder "
                "holding model.tflite, a Variant or a Profile."
            )
        data = path.read_bytes()
    else:
        raise ConfigError(
            f"Cannot check the budget of a {type(model).__name__}. Pass .tflite bytes, a .tflite "
            "file, an export folder holding model.tflite, a Variant or a Profile."
        )
    if not data:
        raise ConfigError("The model is empty (0 bytes). Export or convert the model again.")
    return len(data), data, None, None
