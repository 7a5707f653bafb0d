"""Optimization variants of a trained model: quantized, pruned, clustered, or a mix.

A :class:`Recipe` says what to do (``Recipe.parse("prune80+int8")``); :func:`make_variant`
does it and returns a :class:`Variant` holding the ``.tflite`` bytes with everything an
export needs (labels, input shape, normalization). There is one function per technique:

- post-training: :func:`convert_float32`, :func:`convert_float16`, :func:`convert_dynamic`,
  :func:`convert_int8` (int8 input and output, calibrated on a representative dataset);
- fine-tuning (on a clone, never the caller's model): :func:`quantization_aware`,
  :func:`prune`, :func:`prune_2_4`, :func:`cluster`, :func:`pqat`.

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
    "NOT_ON_MCU_REASON",
    "Recipe",
    "Variant",
    "cluster",
    "convert_dynamic",
    "convert_float16",
    "convert_float32",
    "convert_int8",
    "make_variant",
    "pqat",
    "prune",
    "prune_2_4",
    "quantization_aware",
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

_POST_TRAINING = ("float32", "float16", "dynamic", "int8")
_PRUNING = ("prune", "pqat")
_SCHEDULES = ("polynomial", "constant")
_DEFAULT_EPOCHS = 4
_BATCH_SIZE = 32
_FINE_TUNE_LEARNING_RATE = 1e-3
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
        epochs: Fine-tuning epochs (None for post-training kinds, 4 by default otherwise).
        convert: Conversion after fine-tuning: ``int8`` (default) or ``float32`` for
            ``prune``, ``prune_2_4`` and ``cluster``; always ``int8`` for ``qat``/``pqat``;
            None for post-training kinds.
        schedule: Pruning schedule for ``prune``/``pqat``: ``polynomial`` (ramps sparsity up
            over the first two thirds of fine-tuning) or ``constant``.
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
    if recipe.kind == "float32":
        tflite = convert_float32(model)
    elif recipe.kind == "float16":
        tflite = convert_float16(model)
    elif recipe.kind == "dynamic":
        tflite = convert_dynamic(model)
    elif recipe.kind == "int8":
        tflite = convert_int8(model, representative)
    else:
        tuned = _fine_tuned(model, recipe, data, seed, progress)
        if recipe.convert == "float32":
            tflite = convert_float32(tuned)
        else:
            tflite = convert_int8(tuned, representative)
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
    learning_rate: float = _FINE_TUNE_LEARNING_RATE,
) -> Any:
    """Fine-tune a clone with fake-quantization (tfmot default 8-bit scheme).

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
    learning_rate: float = _FINE_TUNE_LEARNING_RATE,
) -> Any:
    """Magnitude-prune every prunable kernel of a clone to ``sparsity``, then strip wrappers.

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        sparsity: Fraction of zero weights per kernel, in ``[0, 1)``.
        epochs: Fine-tuning epochs.
        schedule: ``"polynomial"`` (ramp up over the first two thirds of fine-tuning),
            ``"constant"``, or a tfmot ``PruningSchedule``.
        seed: Fine-tuning seed.
        progress: Show a progress bar.
        learning_rate: Adam learning rate for fine-tuning.

    Returns:
        A plain (stripped) Keras model whose kernels hold the zeros.
    """
    recipe = Recipe("prune", sparsity=sparsity, epochs=epochs)
    tfmot = load_tfmot()
    steps = _steps(data, recipe.epochs or 1)
    pruning_schedule = _schedule(tfmot, schedule, recipe.sparsity or 0.0, steps)
    clone = _clone(model)
    with _refusing("prune", "tfmot cannot prune this model"):
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(clone, pruning_schedule=pruning_schedule)
    _fine_tune(wrapped, model, data, epochs, seed, progress, learning_rate, pruning=True)
    return tfmot.sparsity.keras.strip_pruning(wrapped)


