"""Pruning made visible: zeros per layer, one weight matrix, and what the bytes do.

:func:`compare_pruning` takes variants of one model (dense int8, pruned 80%, 2:4…) and reads
from each flatbuffer every layer's fraction of zero int8 weights, the model's length in bytes
(what flash holds), its gzip length and how many of its bytes are zero. A pruned model keeps
every weight slot, zeros included, so its flatbuffer is exactly as long as the dense one; the
runs of zero bytes are what gzip squeezes out. :func:`plot_pruned_weights` draws one layer's
weight matrix for each variant, zeros in white.
"""

from __future__ import annotations

import gzip
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tinybench.errors import ConfigError
from tinybench.measure import model_bytes, read_model
from tinybench.measure.layer_tensors import read_layer
from tinybench.sweep.figures import new_figure
from tinybench.teach.sweep_rows import width_variants

__all__ = [
    "PruningComparison",
    "compare_pruning",
    "plot_pruned_weights",
    "pruning_variants",
    "sweep_pruning",
]

_WEIGHTED = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass(frozen=True)
class PruningComparison:
    """Variants of one model side by side: sparsity per layer and bytes.

    Attributes:
        sparsity: One row per weighted layer (``label``), one column per variant: the
            fraction of int8 weights that are exactly zero.
        sizes: One row per variant: ``flash_bytes`` (length of the ``.tflite``),
            ``gzip_bytes``, ``zero_bytes`` (bytes of the file that are 0x00) and
            ``weight_sparsity``.
        matrices: Variant name to the weight matrix of ``layer`` (output channels × the rest).
        layer: Operator index whose matrix is shown.
        missing: Pruning kinds that were asked for but not found, with why.
    """

    sparsity: pd.DataFrame
    sizes: pd.DataFrame
    matrices: dict[str, np.ndarray] = field(repr=False)
    layer: int
    missing: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        note = "".join(f"<p>{html.escape(m)}</p>" for m in self.missing)
        return (
            "<p><b>Zero weights per layer</b> (fraction of int8 weights equal to 0)</p>"
            + self.sparsity.to_html(float_format="{:.0%}".format)
            + "<p><b>Bytes</b>: flash holds the whole file; gzip squeezes the zeros</p>"
            + self.sizes.to_html(float_format="{:.0%}".format)
            + note
        )


def pruning_variants(variants: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Pick dense int8, magnitude-pruned and 2:4 variants out of one width's variants.

    Args:
        variants: Recipe id to variant, as from
            :func:`~tinybench.teach.sweep_rows.width_variants`.

    Returns:
        The chosen variants in display order, and a note for each kind that is missing.
    """
    chosen = {name: variants[name] for name in ("int8",) if name in variants}
    pruned = sorted(
        (n for n in variants if n.startswith(("prune", "pqat")) and "2_4" not in n),
        key=lambda n: (n.startswith("pqat"), n),
    )
    chosen.update({name: variants[name] for name in pruned})
    two_four = [n for n in variants if n.startswith("prune_2_4")]
    chosen.update({name: variants[name] for name in two_four})
    missing = []
    if "int8" not in chosen:
        missing.append("No dense 'int8' variant at this width: add 'int8' to the grid.")
    if not two_four:
        missing.append(
            "No 2:4 variant at this width: the 'ci' grid leaves prune_2_4 out; run notebook "
            "03 with GRID = 'full' to see it."
        )
    return chosen, tuple(missing)


def compare_pruning(
    variants: Mapping[str, Any], layer: int | None = None, *, missing: tuple[str, ...] = ()
) -> PruningComparison:
    """Sparsity per layer and bytes of each variant, and one layer's weight matrices.

    Args:
        variants: Name to int8 model (bytes, path or ``Variant``), all of one architecture.
        layer: Operator index of the matrix to show; by default the weighted layer with the
            most weights.
        missing: Notes to show about variants that could not be had.

    Raises:
        ConfigError: No variants, or they have different weighted layers.
    """
    if not variants:
        raise ConfigError("compare_pruning needs at least one variant, for example {'int8': v}.")
    columns, sizes, matrices = {}, [], {}
    for name, model in variants.items():
        data = model_bytes(model)
        weights = _weights(data)
        columns[name] = {label: float(np.mean(w == 0)) for label, (_, w) in weights.items()}
        all_weights = np.concatenate([w.ravel() for _, w in weights.values()])
        sizes.append(
            {
                "variant": name,
                "flash_bytes": len(data),
                "gzip_bytes": len(gzip.compress(data, mtime=0)),
                "zero_bytes": data.count(0),
                "weight_sparsity": float(np.mean(all_weights == 0)),
            }
        )
        if layer is None:
            layer = max(weights.values(), key=lambda item: item[1].size)[0]
        matrix = next((w for op, w in weights.values() if op == layer), None)
        if matrix is None:
            raise ConfigError(f"Variant {name!r} has no weighted operator {layer}.")
        matrices[name] = matrix.reshape(matrix.shape[0], -1)
    sparsity = pd.DataFrame(columns)
    sparsity.index.name = "layer"
    assert layer is not None
    return PruningComparison(
        sparsity, pd.DataFrame(sizes).set_index("variant"), matrices, layer, missing
    )


def sweep_pruning(
    results: pd.DataFrame, variant: Any, layer: int | None = None
) -> PruningComparison:
    """:func:`compare_pruning` of the sweep's dense, pruned and 2:4 variants at ``variant``'s width.

    Raises:
        ConfigError: The variant is not in the sweep (see
            :func:`~tinybench.teach.sweep_rows.variant_width`).
    """
    chosen, missing = pruning_variants(width_variants(results, variant))
    return compare_pruning(chosen, layer, missing=missing)


def plot_pruned_weights(comparison: PruningComparison) -> Figure:
    """One layer's int8 weight matrix per variant; zeros are white."""
    names = list(comparison.matrices)
    fig = new_figure(figsize=(3.6 * len(names), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    image = None
    for ax, name in zip(axes, names, strict=True):
        matrix = comparison.matrices[name].astype(float)
        shown = np.ma.masked_equal(np.abs(matrix), 0)
        image = ax.imshow(
            shown.T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=128
        )
        ax.set_title(f"{name}: {np.mean(matrix == 0):.0%} zeros")
        ax.set_xlabel("output channel")
        ax.set_ylabel("input (kernel × channels)")
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="|int8 code| (white = 0)")
    fig.suptitle(f"Operator {comparison.layer}: weight matrices")
    return fig


def _weights(data: bytes) -> dict[str, tuple[int, np.ndarray]]:
    """``label → (op index, int8 weights)`` for each weighted layer of the model."""
    found = {}
    for op in read_model(data).ops:
        if op.subgraph != 0 or op.name not in _WEIGHTED:
            continue
        weights = read_layer(data, op.index).inputs[1]
        if weights is not None and weights.data is not None:
            found[f"{op.index} {op.name}"] = (op.index, weights.data)
    return found
