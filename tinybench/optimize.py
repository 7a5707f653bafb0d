"""Optimization variants of a trained model: quantized, pruned, clustered, or a mix.

A :class:`Recipe` says what to do (``Recipe.parse("prune80+int8")``); :func:`make_variant`
does it and returns a :class:`Variant` holding the ``.tflite`` bytes with everything an
export needs (labels, input shape, normalization). There is one function per technique:

- post-training: :func:`convert_float32`, :func:`convert_float16`, :func:`convert_dynamic`,
  :func:`convert_int8` (int8 input and output, calibrated on a representative dataset);
- fine-tuning (on a clone, never the caller's model): :func:`quantization_aware`,
  :func:`prune`, :func:`prune_2_4`, :func:`cluster`, :func:`pqat`.

Fine-tuning follows tfmot's advice for a trained model. It starts from the trained weights,
at a tenth of the learning rate the model was trained with. Pruning ramps sparsity up from
50% with a polynomial schedule over the first two thirds of the steps and holds it for the
last third. Fine-tuning keeps the weights of the epoch with the lowest validation loss,
counting only epochs that end at the final sparsity. Pruning and clustering leave three
kinds of layer alone (:func:`compressed_layers`): the first, the classifier and layers under
:data:`MIN_COMPRESSED_WEIGHTS` weights. ``Variant.weight_sparsity`` reports the fraction of
zeros over the whole model.

Fine-tuned models are stripped of their tfmot wrappers and converted to full int8 by
default. Recipes that cannot work in this stack are refused with :class:`RecipeError` and
the reason, never skipped: ``EXPERIMENTAL_SPARSITY`` makes a DENSIFY op TFLM lacks,
float16 and dynamic-range fine-tuned variants are not MCU models, and tfmot cannot
quantize-aware train every layer (``Conv1D`` among them).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tinybench.errors import RecipeError
from tinybench.tf_runtime import load_keras, load_tensorflow, load_tfmot
from tinybench.train import fit

__all__ = [
    "CONVERSIONS",
    "KINDS",
    "MIN_COMPRESSED_WEIGHTS",
    "NOT_ON_MCU_REASON",
    "Recipe",
    "Variant",
    "cluster",
    "compressed_layers",
    "convert_dynamic",
    "convert_float16",
    "convert_float32",
    "convert_int8",
    "make_variant",
    "pqat",
    "prune",
    "prune_2_4",
    "quantization_aware",
    "weight_sparsity",
]

log = logging.getLogger(__name__)

KINDS = (
    "float32",
    "float16",
    "dynamic",
    "int8",
    "qat",
    "prune",
    "prune_2_4",
    "cluster",
    "pqat",
)
"""Every recipe kind :func:`make_variant` knows."""

CONVERSIONS = ("int8", "float32")
"""How a pruned or clustered model may be converted (``+int8`` is the default)."""

NOT_ON_MCU_REASON = "TFLM does not run float16/hybrid models; evaluated in LiteRT"

MIN_COMPRESSED_WEIGHTS = 1024
"""Layers with fewer weights stay dense and unclustered: compressing them saves little."""

_POST_TRAINING = ("float32", "float16", "dynamic", "int8")
_PRUNING = ("prune", "pqat")
_SCHEDULES = ("polynomial", "constant")
_DEFAULT_EPOCHS = 16
_BATCH_SIZE = 32
_LEARNING_RATE_FACTOR = 0.1  # fine-tune at a tenth of the rate the model was trained with
_FALLBACK_LEARNING_RATE = 1e-4  # for a model compiled without a plain learning rate
_RAMP = 2 / 3  # pruning reaches its final sparsity after this share of the steps
_FIRST_SPARSITY = 0.5  # where the ramp starts, as in tfmot's guide (validated on gestures)
_MASK_UPDATES = 16  # pruning mask updates during the ramp
_REPRESENTATIVE_SAMPLES = 256
_MAX_CLUSTERS = 256
_REFUSED_CONVERSIONS = {
    "sparse": "EXPERIMENTAL_SPARSITY conversion emits a DENSIFY op that TFLM does not have; "
    "use '+int8' (pruning then shows in the gzip size, not the flash size)",
    "float16": "a float16 model does not run in TFLM; use the 'float16' recipe on the float "
    "model to evaluate it in LiteRT, or '+int8' for a microcontroller",
    "dynamic": "a dynamic-range (hybrid) model does not run in TFLM; use the 'dynamic' recipe "
    "on the float model to evaluate it in LiteRT, or '+int8' for a microcontroller",
}
_NAME = re.compile(
    r"^(?P<kind>float32|float16|dynamic|int8|qat|pqat|prune_2_4|prune|cluster)"
    r"(?P<param>\d+(?:\.\d+)?)?(?:\+(?P<convert>[a-z0-9_]+))?(?:@(?P<options>.+))?$"
)


class TrainingData(Protocol):
    """What fine-tuning and calibration need, such as ``dataset.Prepared``."""

    train: Any
    val: Any
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    """One optimization recipe; invalid combinations raise :class:`RecipeError`.

    Attributes:
        kind: One of :data:`KINDS`.
        sparsity: Fraction of zero weights for ``prune`` and ``pqat``, in ``[0, 1)``.
        clusters: Number of weight clusters per kernel for ``cluster`` (2..256).
        epochs: Fine-tuning epochs (None for post-training kinds, 16 by default otherwise).
        convert: Conversion after fine-tuning: ``int8`` (default) or ``float32`` for
            ``prune``, ``prune_2_4`` and ``cluster``; always ``int8`` for ``qat``/``pqat``;
            None for post-training kinds.
        schedule: Pruning schedule for ``prune``/``pqat``: ``polynomial`` (ramps sparsity up
            over the first two thirds of fine-tuning, then holds it) or ``constant``.
    """

    kind: str
    sparsity: float | None = None
    clusters: int | None = None
    epochs: int | None = None
    convert: str | None = None
    schedule: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RecipeError(f"unknown recipe kind {self.kind!r}; choose one of {KINDS}.")
        fine_tuned = self.kind not in _POST_TRAINING
        for attribute, allowed in (
            ("sparsity", self.kind in _PRUNING or self.kind == "prune_2_4"),
            ("clusters", self.kind == "cluster"),
            ("epochs", fine_tuned),
            ("convert", fine_tuned),
            ("schedule", self.kind in _PRUNING),
        ):
            if getattr(self, attribute) is not None and not allowed:
                raise RecipeError(
                    f"recipe {self.kind!r} takes no {attribute} "
                    f"(got {getattr(self, attribute)!r}); leave it as None."
                )
        if fine_tuned:
            self._check_fine_tuning()

    def _check_fine_tuning(self) -> None:
        set_ = object.__setattr__
        if self.kind in _PRUNING:
            if self.sparsity is None or not 0 <= self.sparsity < 1:
                raise RecipeError(
                    f"{self.kind} sparsity must be in [0, 1), got {self.sparsity!r}; "
                    f"for 80% zeros write Recipe('{self.kind}', sparsity=0.8) or "
                    f"'{self.kind}80'."
                )
            set_(self, "sparsity", float(self.sparsity))
            set_(self, "schedule", self.schedule or "polynomial")
            if self.schedule not in _SCHEDULES:
                raise RecipeError(
                    f"unknown pruning schedule {self.schedule!r}; choose one of {_SCHEDULES}."
                )
        if self.kind == "prune_2_4":
            if self.sparsity not in (None, 0.5):
                raise RecipeError(
                    f"2:4 pruning always zeroes half the weights; got sparsity={self.sparsity}. "
                    "Use 'prune' for other sparsities."
                )
            set_(self, "sparsity", 0.5)
        if self.kind == "cluster" and (
            not isinstance(self.clusters, int) or not 2 <= self.clusters <= _MAX_CLUSTERS
        ):
            raise RecipeError(
                f"cluster needs 2 to {_MAX_CLUSTERS} clusters, got {self.clusters!r}: one "
                "cluster erases the weights and int8 cannot hold more than 256 values. "
                "Try 'cluster16'."
            )
        epochs = _DEFAULT_EPOCHS if self.epochs is None else self.epochs
        if not isinstance(epochs, int) or epochs < 1:
            raise RecipeError(f"fine-tuning epochs must be a positive integer, got {epochs!r}.")
        set_(self, "epochs", epochs)
        convert = self.convert or "int8"
        if convert in _REFUSED_CONVERSIONS:
            reason = _REFUSED_CONVERSIONS[convert]
            raise RecipeError(f"recipe {self.kind}+{convert} refused: {reason}.")
        if convert not in CONVERSIONS:
            raise RecipeError(f"unknown conversion {convert!r}; choose one of {CONVERSIONS}.")
        if self.kind in ("qat", "pqat") and convert != "int8":
            raise RecipeError(
                f"recipe {self.kind}+{convert} refused: quantization-aware training only "
                "makes sense converted to int8; for a float model use 'float32' or "
                "'prune80+float32'."
            )
        set_(self, "convert", convert)

    @property
    def name(self) -> str:
        """Short id that :meth:`parse` reads back, e.g. ``prune80+int8@epochs=2``."""
        name = self.kind
        if self.kind in _PRUNING:
            name += f"{round((self.sparsity or 0) * 100, 4):g}"
        if self.kind == "cluster":
            name += str(self.clusters)
        if self.kind in ("prune", "prune_2_4", "cluster"):
            name += f"+{self.convert}"
        options = []
        if self.epochs not in (None, _DEFAULT_EPOCHS):
            options.append(f"epochs={self.epochs}")
        if self.schedule not in (None, "polynomial"):
            options.append(f"schedule={self.schedule}")
        return name + ("@" + ",".join(options) if options else "")

    @property
    def fine_tuned(self) -> bool:
        """Whether the recipe trains the model further before converting it."""
        return self.kind not in _POST_TRAINING

    @classmethod
    def parse(cls, text: str | Recipe) -> Recipe:
        """Read a short recipe id.

        Examples: ``float32``, ``int8``, ``dynamic``, ``qat``, ``prune80`` (= ``prune80+int8``),
        ``prune50+float32``, ``prune_2_4``, ``cluster16``, ``pqat75``,
        ``prune90@epochs=6,schedule=constant``.
        """
        if isinstance(text, Recipe):
            return text
        match = _NAME.match(text.strip().lower())
        if not match:
            raise RecipeError(
                f"cannot read recipe {text!r}; write <kind>[<number>][+<conversion>]"
                f"[@epochs=N,schedule=S] with kind one of {KINDS}, e.g. 'prune80+int8'."
            )
        kind, param = match["kind"], match["param"]
        wants_param = kind in (*_PRUNING, "cluster")
        if wants_param != (param is not None):
            example = {"prune": "prune80", "pqat": "pqat80", "cluster": "cluster16"}
            raise RecipeError(
                f"recipe {text!r}: {kind} "
                + (
                    f"needs a number, e.g. {example[kind]!r}."
                    if wants_param
                    else "takes no number."
                )
            )
        values: dict[str, Any] = {"convert": match["convert"]}
        if kind in _PRUNING:
            values["sparsity"] = float(param) / 100
        if kind == "cluster":
            values["clusters"] = int(float(param))
        for option in (match["options"] or "").split(","):
            if not option:
                continue
            key, _, value = option.partition("=")
            if key == "epochs" and value.isdigit():
                values["epochs"] = int(value)
            elif key == "schedule":
                values["schedule"] = value
            else:
                raise RecipeError(
                    f"recipe {text!r}: unknown option {option!r}; use epochs=N or schedule=S."
                )
        return cls(kind, **values)


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
        """Write ``<path>.tflite`` and a JSON sidecar ``<path>.json``; return the model path."""
        path = Path(path).with_suffix(".tflite")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.tflite)
        path.with_suffix(".json").write_text(json.dumps(self._metadata(), indent=2) + "\n")
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
        known = {f for f in cls.__dataclass_fields__ if f != "tflite"}
        meta.setdefault("weight_sparsity", None)  # sidecars saved before it was recorded
        if set(meta) != known:
            raise RecipeError(
                f"{path.with_suffix('.json')} has keys {sorted(meta)}; expected {sorted(known)}."
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


def convert_float32(model: Any) -> bytes:
    """Convert to a float32 ``.tflite`` with no optimization."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = []

    return _convert(model, configure)


