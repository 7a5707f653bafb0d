"""What to do to a trained model: a :class:`Recipe`, read from a short id such as ``prune80+int8``.

A recipe is checked when it is made: a combination that cannot work in this stack raises
:class:`~tinybench.errors.RecipeError` with the reason (``EXPERIMENTAL_SPARSITY`` makes a DENSIFY
op TFLM lacks, float16 and dynamic-range fine-tuned variants are not MCU models), never skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tinybench.errors import RecipeError

__all__ = ["CONVERSIONS", "DEFAULT_EPOCHS", "KINDS", "POST_TRAINING", "SCHEDULES", "Recipe"]

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
"""Every recipe kind :func:`~tinybench.optimize.variant.make_variant` knows."""

CONVERSIONS = ("int8", "float32")
"""How a pruned or clustered model may be converted (``+int8`` is the default)."""

POST_TRAINING = ("float32", "float16", "dynamic", "int8")
"""Recipe kinds that only convert, without fine-tuning."""
SCHEDULES = ("polynomial", "constant")
"""Pruning schedules a recipe may name."""
DEFAULT_EPOCHS = 16
"""Fine-tuning epochs when a recipe does not say."""

_PRUNING = ("prune", "pqat")
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
        fine_tuned = self.kind not in POST_TRAINING
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
            if self.schedule not in SCHEDULES:
                raise RecipeError(
                    f"unknown pruning schedule {self.schedule!r}; choose one of {SCHEDULES}."
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
        epochs = DEFAULT_EPOCHS if self.epochs is None else self.epochs
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
        if self.epochs not in (None, DEFAULT_EPOCHS):
            options.append(f"epochs={self.epochs}")
        if self.schedule not in (None, "polynomial"):
            options.append(f"schedule={self.schedule}")
        return name + ("@" + ",".join(options) if options else "")

    @property
    def fine_tuned(self) -> bool:
        """Whether the recipe trains the model further before converting it."""
        return self.kind not in POST_TRAINING

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
