"""One int8 layer computed by hand with TFLM's integer arithmetic, checked against TFLM.

:func:`compute_by_hand` takes a FULLY_CONNECTED or CONV_2D layer of an int8 model and a few
test windows. TFLM computes the layer's input and output (the model is cut after the layer,
see :mod:`tinybench.teach.intermediates`); numpy then recomputes every output from that input
with the layer's int8 weights, int32 bias, fixed-point multiplier and shift, output zero point
and activation clamp, and compares with TFLM's output bit for bit. It also requantizes with a
single rounding, to count the outputs where TFLM's double rounding gives another int8 value.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinybench.errors import ConfigError
from tinybench.measure import read_model
from tinybench.measure.layer_tensors import LayerTensors, read_layer
from tinybench.teach.integer_math import (
    activation_range,
    multiply_by_quantized_multiplier,
    multiply_single_rounding,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from tinybench.teach.intermediates import tflm_layer_io

__all__ = ["HAND_OPS", "HandComputation", "compute_by_hand", "default_layer"]

HAND_OPS = ("FULLY_CONNECTED", "CONV_2D")
"""Operators :func:`compute_by_hand` can recompute."""


@dataclass(frozen=True)
class HandComputation:
    """Every output of one layer, by hand and from TFLM, for a batch of windows.

    Attributes:
        layer: The layer's tensors and options, from the flatbuffer.
        inputs: The layer's int8 input for each window, as TFLM computed it.
        accumulators: int32 sums ``Σ (x - input_zp) × (w - weight_zp) + bias``, output shape.
        multipliers: Fixed-point multiplier per output channel.
        shifts: Power-of-two shift per output channel.
        clamp: ``(low, high)`` of the fused activation in int8 codes.
        output: The hand-computed int8 outputs (double rounding, as TFLM).
        single_rounding: The outputs had TFLM rounded once.
        tflm: TFLM's outputs of the layer.
        example: Index (window, position…, channel) of the output shown step by step.
    """

    layer: LayerTensors = field(repr=False)
    inputs: np.ndarray = field(repr=False)
    accumulators: np.ndarray = field(repr=False)
    multipliers: np.ndarray = field(repr=False)
    shifts: np.ndarray = field(repr=False)
    clamp: tuple[int, int]
    output: np.ndarray = field(repr=False)
    single_rounding: np.ndarray = field(repr=False)
    tflm: np.ndarray = field(repr=False)
    example: tuple[int, ...]

    @property
    def matches_tflm(self) -> bool:
        """Whether every hand-computed output equals TFLM's, bit for bit."""
        return bool(np.array_equal(self.output, self.tflm))

    @property
    def mismatches(self) -> int:
        """Outputs where the hand computation and TFLM differ (0 when it is right)."""
        return int(np.count_nonzero(self.output != self.tflm))

    @property
    def rounding_differences(self) -> int:
        """Outputs where single rounding would give another int8 value than TFLM's two."""
        return int(np.count_nonzero(self.output != self.single_rounding))

    def steps(self, index: tuple[int, ...] | None = None) -> list[tuple[str, int]]:
        """The arithmetic for one output (``example`` by default), step by step."""
        index = self.example if index is None else tuple(index)
        channel = index[-1]
        acc = int(self.accumulators[index])
        mult, shift = int(self.multipliers[channel]), int(self.shifts[channel])
        high = int(saturating_rounding_doubling_high_mul(acc << max(shift, 0), mult))
        scaled = int(rounding_divide_by_pot(high, max(-shift, 0)))
        zero = int(self.layer.outputs[0].zero_points[0])
        return [
            ("accumulator Σ(x−zp_in)·w + bias (int32)", acc),
            ("multiplier (31-bit fixed point)", mult),
            ("shift (power of two)", shift),
            ("1st rounding: SaturatingRoundingDoublingHighMul", high),
            ("2nd rounding: RoundingDivideByPOT", scaled),
            ("+ output zero point", scaled + zero),
            (f"clamped to [{self.clamp[0]}, {self.clamp[1]}] = by hand", int(self.output[index])),
            ("TFLM's output", int(self.tflm[index])),
            ("with a single rounding it would be", int(self.single_rounding[index])),
        ]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{value}</td></tr>"
            for name, value in self.steps()
        )
        verdict = (
            f"all {self.output.size} outputs equal TFLM's bit for bit"
            if self.matches_tflm
            else f"{self.mismatches} of {self.output.size} outputs differ from TFLM"
        )
        return (
            f"<p><b>Operator {self.layer.op_index} ({self.layer.op_name}), output "
            f"{self.example}</b>: {verdict}; single rounding would change "
            f"{self.rounding_differences} of them.</p><table>{rows}</table>"
        )


def default_layer(model: Any) -> int:
    """The last FULLY_CONNECTED or CONV_2D operator of the model's main subgraph.

    Raises:
        ConfigError: The model has neither.
    """
    ops = [op for op in read_model(model).ops if op.subgraph == 0 and op.name in HAND_OPS]
    if not ops:
        raise ConfigError(f"The model has no {' or '.join(HAND_OPS)} operator to compute by hand.")
    return ops[-1].index


