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
from tinybench.tf_runtime import load_keras, load_tfmot

__all__ = ["check_quantizable", "quantization_aware"]


def quantization_aware(
    model: Any,
    data: TrainingData,
    *,
    tuning: FineTuning = DEFAULT_TUNING,
    keep_zeros: bool = False,
) -> Any:
    """Fine-tune a clone with fake-quantization (tfmot's default 8-bit scheme).

    PQAT is :func:`~tinybench.optimize.pruning.prune` followed by this with ``keep_zeros``:
    tfmot's ``Default8BitPrunePreserveQuantizeScheme`` then keeps the pruned weights at zero
    while it learns the quantization.

    Args:
        model: The trained (or pruned) model, left untouched.
        data: Normalized training data.
        tuning: Fine-tuning settings: epochs, seed, progress bar, learning rate.
        keep_zeros: Keep the weights that are zero at zero (recipe ``pqat``).

    Returns:
        The quantization-aware model; convert it with :func:`convert_int8`.

    Raises:
        RecipeError: tfmot cannot quantize one of the model's layers.
    """
    recipe = "pqat" if keep_zeros else "qat"
    tfmot = load_tfmot()
    check_quantizable(model, recipe)
    quantization = tfmot.quantization.keras
    if keep_zeros:
        scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    else:
        scheme = quantization.default_8bit.Default8BitQuantizeScheme()
    with refusing(recipe, "tfmot cannot quantization-aware train this model"):
        annotated = quantization.quantize_annotate_model(clone_model(model))
        aware = quantization.quantize_apply(annotated, scheme)
    fine_tune(aware, model, data, tuning)
    return aware


def check_quantizable(model: Any, recipe: str = "qat") -> None:
    """Refuse before any training if tfmot's default 8-bit scheme lacks one of the layers.

    Raises:
        RecipeError: Naming ``recipe``, the layers, and what to use instead.
    """
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
