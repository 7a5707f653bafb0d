"""What every fine-tuning recipe shares: cloning, the layers to compress, and the training loop.

Fine-tuning follows tfmot's advice for a trained model. It works on a clone (never the
caller's model), starts from the trained weights at a tenth of the learning rate the model was
trained with, and keeps the weights of the epoch with the lowest validation loss. Pruning and
clustering leave three kinds of layer alone (:func:`compressed_layers`): the first, the
classifier and layers under :data:`MIN_COMPRESSED_WEIGHTS` weights.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tinybench.errors import RecipeError
from tinybench.optimize.recipe import DEFAULT_EPOCHS
from tinybench.tf_runtime import load_keras, load_tfmot
from tinybench.train.fit import fit

__all__ = [
    "BATCH_SIZE",
    "MIN_COMPRESSED_WEIGHTS",
    "TrainingData",
    "clone_model",
    "compressed_layers",
    "fine_tune",
    "fine_tune_rate",
    "fine_tuning_steps",
    "kernel_of",
    "layers_to_compress",
    "rebuild",
    "refusing",
    "weight_sparsity",
]

log = logging.getLogger(__name__)

MIN_COMPRESSED_WEIGHTS = 1024
"""Layers with fewer weights stay dense and unclustered: compressing them saves little."""
BATCH_SIZE = 32
"""Fine-tuning batch size."""

_LEARNING_RATE_FACTOR = 0.1  # fine-tune at a tenth of the rate the model was trained with
_FALLBACK_LEARNING_RATE = 1e-4  # for a model compiled without a plain learning rate


class TrainingData(Protocol):
    """What fine-tuning and calibration need, such as ``dataset.Prepared``."""

    train: Any
    val: Any
    labels: tuple[str, ...]


def compressed_layers(model: Any) -> tuple[str, ...]:
    """Names of the layers that pruning and clustering change, in model order.

    These are the layers with a kernel, except three kinds that hold few of the weights but
    much of the accuracy. The first layer sees the raw input channels with few weights per
    filter. The last layer is the classifier. Layers with fewer than
    :data:`MIN_COMPRESSED_WEIGHTS` weights are also left out.

    Args:
        model: A ``tf_keras`` model.
    """
    weighted = [layer for layer in model.layers if kernel_of(layer) is not None]
    return tuple(
        layer.name
        for layer in weighted[1:-1]
        if int(np.prod(kernel_of(layer).shape)) >= MIN_COMPRESSED_WEIGHTS
    )


def weight_sparsity(model: Any) -> float:
    """Fraction of exact zeros over every kernel of ``model``; biases are not counted.

    Kernels inside tfmot wrappers (quantization-aware layers) are counted too. The result is
    0.0 for a model with no kernel.
    """
    kernels = [np.asarray(k) for k in (kernel_of(layer) for layer in model.layers) if k is not None]
    total = sum(k.size for k in kernels)
    return float(sum(np.count_nonzero(k == 0) for k in kernels) / total) if total else 0.0


def clone_model(model: Any) -> Any:
    """A copy with the same weights, so fine-tuning never touches the caller's model."""
    keras = load_keras()
    if not isinstance(model, keras.Sequential) and not getattr(model, "_is_graph_network", False):
        raise RecipeError(
            f"fine-tuning recipes refused for {type(model).__name__} {model.name!r}: tfmot "
            "prunes, clusters and quantizes only Sequential and functional tf_keras models, "
            "not subclassed ones. Rebuild it with keras.Sequential or the functional API "
            "(see tinybench.train.models), or use a post-training recipe ('int8')."
        )
    with refusing("fine-tuning", "the model cannot be cloned"):
        clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@dataclass(frozen=True)
class FineTuning:
    """How a recipe fine-tunes a clone of the trained model; every recipe takes one.

    Attributes:
        epochs: Fine-tuning epochs. The epoch with the lowest validation loss is kept (for
            pruning, among the epochs that end at the final sparsity).
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate; ``None`` for a tenth of the model's own.
    """

    epochs: int = DEFAULT_EPOCHS
    seed: int = 0
    progress: bool = True
    learning_rate: float | None = None


DEFAULT_TUNING = FineTuning()