def compute_by_hand(
    model: Any, windows: np.ndarray, layer: int | None = None, *, count: int = 8
) -> HandComputation:
    """Recompute every output of one int8 layer in numpy and compare with TFLM.

    Args:
        model: An int8 model (bytes, path or ``Variant``).
        windows: Test windows (float, as from ``prepare(...).test.x``); the first ``count``
            are used.
        layer: Operator index; the last FULLY_CONNECTED or CONV_2D by default.
        count: How many windows to run.

    Raises:
        ConfigError: The layer is not FULLY_CONNECTED or CONV_2D, or not int8.
        ProfileError: TFLM cannot run the model.
    """
    op_index = default_layer(model) if layer is None else layer
    tensors = read_layer(model, op_index)
    _check_layer(tensors)
    x, tflm = tflm_layer_io(model, op_index, np.asarray(windows)[:count])
    x = x.reshape(len(x), *tensors.inputs[0].shape[1:])
    acc = _accumulate(tensors, x)
    multipliers, shifts = _multipliers(tensors)
    zero = int(tensors.outputs[0].zero_points[0])
    out_scale = float(tensors.outputs[0].scales[0])
    clamp = activation_range(tensors.activation, out_scale, zero)
    double = multiply_by_quantized_multiplier(acc, multipliers, shifts) + zero
    single = multiply_single_rounding(acc, multipliers, shifts) + zero
    tflm = tflm.reshape(acc.shape)
    output = np.clip(double, *clamp).astype(np.int8)
    single_out = np.clip(single, *clamp).astype(np.int8)
    differ = np.argwhere(output != single_out)
    example = tuple(int(i) for i in (differ[0] if len(differ) else np.zeros(acc.ndim, int)))
    return HandComputation(
        tensors, x, acc, multipliers, shifts, clamp, output, single_out, tflm, example
    )


def _check_layer(tensors: LayerTensors) -> None:
    if tensors.op_name not in HAND_OPS:
        raise ConfigError(
            f"Operator {tensors.op_index} is {tensors.op_name}; compute_by_hand handles "
            f"{', '.join(HAND_OPS)}. Pass layer=default_layer(model) or another index from "
            "read_model(model).ops."
        )
    kinds = [t.dtype if t is not None else "none" for t in tensors.inputs[:2]]
    if kinds != ["int8", "int8"] or tensors.outputs[0].dtype != "int8":
        raise ConfigError(
            f"Operator {tensors.op_index} has {kinds} inputs and a "
            f"{tensors.outputs[0].dtype} output; the hand computation is for int8 layers. "
            "Use a full-integer int8 variant (recipe 'int8', 'qat' or 'prune80+int8')."
        )


def _accumulate(tensors: LayerTensors, x: np.ndarray) -> np.ndarray:
    """int32 accumulators with the bias, shaped like the layer's output (batch axis = windows)."""
    weights, bias = tensors.inputs[1], tensors.inputs[2] if len(tensors.inputs) > 2 else None
    assert weights is not None and weights.data is not None
    xz = x.astype(np.int64) - int(tensors.inputs[0].zero_points[0])
    w = weights.data.astype(np.int64) - weights.zero_points.reshape(
        [-1] + [1] * (weights.data.ndim - 1)
    )
    if tensors.op_name == "FULLY_CONNECTED":
        depth = w.shape[-1]
        acc = xz.reshape(len(xz), -1, depth) @ w.reshape(-1, depth).T
        acc = acc.reshape(len(xz), *tensors.outputs[0].shape[1:])
    else:
        acc = _conv(xz, w, tensors)
    if bias is not None and bias.data is not None:
        acc = acc + bias.data.astype(np.int64)
    return acc


def _conv(xz: np.ndarray, w: np.ndarray, tensors: LayerTensors) -> np.ndarray:
    """NHWC convolution of zero-point-shifted inputs; padding contributes zeros, as in TFLM."""
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = tensors.stride, tensors.dilation
    out_h, out_w = tensors.outputs[0].shape[1:3]
    in_h, in_w = xz.shape[1:3]
    pad_h = max((out_h - 1) * sh + (kh - 1) * dh + 1 - in_h, 0) // 2
    pad_w = max((out_w - 1) * sw + (kw - 1) * dw + 1 - in_w, 0) // 2
    if tensors.padding != "SAME":
        pad_h = pad_w = 0
    padded = np.pad(xz, ((0, 0), (pad_h, kh * dh), (pad_w, kw * dw), (0, 0)))
    acc = np.zeros((len(xz), out_h, out_w, w.shape[0]), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = padded[:, i * dh : i * dh + out_h * sh : sh, j * dw : j * dw + out_w * sw : sw]
            acc += patch @ w[:, i, j, :].T
    return acc


def _multipliers(tensors: LayerTensors) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel ``(multiplier, shift)`` as TFLM derives them, in double precision."""
    weights = tensors.inputs[1]
    assert weights is not None
    channels = tensors.outputs[0].shape[-1]
    scales = np.broadcast_to(weights.scales, (channels,)) if not weights.per_channel else None
    scales = weights.scales if scales is None else scales
    in_scale = float(tensors.inputs[0].scales[0])
    out_scale = float(tensors.outputs[0].scales[0])
    pairs = [quantize_multiplier(in_scale * float(s) / out_scale) for s in scales]
    return np.array([m for m, _ in pairs], np.int64), np.array([s for _, s in pairs], np.int64)
