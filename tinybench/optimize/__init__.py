"""Optimization: every recipe turns a trained model into a ``Variant``.

``recipe`` reads what to do (``Recipe.parse("prune80+int8")``); ``convert`` holds the
post-training conversions; ``qat``, ``pruning`` (incl. 2:4) and ``clustering`` the fine-tuning
techniques, sharing ``fine_tune``; ``variant`` applies a recipe and holds the result.
"""

from tinybench.optimize.clustering import cluster
from tinybench.optimize.convert import (
    convert_dynamic,
    convert_float16,
    convert_float32,
    convert_int8,
)
from tinybench.optimize.fine_tune import (
    MIN_COMPRESSED_WEIGHTS,
    FineTuning,
    TrainingData,
    compressed_layers,
    weight_sparsity,
)
from tinybench.optimize.pruning import prune, prune_2_4
from tinybench.optimize.qat import check_quantizable, quantization_aware
from tinybench.optimize.recipe import CONVERSIONS, KINDS, Recipe
from tinybench.optimize.variant import NOT_ON_MCU_REASON, Variant, make_variant

__all__ = [
    "CONVERSIONS",
    "KINDS",
    "MIN_COMPRESSED_WEIGHTS",
    "NOT_ON_MCU_REASON",
    "FineTuning",
    "Recipe",
    "TrainingData",
    "Variant",
    "check_quantizable",
    "cluster",
    "compressed_layers",
    "convert_dynamic",
    "convert_float16",
    "convert_float32",
    "convert_int8",
    "make_variant",
    "prune",
    "prune_2_4",
    "quantization_aware",
    "weight_sparsity",
]
