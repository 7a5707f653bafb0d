"""A :class:`Variant` is a converted model and what made it; :func:`make_variant` makes one.

:func:`make_variant` applies one :class:`~tinybench.optimize.recipe.Recipe` to a trained model:
a post-training conversion, or fine-tuning (QAT, pruning, 2:4, clustering, PQAT) followed by a
conversion (full int8 by default). The :class:`Variant` holds the ``.tflite`` bytes with
everything an export needs (labels, input shape, normalization); ``weight_sparsity`` reports the
fraction of zeros over the whole model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.atomic import atomic_write
from tinybench.errors import RecipeError
from tinybench.optimize.clustering import cluster
from tinybench.optimize.convert import (
    convert_dynamic,
    convert_float16,
    convert_float32,
    convert_int8,
)
from tinybench.optimize.fine_tune import (
    FineTuning,
    TrainingData,
    fine_tune_rate,
    weight_sparsity,
)
from tinybench.optimize.pruning import prune, prune_2_4
from tinybench.optimize.qat import check_quantizable, quantization_aware
from tinybench.optimize.recipe import DEFAULT_EPOCHS, Recipe

__all__ = ["NOT_ON_MCU_REASON", "Variant", "make_variant"]

NOT_ON_MCU_REASON = "TFLM does not run float16/hybrid models; evaluated in LiteRT"

_REPRESENTATIVE_SAMPLES = 256


_SHA_KEY = "tflite_sha256"


@dataclass(frozen=True, eq=False)
class Variant:
    """A converted model and what is needed to export and run it.

    Attributes:
        name: The recipe's short id.
        recipe: How the model was made.
        tflite: The ``.tflite`` flatbuffer.
        labels: Class names in output order.
        input_shape: Shape of one input, without the batch axis.
        normalization: ``Normalization.to_dict()`` of the training data, or None.
        runnable_on_mcu: Whether TFLM can run it (False for float16 and dynamic range).
        reason: Why it cannot run on a microcontroller, empty otherwise.
        window: Window length in samples, for time-series models.
        rate_hz: Sample rate of the training data, for time-series models.
        weight_sparsity: Fraction of zeros over every kernel of the converted Keras model
            (see :func:`weight_sparsity`); None if unknown.
    """

    name: str
    recipe: Recipe
    tflite: bytes = field(repr=False)
    labels: tuple[str, ...]
    input_shape: tuple[int, ...]
    normalization: dict[str, Any] | None
    runnable_on_mcu: bool
    reason: str = ""
    window: int | None = None
    rate_hz: float | None = None
    weight_sparsity: float | None = None

    def save(self, path: str | Path) -> Path:
        """Write ``<path>.tflite`` and a JSON sidecar ``<path>.json``; return the model path.

        Each file is written atomically, the sidecar last; it holds the model's SHA-256, so
        :meth:`load` refuses a pair that an interrupted save left from two different variants.
        """
        path = Path(path).with_suffix(".tflite")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, self.tflite)
        meta = {**self._metadata(), _SHA_KEY: hashlib.sha256(self.tflite).hexdigest()}
        atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Variant:
        """Read a variant written by :meth:`save`."""
        path = Path(path).with_suffix(".tflite")
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            tflite = path.read_bytes()
        except (OSError, json.JSONDecodeError) as exc:
            raise RecipeError(f"cannot read variant {path}: {exc}; save it again.") from exc
        known = {f for f in cls.__dataclass_fields__ if f != "tflite"} | {_SHA_KEY}
        found = set(meta) if isinstance(meta, dict) else set()
        if found != known:
            raise RecipeError(
                f"{path.with_suffix('.json')} is not a variant sidecar of this tinybench: "
                f"missing keys {sorted(known - found)}, unknown keys {sorted(found - known)}. "
                "Make the variant again with make_variant() and save it."
            )
        if meta.pop(_SHA_KEY) != hashlib.sha256(tflite).hexdigest():
            raise RecipeError(
                f"{path} does not match its sidecar {path.with_suffix('.json').name} (SHA-256 "
                "differs): a save was interrupted or another variant overwrote one file. "
                "Save the variant again."
            )
        return cls(
            **{
                **meta,
                "recipe": Recipe.parse(meta["recipe"]),
                "tflite": tflite,
                "labels": tuple(meta["labels"]),
                "input_shape": tuple(meta["input_shape"]),
            }
        )

    def _metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "recipe": self.recipe.name,
            "labels": list(self.labels),
            "input_shape": list(self.input_shape),
            "normalization": self.normalization,
            "runnable_on_mcu": self.runnable_on_mcu,
            "reason": self.reason,
            "window": self.window,
            "rate_hz": self.rate_hz,
            "weight_sparsity": self.weight_sparsity,
        }


def make_variant(
    model: Any,
    recipe: Recipe | str,
    data: TrainingData,
    *,
    seed: int = 0,
    progress: bool = True,
) -> Variant:
    """Apply one recipe to a trained model and convert it.

    Args:
        model: A trained ``tf_keras`` model; it is never modified.
        recipe: A :class:`Recipe` or its short id (``"prune80+int8"``).
        data: Normalized windows (``train``, ``val``) and ``labels``, as from
            ``dataset.prepare()``; the train part fine-tunes and calibrates.
        seed: Seed of fine-tuning and of the representative sample.
        progress: Show a progress bar while fine-tuning.

    Returns:
        The :class:`Variant`.

    Raises:
        RecipeError: The recipe cannot work on this model in this stack; the message says why.
    """
    recipe = Recipe.parse(recipe)
    representative = _representative(data.train.x, seed)
    converted = model
    if recipe.kind == "float32":
        tflite = convert_float32(model)
    elif recipe.kind == "float16":
        tflite = convert_float16(model)
    elif recipe.kind == "dynamic":
        tflite = convert_dynamic(model)
    elif recipe.kind == "int8":
        tflite = convert_int8(model, representative)
    else:
        converted = _fine_tuned(model, recipe, data, seed, progress)
        if recipe.convert == "float32":
            tflite = convert_float32(converted)
        else:
            tflite = convert_int8(converted, representative)
    on_mcu = recipe.kind not in ("float16", "dynamic")
    return Variant(
        name=recipe.name,
        recipe=recipe,
        tflite=tflite,
        labels=tuple(data.labels),
        input_shape=tuple(int(d) for d in model.input_shape[1:]),
        normalization=_normalization_dict(data),
        runnable_on_mcu=on_mcu,
        reason="" if on_mcu else NOT_ON_MCU_REASON,
        window=getattr(data, "window", None),
        rate_hz=getattr(data, "rate_hz", None),
        weight_sparsity=weight_sparsity(converted),
    )


def _fine_tuned(model: Any, recipe: Recipe, data: TrainingData, seed: int, progress: bool) -> Any:
    """Run the fine-tuning function of ``recipe`` and return the model to convert.

    Every phase fine-tunes at a tenth of the trained model's learning rate, PQAT's QAT phase
    included (its pruned model comes back uncompiled).
    """
    tuning = FineTuning(recipe.epochs or DEFAULT_EPOCHS, seed, progress, fine_tune_rate(model))
    sparsity = recipe.sparsity or 0.0
    if recipe.kind == "qat":
        return quantization_aware(model, data, tuning=tuning)
    if recipe.kind == "prune_2_4":
        return prune_2_4(model, data, tuning=tuning)
    if recipe.kind == "cluster":
        return cluster(model, data, recipe.clusters or 0, tuning=tuning)
    if recipe.kind == "pqat":
        check_quantizable(model, "pqat")  # before the pruning epochs are spent
    pruned = prune(model, data, sparsity, recipe.schedule, tuning=tuning)
    if recipe.kind == "prune":
        return pruned
    return quantization_aware(pruned, data, tuning=tuning, keep_zeros=True)


def _representative(x: np.ndarray, seed: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if len(x) <= _REPRESENTATIVE_SAMPLES:
        return x
    index = np.random.default_rng(seed).choice(len(x), _REPRESENTATIVE_SAMPLES, replace=False)
    return x[np.sort(index)]


def _normalization_dict(data: TrainingData) -> dict[str, Any] | None:
    normalization = getattr(data, "normalization", None)
    if normalization is None or isinstance(normalization, Mapping):
        return None if normalization is None else dict(normalization)
    return normalization.to_dict()
