"""Self-checking exercises for notebook 03b: each ``check_…`` says right or wrong, with a hint.

Every check takes the student's answer first and the object the notebook computed second, so
the right answer is the student's own model's, never a constant. ``None`` means "not answered
yet" and gets the hint. Solutions are in ``docs/teaching-solutions.md``, not in the notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from tinybench.teach.hand_compute import HandComputation
from tinybench.teach.layer_error import LayerErrors
from tinybench.teach.pruning_view import PruningComparison

__all__ = [
    "CheckResult",
    "HandExercise",
    "check_flash_saving",
    "check_hand_output",
    "check_most_damaged_layer",
    "hand_exercise",
]


@dataclass(frozen=True)
class CheckResult:
    """What a check says about an answer.

    Attributes:
        right: Whether the answer is right.
        message: "Right: …" or "Not yet: …" with a hint.
    """

    right: bool
    message: str

    def __str__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.right

    def _repr_html_(self) -> str:
        color = "green" if self.right else "#b35900"
        return f"<p style='color:{color}'><b>{html.escape(self.message)}</b></p>"


@dataclass(frozen=True)
class HandExercise:
    """The numbers a student needs to compute one int8 output by hand.

    Attributes:
        index: The output's index in ``HandComputation.output`` (window first).
        accumulator: The int32 accumulator, bias included.
        multiplier: The 31-bit fixed-point multiplier.
        shift: The power-of-two shift.
        zero_point: The output zero point.
        clamp: The activation's ``(low, high)`` in int8 codes.
    """

    index: tuple[int, ...]
    accumulator: int
    multiplier: int
    shift: int
    zero_point: int
    clamp: tuple[int, int]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{name}</td><td style='text-align:right'>{value}</td></tr>"
            for name, value in (
                ("output index", self.index),
                ("accumulator (int32, bias included)", self.accumulator),
                ("multiplier", self.multiplier),
                ("shift", self.shift),
                ("output zero point", self.zero_point),
                ("clamp", self.clamp),
            )
        )
        return f"<p><b>Compute this int8 output by hand</b></p><table>{rows}</table>"


def hand_exercise(hand: HandComputation) -> HandExercise:
    """An output other than the worked example, with what is needed to compute it."""
    flat = hand.output.size - 1 - (hand.output.size // 3)
    index = tuple(int(i) for i in divmod_index(flat, hand.output.shape))
    if index == hand.example:
        index = tuple(int(i) for i in divmod_index(0, hand.output.shape))
    channel = index[-1]
    return HandExercise(
        index,
        int(hand.accumulators[index]),
        int(hand.multipliers[channel]),
        int(hand.shifts[channel]),
        int(hand.layer.outputs[0].zero_points[0]),
        hand.clamp,
    )


def divmod_index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of element ``flat`` of a C-ordered array of ``shape``."""
    index = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return tuple(reversed(index))


def check_hand_output(answer: Any, hand: HandComputation) -> CheckResult:
    """Check an int8 output computed by hand for :func:`hand_exercise`'s output."""
    exercise = hand_exercise(hand)
    want = int(hand.tflm[exercise.index])
    hint = (
        "Multiply the accumulator by the multiplier, divide by 2**31 rounding to nearest "
        "(ties away from zero), then divide by 2**(-shift) rounding again, add the zero point "
        f"and clamp to {exercise.clamp}."
    )
    if answer is None:
        return CheckResult(False, f"Not answered yet. {hint}")
    if _as_int(answer) == want:
        return CheckResult(True, f"Right: TFLM computes {want} too, bit for bit.")
    if _as_int(answer) == int(hand.single_rounding[exercise.index]):
        return CheckResult(
            False,
            f"Not yet: {answer} is what a single rounding gives. TFLM rounds twice: first the "
            "doubling high multiply, then the division by a power of two.",
        )
    return CheckResult(False, f"Not yet: {answer} is not TFLM's output. {hint}")


def check_most_damaged_layer(answer: Any, errors: LayerErrors) -> CheckResult:
    """Check which layer loses most to int8: an operator index or its label (``"7 CONV_2D"``)."""
    worst = errors.most_damaged
    hint = "Look for the tallest bar in the per-layer error plot; answer with its operator index."
    if answer is None:
        return CheckResult(False, f"Not answered yet. {hint}")
    guess = str(answer).split()[0]
    if guess.lstrip("-").isdigit() and int(guess) == worst:
        return CheckResult(
            True,
            f"Right: operator {worst} has the largest relative error. Errors add up along the "
            "network, and a layer with few output levels or a wide range per scale loses most.",
        )
    return CheckResult(
        False, f"Not yet: {answer!s} is not the layer with the largest error. {hint}"
    )


def check_flash_saving(answer: Any, comparison: PruningComparison) -> CheckResult:
    """Check how many bytes of flash the most pruned variant saves against dense int8."""
    sizes = comparison.sizes
    if "int8" not in sizes.index or len(sizes) < 2:
        return CheckResult(False, "This exercise needs the dense 'int8' and a pruned variant.")
    pruned = sizes.drop(index="int8")["weight_sparsity"].idxmax()
    want = int(sizes.loc["int8", "flash_bytes"] - sizes.loc[pruned, "flash_bytes"])
    hint = (
        f"Compare flash_bytes of 'int8' and {pruned!r} in the table, not gzip_bytes: the "
        "board stores the file as it is."
    )
    if answer is None:
        return CheckResult(False, f"Not answered yet. {hint}")
    if _as_int(answer) == want:
        return CheckResult(
            True,
            f"Right: {want} bytes. Pruning sets weights to zero but keeps every slot, so the "
            "flatbuffer does not shrink; only compression (gzip) profits from the zeros.",
        )
    return CheckResult(False, f"Not yet: {answer!s} bytes is not what flash saves. {hint}")


def _as_int(answer: Any) -> int | None:
    try:
        return int(answer)
    except (TypeError, ValueError):
        return None
