"""Pruning: unstructured magnitude pruning to a sparsity, and structured 2:4 pruning.

Pruning ramps sparsity up from 50% with a polynomial schedule over the first two thirds of the
steps and holds it for the last third; only epochs that end at the final sparsity compete for
the kept weights. Pruning shrinks the gzip size, not the flash size, unless the runtime
decompresses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinybench.errors import RecipeError
from tinybench.optimize.fine_tune import (
    DEFAULT_TUNING,
    FineTuning,
    TrainingData,
    clone_model,
    fine_tune,
    fine_tuning_steps,
    kernel_of,
    layers_to_compress,
    rebuild,
    refusing,
)
from tinybench.optimize.recipe import SCHEDULES, Recipe
from tinybench.tf_runtime import load_tfmot

__all__ = ["prune", "prune_2_4"]

_RAMP = 2 / 3  # pruning reaches its final sparsity after this share of the steps
_FIRST_SPARSITY = 0.5  # where the ramp starts, as in tfmot's guide (validated on gestures)
_MASK_UPDATES = 16  # pruning mask updates during the ramp


def prune(
    model: Any,
    data: TrainingData,
    sparsity: float,
    schedule: str | Any = "polynomial",
    *,
    tuning: FineTuning = DEFAULT_TUNING,
) -> Any:
    """Magnitude-prune the kernels of :func:`compressed_layers` of a clone, then strip wrappers.

    Each of those kernels ends with ``sparsity`` of its weights at zero. The first layer,
    the classifier and small layers keep theirs, so the model as a whole is a little less
    sparse (:func:`weight_sparsity` says how much).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        sparsity: Fraction of zero weights in each pruned kernel, in ``[0, 1)``.
        schedule: ``"polynomial"`` (from 50%, or the kernel's sparsity if higher, up to
            ``sparsity`` over the first two thirds of the steps, then held), ``"constant"``,
            or a tfmot ``PruningSchedule``.
        tuning: Fine-tuning settings; the kept epoch is the best of those that end at the
            final sparsity.

    Returns:
        A plain (stripped) Keras model whose kernels hold the zeros.

    Raises:
        RecipeError: The model has no layer worth pruning, or tfmot cannot prune it.
    """
    recipe = Recipe("prune", sparsity=sparsity, epochs=tuning.epochs)
    tfmot = load_tfmot()
    sparsity_api = tfmot.sparsity.keras
    steps_per_epoch = fine_tuning_steps(data, 1)
    clone = clone_model(model)
    chosen = layers_to_compress(clone, "prune")
    schedules = {
        layer.name: _schedule(
            tfmot, schedule, recipe.sparsity or 0.0, steps_per_epoch * tuning.epochs, _zeros(layer)
        )
        for layer in clone.layers
        if layer.name in chosen
    }

    def wrap(layer: Any) -> Any:
        if layer.name not in schedules:
            return layer
        return sparsity_api.prune_low_magnitude(layer, pruning_schedule=schedules[layer.name])

    with refusing("prune", "tfmot cannot prune this model"):
        wrapped = rebuild(clone, wrap)
    final_step = max(_final_step(tfmot, s) for s in schedules.values())
    first_epoch = min(tuning.epochs, max(1, math.ceil(final_step / steps_per_epoch)))
    fine_tune(wrapped, model, data, tuning, pruning=True, first_epoch=first_epoch)
    return sparsity_api.strip_pruning(wrapped)


def prune_2_4(
    model: Any,
    data: TrainingData,
    *,
    tuning: FineTuning = DEFAULT_TUNING,
) -> Any:
    """Structured 2:4 pruning: in every 4 consecutive input-channel weights, 2 are zero.

    Applies to :func:`compressed_layers`. tfmot sets the 2:4 masks once, at the first step,
    and lays the blocks along the input channels of the TFLite layout; it supports only
    rank-2 (Dense) and rank-4 (Conv2D) kernels.

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        tuning: Fine-tuning settings: epochs, seed, progress bar, learning rate.

    Returns:
        A plain (stripped) Keras model.

    Raises:
        RecipeError: A kernel to prune is not rank 2 or 4 (``Conv1D``, for example), or the
            model has no layer worth pruning.
    """
    tfmot = load_tfmot()
    sparsity_api = tfmot.sparsity.keras
    clone = clone_model(model)
    chosen = layers_to_compress(clone, "prune_2_4")
    bad = [
        f"{layer.name} ({type(layer).__name__}, rank {len(kernel_of(layer).shape)})"
        for layer in clone.layers
        if layer.name in chosen and len(kernel_of(layer).shape) not in (2, 4)
    ]
    if bad:
        raise RecipeError(
            f"recipe prune_2_4 refused: tfmot's 2:4 sparsity handles rank-2 (Dense) and rank-4 "
            f"(Conv2D) kernels only, and {', '.join(bad)} differ. Build the model with "
            "tinybench.train.models (Conv2D with (k, 1) kernels) or use unstructured 'prune50'."
        )

    def wrap(layer: Any) -> Any:
        if layer.name not in chosen:
            return layer
        return sparsity_api.prune_low_magnitude(
            layer,
            pruning_schedule=sparsity_api.ConstantSparsity(0.5, begin_step=0),
            sparsity_m_by_n=(2, 4),
        )

    with refusing("prune_2_4", "tfmot cannot prune this model"):
        wrapped = rebuild(clone, wrap)
    fine_tune(wrapped, model, data, tuning, pruning=True)
    return sparsity_api.strip_pruning(wrapped)


def _zeros(layer: Any) -> float:
    """Fraction of zeros in the kernel of ``layer``."""
    return float(np.mean(np.asarray(kernel_of(layer)) == 0))


def _schedule(
    tfmot: Any, schedule: str | Any, sparsity: float, steps: int, initial: float = 0.0
) -> Any:
    """A pruning schedule to ``sparsity``, reached after two thirds of ``steps``.

    The polynomial ramp starts from 50% or the kernel's ``initial`` sparsity, whichever is
    higher, and updates the masks :data:`_MASK_UPDATES` times. A tfmot schedule object is
    returned as it is.
    """
    sparsity_api = tfmot.sparsity.keras
    if not isinstance(schedule, str):
        return schedule
    if schedule not in SCHEDULES:
        raise RecipeError(f"unknown pruning schedule {schedule!r}; choose one of {SCHEDULES}.")
    ramp = int(steps * _RAMP)
    frequency = max(1, ramp // _MASK_UPDATES)
    end = ramp // frequency * frequency
    initial = min(max(initial, _FIRST_SPARSITY), sparsity)
    if schedule == "constant" or end < 1 or initial >= sparsity:
        return sparsity_api.ConstantSparsity(sparsity, begin_step=0, frequency=frequency)
    return sparsity_api.PolynomialDecay(
        initial_sparsity=initial,
        final_sparsity=sparsity,
        begin_step=0,
        end_step=end,
        frequency=frequency,
    )


def _final_step(tfmot: Any, schedule: Any) -> int:
    """The training step at which ``schedule`` first applies its final sparsity (0: unknown)."""
    sparsity_api = tfmot.sparsity.keras
    if isinstance(schedule, sparsity_api.PolynomialDecay):
        return max(0, int(schedule.end_step))
    if isinstance(schedule, sparsity_api.ConstantSparsity):  # first update: step 1 at the earliest
        begin = int(schedule.begin_step)
        return begin if begin >= 1 else int(schedule.frequency)
    return 0
