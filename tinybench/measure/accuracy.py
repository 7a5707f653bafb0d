"""Top-1 accuracy of a model in an interpreter, on float or integer data.

:func:`evaluate` quantizes float inputs with the model's own input scale and zero point, runs
them through a :class:`~tinybench.measure.interpreters.Runner` and compares the top class with
the labels (integer indices, or names matched to the model's labels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinybench.errors import ConfigError, DatasetError
from tinybench.measure.interpreters import Runner, dequantize, quantize

__all__ = ["evaluate", "examples_and_labels"]


def evaluate(
    runner: Runner, dataset: Any, *, labels: list[str] | tuple[str, ...] | None = None
) -> float:
    """Return top-1 accuracy of ``runner`` on ``dataset``.

    Float inputs are quantized with the model's input scale and zero point when the model
    takes integers. A model with one output is read as a binary classifier (score >= 0.5).

    Args:
        runner: A :class:`~tinybench.measure.interpreters.TflmRunner` or
        :class:`~tinybench.measure.interpreters.LiteRtRunner`.
        dataset: A tuple ``(x, y)`` or an object with ``.x`` and ``.y``.
        labels: Class names in output order; needed when ``y`` holds names.

    Raises:
        DatasetError: Shapes or labels do not match the model.
        ConfigError: ``labels`` does not match the model's number of classes.
    """
    x, y = examples_and_labels(dataset)
    classes = max(runner.output.size, 2)
    y = _label_indices(y, labels, classes)
    example = runner.input.shape[1:] if runner.input.shape[:1] == (1,) else runner.input.shape
    if x.shape[1:] != example:
        raise DatasetError(
            f"Dataset examples have shape {x.shape[1:]}, but the model takes {example}. "
            "Window and reshape the data the way the model was trained."
        )
    if np.issubdtype(x.dtype, np.floating):
        x = quantize(x, runner.input)
    scores = dequantize(runner.predict(x), runner.output).reshape(len(x), -1)
    predicted = (scores[:, 0] >= 0.5).astype(int) if scores.shape[1] == 1 else scores.argmax(1)
    return float(np.mean(predicted == y))


def examples_and_labels(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` from a tuple ``(x, y)`` or an object with ``.x`` and ``.y``.

    Raises:
        DatasetError: Neither, or the two do not have the same, non-zero length.
    """
    if isinstance(dataset, tuple | list) and len(dataset) == 2:
        x, y = dataset
    elif hasattr(dataset, "x") and hasattr(dataset, "y"):
        x, y = dataset.x, dataset.y
    else:
        raise DatasetError(
            f"Cannot read examples from a {type(dataset).__name__}. Pass a tuple (x, y) or "
            "an object with .x (inputs) and .y (labels) attributes."
        )
    x, y = np.asarray(x), np.asarray(y)
    if len(x) == 0 or len(x) != len(y):
        raise DatasetError(
            f"The dataset has {len(x)} inputs and {len(y)} labels; it needs the same "
            "number of each, and at least one."
        )
    return x, y.reshape(len(y))


def _label_indices(
    y: np.ndarray, labels: list[str] | tuple[str, ...] | None, classes: int
) -> np.ndarray:
    if labels is not None and len(labels) != classes:
        raise ConfigError(
            f"{len(labels)} labels {list(labels)!r} for a model with {classes} classes. "
            f"Pass exactly {classes} label names, in the model's output order."
        )
    if y.dtype.kind in "US":
        if labels is None:
            raise DatasetError(
                f"The labels are names ({str(y[0])!r}, …); pass labels=[...] in the model's "
                "output order so they can be matched to outputs."
            )
        index = {name: i for i, name in enumerate(labels)}
        unknown = sorted({str(v) for v in y} - index.keys())
        if unknown:
            raise DatasetError(
                f"Labels {unknown!r} are not among the model's labels {list(labels)!r}. "
                "Fix the labels, or pass the labels the model was trained with."
            )
        return np.array([index[str(v)] for v in y])
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise DatasetError(
            f"Labels have dtype {y.dtype}; accuracy needs integer class indices (or names "
            "with labels=[...]). For regression models, leave dataset=None."
        )
    y = y.astype(int)
    bad = y[(y < 0) | (y >= classes)]
    if bad.size:
        raise DatasetError(
            f"Label {int(bad[0])} is outside 0..{classes - 1}, the model's {classes} "
            "classes. Check that the dataset and the model use the same classes."
        )
    return y
