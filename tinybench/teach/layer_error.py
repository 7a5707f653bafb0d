"""Where quantization hurts: each layer's output in int8 against float, on real windows.

:func:`layer_errors` runs the float model and the int8 model on the same test windows in
LiteRT with ``experimental_preserve_all_tensors`` on the reference kernels (``BUILTIN_REF``;
TFLM cannot hand back intermediate tensors, see :mod:`tinybench.teach.intermediates`). It
matches the two models' operators in execution order, dequantizes each int8 output and reports
the relative RMS error ``rms(int8 − float) / rms(float)`` per layer. Errors add up along the
network: a layer's error includes what the layers before it lost.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tinybench.measure import read_model
from tinybench.measure.layer_tensors import read_layer
from tinybench.sweep.figures import new_figure
from tinybench.teach.intermediates import litert_tensors
from tinybench.teach.quant_params import matching_op

__all__ = ["LayerErrors", "layer_errors", "plot_layer_errors"]

INTERPRETER = "LiteRT, reference kernels (BUILTIN_REF), experimental_preserve_all_tensors"
"""Where the per-layer numbers come from."""


@dataclass(frozen=True)
class LayerErrors:
    """Relative RMS error of each layer's int8 output against the float model's.

    Attributes:
        table: One row per operator: ``op`` (index), ``name`` (op name), ``label``
            (``"7 FULLY_CONNECTED"``), ``relative_rms`` and ``rms`` (in the tensor's float
            units).
        windows: How many test windows were run.
        interpreter: Which interpreter computed both models' tensors.
    """

    table: pd.DataFrame
    windows: int
    interpreter: str = INTERPRETER

    @property
    def most_damaged(self) -> int:
        """Operator index of the layer with the largest relative error."""
        return int(self.table.loc[self.table["relative_rms"].idxmax(), "op"])

    def _repr_html_(self) -> str:
        return (
            f"<p>Relative RMS error per layer over {self.windows} test windows; both models "
            f"run in {html.escape(self.interpreter)}.</p>" + self.table.to_html(index=False)
        )


def layer_errors(
    int8_model: object, float_model: object, windows: np.ndarray, *, count: int = 32
) -> LayerErrors:
    """Compare every layer's output of an int8 model with its float model's.

    Args:
        int8_model: The int8 model (bytes, path or ``Variant``).
        float_model: The float32 model made from the same trained weights.
        windows: Float test windows (``prepare(...).test.x``); the first ``count`` are run.
        count: How many windows to run.

    Raises:
        ConfigError: The models' operators differ, or the windows do not fit.
        ProfileError: LiteRT cannot load a model.
    """
    windows = np.asarray(windows)[:count]
    int8_outputs = litert_tensors(int8_model, windows)
    float_outputs = litert_tensors(float_model, windows)
    rows = []
    for op in read_model(int8_model).ops:
        if op.subgraph != 0 or op.name in ("QUANTIZE", "DEQUANTIZE"):
            continue
        tensor = read_layer(int8_model, op.index).outputs[0]
        quantized = int8_outputs[op.index]
        if len(tensor.scales):
            values = (quantized.astype(np.float64) - float(tensor.zero_points[0])) * float(
                tensor.scales[0]
            )
        else:
            values = quantized.astype(np.float64)
        reference = float_outputs[matching_op(int8_model, float_model, op.index)]
        error = values.reshape(reference.shape) - reference.astype(np.float64)
        rms = float(np.sqrt(np.mean(error**2)))
        scale = float(np.sqrt(np.mean(reference.astype(np.float64) ** 2)))
        rows.append(
            {
                "op": op.index,
                "name": op.name,
                "label": f"{op.index} {op.name}",
                "relative_rms": rms / scale if scale > 0 else float("nan"),
                "rms": rms,
            }
        )
    return LayerErrors(pd.DataFrame(rows), len(windows))


def plot_layer_errors(errors: LayerErrors) -> Figure:
    """Bar chart of each layer's relative RMS error, the worst one highlighted."""
    table = errors.table
    fig = new_figure(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    colors = ["tab:red" if op == errors.most_damaged else "tab:blue" for op in table["op"]]
    ax.bar(table["label"], table["relative_rms"] * 100, color=colors)
    ax.set_ylabel("relative RMS error (%)")
    ax.set_xlabel("operator, in execution order")
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_title(f"int8 against float32, {errors.windows} test windows ({errors.interpreter})")
    return fig
