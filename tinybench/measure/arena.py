"""The one rule for how many bytes of RAM a model's tensor arena takes on a board.

TFLM reports an "Arena allocation total"; the smallest arena that really allocates can be a
little larger (see DESIGN "Stack facts"), so the larger figure counts. A sketch then reserves:

    tensor_arena_size = round_up(max(reported, required), 16)   # what TFLM needs
                      + ALIGNMENT_MARGIN                         # alignas(16) placement
                      + margin                                   # SKETCH_ARENA_MARGIN by default

The margin covers what the 64-bit host measurement cannot see: CMSIS-NN scratch buffers that
optimized kernels request on the board. The exported ``kTensorArenaSize``, the budget's RAM
figure, the profile, the sweep and deploy all call :func:`tensor_arena_size`, so the RAM a fit
check counts is exactly the RAM the sketch reserves.
"""

from __future__ import annotations

__all__ = [
    "ALIGNMENT",
    "ALIGNMENT_MARGIN",
    "SKETCH_ARENA_MARGIN",
    "arena_needed",
    "round_up",
    "tensor_arena_size",
]

ALIGNMENT = 16
"""TFLM aligns tensors to 16 bytes; arena figures are rounded up to it."""
ALIGNMENT_MARGIN = 16
"""Bytes added for the ``alignas(16)`` placement of ``tensor_arena``."""
SKETCH_ARENA_MARGIN = 1024
"""Bytes a sketch reserves beyond the measured arena, for kernel scratch buffers on the board."""


def round_up(value: int, multiple: int = ALIGNMENT) -> int:
    """Return ``value`` rounded up to a multiple of ``multiple``."""
    return -(-value // multiple) * multiple


def arena_needed(reported: int | None, required: int | None = None) -> int | None:
    """Return the arena TFLM needs, or ``None`` if it was not measured.

    Args:
        reported: "Arena allocation total" from TFLM's allocation report.
        required: The smallest arena that allocates and invokes, if measured.

    Returns:
        The larger of the two figures, rounded up to 16 bytes.
    """
    if reported is None:
        return None
    return round_up(reported if required is None else max(reported, required))


def tensor_arena_size(
    reported: int, required: int | None = None, margin: int = SKETCH_ARENA_MARGIN
) -> int:
    """Return the ``kTensorArenaSize`` to reserve for a model: the rule in the module docstring.

    Args:
        reported: "Arena allocation total" from TFLM's allocation report.
        required: The smallest arena that allocates and invokes, if measured.
        margin: Bytes reserved beyond the measurement (0 for a host interpreter).

    Returns:
        Bytes, a multiple of 16.
    """
    needed = reported if required is None else max(reported, required)
    return round_up(needed) + ALIGNMENT_MARGIN + round_up(margin)