def convert_float16(model: Any) -> bytes:
    """Convert with float16 weights (LiteRT only: TFLM cannot prepare its DEQUANTIZE ops)."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]

    return _convert(model, configure)


def convert_dynamic(model: Any) -> bytes:
    """Convert with dynamic-range (int8 weights, float activations) quantization; LiteRT only."""

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

    return _convert(model, configure)


def convert_int8(model: Any, representative: np.ndarray) -> bytes:
    """Convert to full int8, input and output included, calibrated on ``representative``.

    Args:
        model: A float model, or a quantization-aware model whose ranges were learned.
        representative: Typical normalized inputs, shape ``(n, *input_shape)``; a few
            hundred are plenty.
    """
    representative = np.asarray(representative, dtype=np.float32)
    if len(representative) == 0:
        raise RecipeError("int8 conversion needs representative inputs; got none.")

    def samples() -> Iterator[list[np.ndarray]]:
        for row in representative:
            yield [row[np.newaxis]]

    def configure(converter: Any, tf: Any) -> None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8

    return _convert(model, configure)


def quantization_aware(
    model: Any,
    data: TrainingData,
    epochs: int = _DEFAULT_EPOCHS,
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float | None = None,
) -> Any:
    """Fine-tune a clone with fake-quantization (tfmot default 8-bit scheme).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        epochs: Fine-tuning epochs; the epoch with the lowest validation loss is kept.
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate; None for a tenth of the model's own.

    Returns:
        The quantization-aware model; convert it with :func:`convert_int8`.

    Raises:
        RecipeError: tfmot cannot quantize one of the model's layers.
    """
    tfmot = load_tfmot()
    _check_quantizable(model, "qat")
    clone = _clone(model)
    with _refusing("qat", "tfmot cannot quantization-aware train this model"):
        aware = tfmot.quantization.keras.quantize_model(clone)
    _fine_tune(aware, model, data, epochs, seed, progress, learning_rate)
    return aware


def prune(
    model: Any,
    data: TrainingData,
    sparsity: float,
    epochs: int = _DEFAULT_EPOCHS,
    schedule: str | Any = "polynomial",
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float | None = None,
) -> Any:
    """Magnitude-prune the kernels of :func:`compressed_layers` of a clone, then strip wrappers.

    Each of those kernels ends with ``sparsity`` of its weights at zero. The first layer,
    the classifier and small layers keep theirs, so the model as a whole is a little less
    sparse (:func:`weight_sparsity` says how much).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        sparsity: Fraction of zero weights in each pruned kernel, in ``[0, 1)``.
        epochs: Fine-tuning epochs. The epoch with the lowest validation loss among those
            that end at the final sparsity is kept.
        schedule: ``"polynomial"`` (from 50%, or the kernel's sparsity if higher, up to
            ``sparsity`` over the first two thirds of the steps, then held), ``"constant"``,
            or a tfmot ``PruningSchedule``.
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate; None for a tenth of the model's own.

    Returns:
        A plain (stripped) Keras model whose kernels hold the zeros.

    Raises:
        RecipeError: The model has no layer worth pruning, or tfmot cannot prune it.
    """
    recipe = Recipe("prune", sparsity=sparsity, epochs=epochs)
    tfmot = load_tfmot()
    sparsity_api = tfmot.sparsity.keras
    steps_per_epoch = _steps(data, 1)
    clone = _clone(model)
    chosen = _layers_to_compress(clone, "prune")
    schedules = {
        layer.name: _schedule(
            tfmot, schedule, recipe.sparsity or 0.0, steps_per_epoch * epochs, _zeros(layer)
        )
        for layer in clone.layers
        if layer.name in chosen
    }

    def wrap(layer: Any) -> Any:
        if layer.name not in schedules:
            return layer
        return sparsity_api.prune_low_magnitude(layer, pruning_schedule=schedules[layer.name])

    with _refusing("prune", "tfmot cannot prune this model"):
        wrapped = _rebuild(clone, wrap)
    final_step = max(_final_step(tfmot, s) for s in schedules.values())
    _fine_tune(
        wrapped,
        model,
        data,
        epochs,
        seed,
        progress,
        learning_rate,
        pruning=True,
        first_epoch=min(epochs, max(1, math.ceil(final_step / steps_per_epoch))),
    )
    return sparsity_api.strip_pruning(wrapped)


def prune_2_4(
    model: Any,
    data: TrainingData,
    epochs: int = _DEFAULT_EPOCHS,
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float | None = None,
) -> Any:
    """Structured 2:4 pruning: in every 4 consecutive input-channel weights, 2 are zero.

    Applies to :func:`compressed_layers`. tfmot sets the 2:4 masks once, at the first step,
    and lays the blocks along the input channels of the TFLite layout; it supports only
    rank-2 (Dense) and rank-4 (Conv2D) kernels.

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        epochs: Fine-tuning epochs; the epoch with the lowest validation loss is kept.
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate; None for a tenth of the model's own.

    Returns:
        A plain (stripped) Keras model.

    Raises:
        RecipeError: A kernel to prune is not rank 2 or 4 (``Conv1D``, for example), or the
            model has no layer worth pruning.
    """
    tfmot = load_tfmot()
    sparsity_api = tfmot.sparsity.keras
    clone = _clone(model)
    chosen = _layers_to_compress(clone, "prune_2_4")
    bad = [
        f"{layer.name} ({type(layer).__name__}, rank {len(_kernel(layer).shape)})"
        for layer in clone.layers
        if layer.name in chosen and len(_kernel(layer).shape) not in (2, 4)
    ]
    if bad:
        raise RecipeError(
            f"recipe prune_2_4 refused: tfmot's 2:4 sparsity handles rank-2 (Dense) and rank-4 "
            f"(Conv2D) kernels only, and {', '.join(bad)} differ. Build the model with "
            "tinybench.models (Conv2D with (k, 1) kernels) or use unstructured 'prune50'."
        )

    def wrap(layer: Any) -> Any:
        if layer.name not in chosen:
            return layer
        return sparsity_api.prune_low_magnitude(
            layer,
            pruning_schedule=sparsity_api.ConstantSparsity(0.5, begin_step=0),
            sparsity_m_by_n=(2, 4),
        )

    with _refusing("prune_2_4", "tfmot cannot prune this model"):
        wrapped = _rebuild(clone, wrap)
    _fine_tune(wrapped, model, data, epochs, seed, progress, learning_rate, pruning=True)
    return sparsity_api.strip_pruning(wrapped)


def cluster(
    model: Any,
    data: TrainingData,
    n_clusters: int,
    epochs: int = _DEFAULT_EPOCHS,
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float | None = None,
) -> Any:
    """Weight clustering: each kernel of :func:`compressed_layers` keeps ``n_clusters`` values.

    Centroids start from k-means++ on the trained weights; fine-tuning moves them. Clustering
    alone does not shrink the flatbuffer; it makes weights compress well (gzip, or TFLM's LUT
    compression).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        n_clusters: Distinct values per clustered kernel, 2 to 256.
        epochs: Fine-tuning epochs; the epoch with the lowest validation loss is kept.
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate; None for a tenth of the model's own.

    Returns:
        A plain (stripped) Keras model.

    Raises:
        RecipeError: The model has no layer worth clustering, or tfmot cannot cluster it.
    """
    recipe = Recipe("cluster", clusters=n_clusters, epochs=epochs)
    clustering = load_tfmot().clustering.keras
    clone = _clone(model)
    chosen = _layers_to_compress(clone, "cluster")

    def wrap(layer: Any) -> Any:
        if layer.name not in chosen:
            return layer
        return clustering.cluster_weights(
            layer,
            number_of_clusters=recipe.clusters,
            cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        )

    with _refusing("cluster", "tfmot cannot cluster this model"):
        wrapped = _rebuild(clone, wrap)
    _fine_tune(wrapped, model, data, epochs, seed, progress, learning_rate)
    return clustering.strip_clustering(wrapped)


def pqat(
    model: Any,
    data: TrainingData,
    sparsity: float,
    epochs: int = _DEFAULT_EPOCHS,
    schedule: str | Any = "polynomial",
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float | None = None,
) -> Any:
    """Pruning-preserving quantization-aware training: :func:`prune`, then QAT that keeps zeros.

    Uses tfmot's ``Default8BitPrunePreserveQuantizeScheme``; both phases run ``epochs`` and
    keep their epoch with the lowest validation loss.

    Returns:
        The quantization-aware model; convert it with :func:`convert_int8`.
    """
    tfmot = load_tfmot()
    _check_quantizable(model, "pqat")
    pruned = prune(
        model,
        data,
        sparsity,
        epochs,
        schedule,
        seed=seed,
        progress=progress,
        learning_rate=learning_rate,
    )
    quantization = tfmot.quantization.keras
    scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    with _refusing("pqat", "tfmot cannot quantization-aware train this model"):
        aware = quantization.quantize_apply(quantization.quantize_annotate_model(pruned), scheme)
    _fine_tune(aware, model, data, epochs, seed, progress, learning_rate)
    return aware


def compressed_layers(model: Any) -> tuple[str, ...]:
    """Names of the layers that pruning and clustering change, in model order.

    These are the layers with a kernel, except three kinds that hold few of the weights but
    much of the accuracy. The first layer sees the raw input channels with few weights per
    filter. The last layer is the classifier. Layers with fewer than
    :data:`MIN_COMPRESSED_WEIGHTS` weights are also left out.

    Args:
        model: A ``tf_keras`` model.
    """
    weighted = [layer for layer in model.layers if _kernel(layer) is not None]
    return tuple(
        layer.name
        for layer in weighted[1:-1]
        if int(np.prod(_kernel(layer).shape)) >= MIN_COMPRESSED_WEIGHTS
    )


def weight_sparsity(model: Any) -> float:
    """Fraction of exact zeros over every kernel of ``model``; biases are not counted.

    Kernels inside tfmot wrappers (quantization-aware layers) are counted too. The result is
    0.0 for a model with no kernel.
    """
    kernels = [np.asarray(k) for k in (_kernel(layer) for layer in model.layers) if k is not None]
    total = sum(k.size for k in kernels)
    return float(sum(np.count_nonzero(k == 0) for k in kernels) / total) if total else 0.0


def _fine_tuned(model: Any, recipe: Recipe, data: TrainingData, seed: int, progress: bool) -> Any:
    """Run the fine-tuning function of ``recipe`` and return the model to convert."""
    epochs = recipe.epochs or _DEFAULT_EPOCHS
    sparsity = recipe.sparsity or 0.0
    tune: dict[str, Any] = {"seed": seed, "progress": progress}
    if recipe.kind == "qat":
        return quantization_aware(model, data, epochs, **tune)
    if recipe.kind == "prune":
        return prune(model, data, sparsity, epochs, recipe.schedule, **tune)
    if recipe.kind == "prune_2_4":
        return prune_2_4(model, data, epochs, **tune)
    if recipe.kind == "cluster":
        return cluster(model, data, recipe.clusters or 0, epochs, **tune)
    return pqat(model, data, sparsity, epochs, recipe.schedule, **tune)


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
            "(k, 1) kernels, as tinybench.models.conv1d_classifier does) or use the "
            "post-training 'int8' recipe."
        )


def _convert(model: Any, configure: Callable[[Any, Any], None]) -> bytes:
    """Convert through a batch-1 concrete function, so reshape shapes fold to constants."""
    tf = load_tensorflow()
    if len(model.inputs) != 1:
        raise RecipeError(
            f"model {model.name!r} has {len(model.inputs)} inputs; tinybench converts "
            "single-input models only."
        )

    def forward(x: Any) -> Any:
        return model(x, training=False)

    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    function = tf.function(forward, autograph=False).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], model)
    configure(converter, tf)
    try:
        return bytes(converter.convert())
    except Exception as exc:  # the converter raises several unrelated types
        raise RecipeError(
            f"TFLite conversion of {model.name!r} failed: {exc}. Check that the model uses "
            "only builtin layers (see tinybench.models)."
        ) from exc


def _clone(model: Any) -> Any:
    """A copy with the same weights, so fine-tuning never touches the caller's model."""
    keras = load_keras()
    if not isinstance(model, keras.Sequential) and not getattr(model, "_is_graph_network", False):
        raise RecipeError(
            f"fine-tuning recipes refused for {type(model).__name__} {model.name!r}: tfmot "
            "prunes, clusters and quantizes only Sequential and functional tf_keras models, "
            "not subclassed ones. Rebuild it with keras.Sequential or the functional API "
            "(see tinybench.models), or use a post-training recipe ('int8')."
        )
    with _refusing("fine-tuning", "the model cannot be cloned"):
        clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _fine_tune(
    wrapped: Any,
    original: Any,
    data: TrainingData,
    epochs: int,
    seed: int,
    progress: bool,
    learning_rate: float | None,
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
    rate = _fine_tune_rate(original) if learning_rate is None else learning_rate
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
        epochs=epochs,
        batch_size=_BATCH_SIZE,
        patience=None,
        seed=seed,
        progress=progress,
        target=target,
        callbacks=callbacks,
    )
    log.info(
        "fine-tuned %s for %d epochs at learning rate %.2g, kept epoch %s (val_loss %.4f)",
        original.name,
        epochs,
        rate,
        keep.best_epoch or epochs,
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


def _fine_tune_rate(model: Any) -> float:
    """A tenth of the learning rate ``model`` was compiled with (1e-4 if it has none)."""
    try:
        rate = model.optimizer.get_config()["learning_rate"]
        if isinstance(rate, Mapping):  # a schedule: start from its initial rate
            rate = rate["config"]["initial_learning_rate"]
        rate = float(rate)
    except (AttributeError, KeyError, TypeError, ValueError):
        return _FALLBACK_LEARNING_RATE
    return _LEARNING_RATE_FACTOR * rate if rate > 0 else _FALLBACK_LEARNING_RATE


def _layers_to_compress(model: Any, recipe: str) -> tuple[str, ...]:
    """:func:`compressed_layers`, refusing a model that has none."""
    chosen = compressed_layers(model)
    if not chosen:
        kept = ", ".join(
            f"{layer.name} ({int(np.prod(_kernel(layer).shape))} weights)"
            for layer in model.layers
            if _kernel(layer) is not None
        )
        raise RecipeError(
            f"recipe {recipe} refused: model {model.name!r} has no layer worth compressing. "
            f"Its weight layers ({kept or 'none'}) are the first, the last or smaller than "
            f"{MIN_COMPRESSED_WEIGHTS} weights, and those stay as trained. Use the 'int8' "
            "recipe, or a model with hidden layers."
        )
    return chosen


def _rebuild(model: Any, wrap: Callable[[Any], Any]) -> Any:
    """The same layers (and weights) as ``model``, each passed through ``wrap``."""
    return load_keras().models.clone_model(model, clone_function=wrap)


def _kernel(layer: Any) -> Any:
    """The weight kernel variable of ``layer`` (inside a tfmot wrapper too), or None."""
    names = ("kernel", "depthwise_kernel")
    if hasattr(layer, "layer"):  # a tfmot wrapper; its inner layer's kernel may be a tensor
        return next(
            (w for w in layer.weights if w.name.split("/")[-1].split(":")[0] in names), None
        )
    return next((getattr(layer, n) for n in names if getattr(layer, n, None) is not None), None)


def _zeros(layer: Any) -> float:
    """Fraction of zeros in the kernel of ``layer``."""
    return float(np.mean(np.asarray(_kernel(layer)) == 0))


def _steps(data: TrainingData, epochs: int) -> int:
    """Total optimizer steps of a fine-tuning run."""
    return max(1, math.ceil(len(data.train.x) / _BATCH_SIZE)) * epochs


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
    if schedule not in _SCHEDULES:
        raise RecipeError(f"unknown pruning schedule {schedule!r}; choose one of {_SCHEDULES}.")
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


@contextmanager
def _refusing(recipe: str, what: str) -> Iterator[None]:
    """Turn tfmot's errors for unsupported models into a :class:`RecipeError` with a reason."""
    try:
        yield
    except RecipeError:
        raise
    except (ValueError, RuntimeError, TypeError) as error:
        message = str(error).split(". You")[0].split("\n")[0]
        raise RecipeError(
            f"recipe {recipe} refused: {what}: {message}. Build the model with "
            "tinybench.models, whose layers every recipe supports, or choose a post-training "
            "recipe ('int8')."
        ) from error