def fine_tune(
    wrapped: Any,
    original: Any,
    data: TrainingData,
    tuning: FineTuning,
    *,
    pruning: bool = False,
    first_epoch: int = 1,
) -> None:
    """Fine-tune ``wrapped`` in place and keep its epoch with the lowest validation loss.

    Only epochs from ``first_epoch`` on compete (for pruning, those that end at the final
    sparsity). Without validation data the last epoch's weights stay.
    """
    keras = load_keras()
    target = "inputs" if tuple(original.output_shape) == tuple(original.input_shape) else "labels"
    loss = getattr(original, "loss", None) or (
        "mse" if target == "inputs" else "sparse_categorical_crossentropy"
    )
    rate = fine_tune_rate(original) if tuning.learning_rate is None else tuning.learning_rate
    wrapped.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=loss,
        metrics=["accuracy"] if target == "labels" else [],
    )
    callbacks = []
    if pruning:
        callbacks.append(load_tfmot().sparsity.keras.UpdatePruningStep())
    keep = _keep_best(keras, first_epoch)
    callbacks.append(keep)  # after UpdatePruningStep, so the weights it keeps are masked
    fit(
        wrapped,
        data.train,
        data.val,
        epochs=tuning.epochs,
        batch_size=BATCH_SIZE,
        patience=None,
        seed=tuning.seed,
        progress=tuning.progress,
        target=target,
        callbacks=callbacks,
    )
    log.info(
        "fine-tuned %s for %d epochs at learning rate %.2g, kept epoch %s (val_loss %.4f)",
        original.name,
        tuning.epochs,
        rate,
        keep.best_epoch or tuning.epochs,
        keep.best,
    )


def _keep_best(keras: Any, first_epoch: int) -> Any:
    """A callback that restores the weights of the best epoch from ``first_epoch`` on."""

    class KeepBest(keras.callbacks.Callback):
        """Remember the weights of the epoch with the lowest ``val_loss``; restore them."""

        def __init__(self) -> None:
            super().__init__()
            self.best = math.inf
            self.best_epoch = 0
            self.weights: list[np.ndarray] | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            value = (logs or {}).get("val_loss")
            if epoch + 1 < first_epoch or value is None or not value < self.best:
                return
            self.best, self.best_epoch = float(value), epoch + 1
            self.weights = self.model.get_weights()

        def on_train_end(self, logs: dict[str, float] | None = None) -> None:
            if self.weights is not None:
                self.model.set_weights(self.weights)

    return KeepBest()


def fine_tune_rate(model: Any) -> float:
    """A tenth of the learning rate ``model`` was compiled with (1e-4 if it has none)."""
    try:
        rate = model.optimizer.get_config()["learning_rate"]
        if isinstance(rate, Mapping):  # a schedule: start from its initial rate
            rate = rate["config"]["initial_learning_rate"]
        rate = float(rate)
    except (AttributeError, KeyError, TypeError, ValueError):
        return _FALLBACK_LEARNING_RATE
    return _LEARNING_RATE_FACTOR * rate if rate > 0 else _FALLBACK_LEARNING_RATE


def layers_to_compress(model: Any, recipe: str) -> tuple[str, ...]:
    """:func:`compressed_layers`, refusing a model that has none."""
    chosen = compressed_layers(model)
    if not chosen:
        kept = ", ".join(
            f"{layer.name} ({int(np.prod(kernel_of(layer).shape))} weights)"
            for layer in model.layers
            if kernel_of(layer) is not None
        )
        raise RecipeError(
            f"recipe {recipe} refused: model {model.name!r} has no layer worth compressing. "
            f"Its weight layers ({kept or 'none'}) are the first, the last or smaller than "
            f"{MIN_COMPRESSED_WEIGHTS} weights, and those stay as trained. Use the 'int8' "
            "recipe, or a model with hidden layers."
        )
    return chosen


def rebuild(model: Any, wrap: Callable[[Any], Any]) -> Any:
    """The same layers (and weights) as ``model``, each passed through ``wrap``."""
    return load_keras().models.clone_model(model, clone_function=wrap)


def kernel_of(layer: Any) -> Any:
    """The weight kernel variable of ``layer`` (inside a tfmot wrapper too), or None."""
    names = ("kernel", "depthwise_kernel")
    if hasattr(layer, "layer"):  # a tfmot wrapper; its inner layer's kernel may be a tensor
        return next(
            (w for w in layer.weights if w.name.split("/")[-1].split(":")[0] in names), None
        )
    return next((getattr(layer, n) for n in names if getattr(layer, n, None) is not None), None)


def fine_tuning_steps(data: TrainingData, epochs: int) -> int:
    """Total optimizer steps of a fine-tuning run."""
    return max(1, math.ceil(len(data.train.x) / BATCH_SIZE)) * epochs


@contextmanager
def refusing(recipe: str, what: str) -> Iterator[None]:
    """Turn tfmot's errors for unsupported models into a :class:`RecipeError` with a reason."""
    try:
        yield
    except RecipeError:
        raise
    except (ValueError, RuntimeError, TypeError) as error:
        message = str(error).split(". You")[0].split("\n")[0]
        raise RecipeError(
            f"recipe {recipe} refused: {what}: {message}. Build the model with "
            "tinybench.train.models, whose layers every recipe supports, or choose a post-training "
            "recipe ('int8')."
        ) from error
