"""A layer's quantization parameters, and its weights before and after int8, for a lesson.

:func:`layer_quantization` reads one layer of an int8 model from the flatbuffer: the scale and
zero point of its input, weights and output (one weight scale per output channel when the
converter quantized per channel), and the weights as int8 codes. Beside them it puts the float
weights: from the float model with the same trained weights when one is given, otherwise the
int8 codes dequantized (``scale × (q − zero_point)``); ``float_source`` says which.
:func:`plot_weight_histograms` draws both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinybench.errors import ConfigError
from tinybench.measure import read_model
from tinybench.measure.layer_tensors import LayerTensors, read_layer
from tinybench.sweep.figures import new_figure
from tinybench.teach.hand_compute import default_layer

__all__ = ["LayerQuantization", "layer_quantization", "matching_op", "plot_weight_histograms"]

_SKIPPED = ("QUANTIZE", "DEQUANTIZE")


@dataclass(frozen=True)
class LayerQuantization:
    """One layer's quantization: parameters, int8 codes and float weights.

    Attributes:
        layer: The layer's tensors from the int8 flatbuffer.
        float_weights: The float weights, shaped like the int8 ones.
        float_source: Where ``float_weights`` come from: ``"float model"`` or
            ``"dequantized int8"``.
    """

    layer: LayerTensors = field(repr=False)
    float_weights: np.ndarray = field(repr=False)
    float_source: str

    @property
    def codes(self) -> np.ndarray:
        """The int8 weight codes as stored in the flatbuffer."""
        weights = self.layer.inputs[1]
        assert weights is not None and weights.data is not None
        return weights.data

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(role, name, scale, zero point)`` for input, weights, bias and output."""
        roles = ("input", "weights", "bias")
        tensors = list(zip(roles, self.layer.inputs, strict=False))
        tensors.append(("output", self.layer.outputs[0]))
        return [
            (role, t.name, _values(t.scales, "{:.6g}"), _values(t.zero_points, "{}"))
            for role, t in tensors
            if t is not None
        ]

    def _repr_html_(self) -> str:
        weights = self.layer.inputs[1]
        assert weights is not None
        kind = (
            f"per channel ({len(weights.scales)} scales along axis {weights.axis})"
            if weights.per_channel
            else "per tensor (one scale)"
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows()
        )
        return (
            f"<p><b>Operator {self.layer.op_index} ({self.layer.op_name})</b>: weights "
            f"quantized {kind}; fused activation {self.layer.activation}. Float weights from "
            f"the {self.float_source}.</p><table><tr><th>tensor</th><th>name</th>"
            f"<th>scale</th><th>zero point</th></tr>{body}</table>"
        )


def matching_op(int8_model: Any, float_model: Any, op_index: int) -> int:
    """The float model's operator that does what int8 operator ``op_index`` does.

    Operators are matched in execution order, leaving out QUANTIZE and DEQUANTIZE.

    Raises:
        ConfigError: The two models do not have the same operators.
    """
    int8_ops = [op for op in read_model(int8_model).ops if op.subgraph == 0]
    float_ops = [op for op in read_model(float_model).ops if op.subgraph == 0]
    kept = [op for op in int8_ops if op.name not in _SKIPPED]
    float_kept = [op for op in float_ops if op.name not in _SKIPPED]
    if [op.name for op in kept] != [op.name for op in float_kept]:
        raise ConfigError(
            f"The float model's operators {[op.name for op in float_kept]} do not match the "
            f"int8 model's {[op.name for op in kept]}: pass the float32 variant made from the "
            "same trained model (float_sibling(results, variant))."
        )
    position = [op.index for op in kept].index(op_index)
    return float_kept[position].index


def layer_quantization(
    model: Any, layer: int | None = None, *, float_model: Any = None
) -> LayerQuantization:
    """Read one int8 layer's scales, zero points and weights from the flatbuffer.

    Args:
        model: An int8 model (bytes, path or ``Variant``).
        layer: Operator index; the last FULLY_CONNECTED or CONV_2D by default.
        float_model: The float32 model with the same trained weights (the sweep's float32
            variant at the same width). Without it, the float weights are the int8 codes
            dequantized.

    Raises:
        ConfigError: The layer has no constant int8 weights, or the float model does not match.
    """
    op_index = default_layer(model) if layer is None else layer
    tensors = read_layer(model, op_index)
    weights = tensors.inputs[1] if len(tensors.inputs) > 1 else None
    if weights is None or weights.data is None or weights.dtype != "int8":
        raise ConfigError(
            f"Operator {op_index} ({tensors.op_name}) has no constant int8 weights. Pick a "
            "FULLY_CONNECTED or CONV_2D operator of an int8 model (default_layer(model))."
        )
    if float_model is None:
        return LayerQuantization(tensors, weights.dequantized(), "dequantized int8")
    float_layer = read_layer(float_model, matching_op(model, float_model, op_index))
    float_weights = float_layer.inputs[1]
    if float_weights is None or float_weights.data is None or float_weights.dtype != "float32":
        raise ConfigError(
            f"The float model's operator {float_layer.op_index} has no float32 weights; pass "
            "the float32 variant (float_sibling(results, variant))."
        )
    return LayerQuantization(tensors, float_weights.data.reshape(weights.shape), "float model")


def plot_weight_histograms(quantization: LayerQuantization, bins: int = 60) -> Figure:
    """Histograms of a layer's float weights (left) and their int8 codes (right)."""
    fig = new_figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.hist(quantization.float_weights.ravel(), bins=bins, color="tab:blue")
    left.set_title(f"float weights ({quantization.float_source})")
    left.set_xlabel("weight value")
    left.set_ylabel("count")
    codes = quantization.codes.ravel().astype(int)
    right.hist(codes, bins=np.arange(-128, 132, 4), color="tab:orange")
    right.set_title("int8 codes in the flatbuffer")
    right.set_xlabel("int8 code")
    right.set_xlim(-130, 130)
    layer = quantization.layer
    fig.suptitle(f"Operator {layer.op_index} ({layer.op_name}): {codes.size} weights")
    return fig


def _values(values: np.ndarray, fmt: str) -> str:
    """One value, or the first three and the range for per-channel arrays."""
    if not len(values):
        return "—"
    if len(values) == 1:
        return fmt.format(values[0])
    head = ", ".join(fmt.format(v) for v in values[:3])
    return f"{len(values)} values: {head}, … (min {fmt.format(values.min())}, max " + (
        f"{fmt.format(values.max())})"
    )
