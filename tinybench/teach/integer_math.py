"""TFLM's integer requantization, written out in numpy so every step can be looked at.

An int8 layer sums ``int8 × int8`` products into int32 accumulators. To turn an accumulator
back into an int8 output it multiplies by the real number ``input_scale × weight_scale /
output_scale``, which TFLM stores as a 31-bit fixed-point ``multiplier`` and a power-of-two
``shift`` (:func:`quantize_multiplier`). TFLM applies them in two rounding steps, as gemmlowp
does (:func:`saturating_rounding_doubling_high_mul`, then :func:`rounding_divide_by_pot`);
builds with ``TFLITE_SINGLE_ROUNDING`` round once (:func:`multiply_single_rounding`). The
two disagree by one now and then: that is the "TFLM rounds twice" in DESIGN's stack facts.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "activation_range",
    "multiply_by_quantized_multiplier",
    "multiply_single_rounding",
    "quantize_multiplier",
    "rounding_divide_by_pot",
    "saturating_rounding_doubling_high_mul",
]

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Split a positive real multiplier into TFLM's ``(multiplier, shift)``.

    ``real ≈ multiplier × 2**shift / 2**31`` with ``multiplier`` in ``[2**30, 2**31)``, as
    TFLM's ``QuantizeMultiplier``: ``frexp``, then round half away from zero to 31 bits.
    """
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    fixed = math.floor(abs(fraction) * (1 << 31) + 0.5) * (1 if fraction >= 0 else -1)
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(fixed), int(shift)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Gemmlowp's ``SaturatingRoundingDoublingHighMul``: ``round(a × b / 2**31)`` (first rounding).

    The product is nudged by ``2**30`` towards its sign's side, then divided with C's
    truncation toward zero.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    product = a * b
    nudge = np.where(product >= 0, 1 << 30, 1 - (1 << 30)).astype(np.int64)
    total = product + nudge
    high = np.where(total >= 0, total // (1 << 31), -((-total) // (1 << 31)))
    overflow = (a == _INT32_MIN) & (b == _INT32_MIN)
    return np.where(overflow, _INT32_MAX, high).astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """Gemmlowp's ``RoundingDivideByPOT``: ``x / 2**exponent`` rounded half away from zero."""
    x, exponent = np.asarray(x, dtype=np.int64), np.asarray(exponent, dtype=np.int64)
    mask = np.left_shift(np.int64(1), exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


def multiply_by_quantized_multiplier(
    x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int
) -> np.ndarray:
    """TFLM's default ``MultiplyByQuantizedMultiplier``: two roundings.

    A positive ``shift`` is a left shift before the multiply; a negative one is a rounding
    right shift after it. ``multiplier`` and ``shift`` may be arrays (one per channel) that
    broadcast against ``x``.
    """
    x, shift = np.asarray(x, dtype=np.int64), np.asarray(shift, dtype=np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    high = saturating_rounding_doubling_high_mul(np.left_shift(x, left), multiplier)
    return rounding_divide_by_pot(high, right)


def multiply_single_rounding(
    x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int
) -> np.ndarray:
    """``MultiplyByQuantizedMultiplier`` as built with ``TFLITE_SINGLE_ROUNDING``: one rounding."""
    x, multiplier = np.asarray(x, dtype=np.int64), np.asarray(multiplier, dtype=np.int64)
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    return (x * multiplier + np.left_shift(np.int64(1), total_shift - 1)) >> total_shift


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """The int8 clamp TFLM applies for a fused activation (``CalculateActivationRangeQuantized``).

    ReLU clamps below at the code of 0.0, ReLU6 also above at the code of 6.0; anything else
    uses the whole int8 range.
    """

    def code(value: float) -> int:
        quotient = float(np.float32(value) / np.float32(scale))
        return zero_point + int(math.copysign(math.floor(abs(quotient) + 0.5), quotient))

    low, high = -128, 127
    if activation in ("RELU", "RELU6"):
        low = max(low, code(0.0))
    if activation == "RELU6":
        high = min(high, code(6.0))
    if activation == "RELU_N1_TO_1":
        low, high = max(low, code(-1.0)), min(high, code(1.0))
    return low, high
