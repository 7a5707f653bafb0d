"""Quantization-aware training (QAT), alone or after pruning (PQAT), with tfmot's 8-bit scheme.

tfmot cannot quantization-aware train every layer (``Conv1D`` among them): such models are
refused before any training, with the layers named.
"""

from __future__ import annotations

from typing import Any

from tinybench.errors import RecipeError
from tinybench.optimize.fine_tune import (
    DEFAULT_TUNING,
    FineTuning,
    TrainingData,
    clone_model,
    fine_tune,
    refusing,
)
from tinybench.optimize.pruning import prune
from tinybench.tf_runtime import load_keras, load_tfmot

__all__ = ["pqat", "quantization_aware"]


def quantization_aware(
    model: Any,
    data: TrainingData,
    *,
    tuning: FineTuning = DEFAULT_TUNING,
) -> Any:
    """Fine-tune a clone with fake-quantization (tfmot default 8-bit scheme).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        tuning: Fine-tuning settings: epochs, seed, progress bar, learning rate.

    Returns:
        The quantization-aware model; convert it with :func:`convert_int8`.

    Raises:
        RecipeError: tfmot cannot quantize one of the model's layers.
    """
    tfmot = load_tfmot()
    _check_quantizable(model, "qat")
    clone = clone_model(model)
    with refusing("qat", "tfmot cannot quantization-aware train this model"):
        aware = tfmot.quantization.keras.quantize_model(clone)
    fine_tune(aware, model, data, tuning)
    return aware


def pqat(
    model: Any,
    data: TrainingData,
    sparsity: float,
    schedule: str | Any = "polynomial",
    *,
    tuning: FineTuning = DEFAULT_TUNING,
) -> Any:
    """Pruning-preserving quantization-aware training: :func:`prune`, then QAT that keeps zeros.

    Uses tfmot's ``Default8BitPrunePreserveQuantizeScheme``; both phases fine-tune with
    ``tuning`` (a :class:`~tinybench.optimize.fine_tune.FineTuning`) and keep their epoch with
    the lowest validation loss.

    Returns:
        The quantization-aware model; convert it with :func:`convert_int8`.
    """
    tfmot = load_tfmot()
    _check_quantizable(model, "pqat")
    pruned = prune(model, data, sparsity, schedule, tuning=tuning)
    quantization = tfmot.quantization.keras
    scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    with refusing("pqat", "tfmot cannot quantization-aware train this model"):
        aware = quantization.quantize_apply(quantization.quantize_annotate_model(pruned), scheme)
    fine_tune(aware, model, data, tuning)
    return aware


def _check_quantizable(model: Any, recipe: str) -> None:
    """Refuse before any training if tfmot's default 8-bit scheme lacks one of the layers."""
    keras = load_keras()
    registry = load_tfmot().quantization.keras.default_8bit.Default8BitQuantizeScheme()
    supports = registry.get_quantize_registry().supports
    bad = [
        f"{layer.name} ({type(layer).__name__})"
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer) and not supports(layer)
    ]
    if bad:
        raise RecipeError(
            f"recipe {recipe} refused: tfmot's default 8-bit quantization-aware training does "
            f"not support the layers {', '.join(bad)}. Replace them (Conv1D → Conv2D with "
            "(k, 1) kernels, as tinybench.train.models.conv1d_classifier does) or use the "
            "post-training 'int8' recipe."
        )
