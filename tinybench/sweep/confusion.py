"""A confusion matrix of a variant's test predictions, as a figure built without pyplot."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from tinybench.errors import ConfigError
from tinybench.sweep.figures import new_figure

__all__ = ["plot_confusion"]


def plot_confusion(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """Plot a confusion matrix: true labels down, predicted labels across.

    Args:
        y_true: True class indices.
        y_pred: Predicted class indices, same length.
        labels: Class names, indexed by class.
        normalize: Show each row as fractions of that true class (counts are printed too).
        title: Figure title; a default gives the accuracy.

    Returns:
        The figure.

    Raises:
        ConfigError: The arrays differ in length, are empty, or hold an index outside
            ``labels``.
    """
    true = np.asarray(y_true, dtype=int).ravel()
    pred = np.asarray(y_pred, dtype=int).ravel()
    n = len(labels)
    if true.shape != pred.shape or true.size == 0:
        raise ConfigError(
            f"y_true and y_pred must be non-empty and equally long; got {true.size} and "
            f"{pred.size}. Pass the test labels and the model's predictions for them."
        )
    bad = sorted({int(v) for v in np.concatenate([true, pred]) if not 0 <= v < n})
    if bad:
        raise ConfigError(
            f"Class indices {bad} are outside the {n} labels {list(labels)}. Pass the labels "
            "the model was trained with, in class order."
        )
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (true, pred), 1)
    totals = counts.sum(axis=1, keepdims=True)
    shown = counts / np.maximum(totals, 1) if normalize else counts
    fig = new_figure(figsize=(1.1 * n + 2.5, 1.0 * n + 1.8), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "windows")
    ax.set_xticks(range(n), labels=list(labels), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(labels))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    high = shown.max() if shown.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{shown[i, j]:.0%}\n({counts[i, j]})" if normalize else f"{counts[i, j]}"
            dark = shown[i, j] > 0.6 * high
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
            )
    accuracy = float(np.trace(counts)) / true.size
    ax.set_title(title or f"Confusion matrix: accuracy {accuracy:.1%} on {true.size} windows")
    return fig