def prune_2_4(
    model: Any,
    data: TrainingData,
    epochs: int = _DEFAULT_EPOCHS,
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float = _FINE_TUNE_LEARNING_RATE,
) -> Any:
    """Structured 2:4 pruning: in every 4 consecutive input-channel weights, 2 are zero.

    tfmot lays the blocks along the input channels of the TFLite layout and supports only
    rank-2 (Dense) and rank-4 (Conv2D) kernels.

    Returns:
        A plain (stripped) Keras model.

    Raises:
        RecipeError: A prunable kernel is not rank 2 or 4 (``Conv1D``, for example).
    """
    tfmot = load_tfmot()
    bad = [
        f"{layer.name} ({type(layer).__name__}, rank {len(layer.kernel.shape)})"
        for layer in model.layers
        if hasattr(layer, "kernel") and len(layer.kernel.shape) not in (2, 4)
    ]
    if bad:
        raise RecipeError(
            f"recipe prune_2_4 refused: tfmot's 2:4 sparsity handles rank-2 (Dense) and rank-4 "
            f"(Conv2D) kernels only, and {', '.join(bad)} differ. Build the model with "
            "tinybench.models (Conv2D with (k, 1) kernels) or use unstructured 'prune50'."
        )
    steps = _steps(data, epochs)
    clone = _clone(model)
    with _refusing("prune_2_4", "tfmot cannot prune this model"):
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(
            clone,
            pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(
                0.5, begin_step=0, frequency=max(1, steps // 4)
            ),
            sparsity_m_by_n=(2, 4),
        )
    _fine_tune(wrapped, model, data, epochs, seed, progress, learning_rate, pruning=True)
    return tfmot.sparsity.keras.strip_pruning(wrapped)


def cluster(
    model: Any,
    data: TrainingData,
    n_clusters: int,
    epochs: int = _DEFAULT_EPOCHS,
    *,
    seed: int = 0,
    progress: bool = True,
    learning_rate: float = _FINE_TUNE_LEARNING_RATE,
) -> Any:
    """Weight clustering: each kernel keeps at most ``n_clusters`` distinct values.

    Centroids start from k-means++; fine-tuning moves them. Clustering alone does not shrink
    the flatbuffer; it makes weights compress well (gzip, or TFLM's LUT compression).

    Returns:
        A plain (stripped) Keras model.
    """
    recipe = Recipe("cluster", clusters=n_clusters, epochs=epochs)
    tfmot = load_tfmot()
    clustering = tfmot.clustering.keras
    clone = _clone(model)
    with _refusing("cluster", "tfmot cannot cluster this model"):
        wrapped = clustering.cluster_weights(
            clone,
            number_of_clusters=recipe.clusters,
            cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        )
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
    learning_rate: float = _FINE_TUNE_LEARNING_RATE,
) -> Any:
    """Pruning-preserving quantization-aware training: :func:`prune`, then QAT that keeps zeros.

    Uses tfmot's ``Default8BitPrunePreserveQuantizeScheme``; both phases run ``epochs``.

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
    learning_rate: float,
    pruning: bool = False,
) -> None:
    keras = load_keras()
    target = "inputs" if tuple(original.output_shape) == tuple(original.input_shape) else "labels"
    loss = getattr(original, "loss", None) or (
        "mse" if target == "inputs" else "sparse_categorical_crossentropy"
    )
    wrapped.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=["accuracy"] if target == "labels" else [],
    )
    callbacks = []
    if pruning:
        callbacks.append(load_tfmot().sparsity.keras.UpdatePruningStep())
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


def _steps(data: TrainingData, epochs: int) -> int:
    """Total optimizer steps of a fine-tuning run."""
    return max(1, math.ceil(len(data.train.x) / _BATCH_SIZE)) * epochs


def _schedule(tfmot: Any, schedule: str | Any, sparsity: float, steps: int) -> Any:
    """Build a pruning schedule that reaches ``sparsity`` at an update step before the end."""
    sparsity_api = tfmot.sparsity.keras
    if not isinstance(schedule, str):
        return schedule
    if schedule not in _SCHEDULES:
        raise RecipeError(f"unknown pruning schedule {schedule!r}; choose one of {_SCHEDULES}.")
    frequency = max(1, steps // 12)
    end = (int((steps - 1) * 2 / 3) // frequency) * frequency
    if schedule == "constant" or end < 1:
        return sparsity_api.ConstantSparsity(sparsity, begin_step=0, frequency=frequency)
    return sparsity_api.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=sparsity,
        begin_step=0,
        end_step=end,
        frequency=frequency,
    )


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
