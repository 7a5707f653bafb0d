"""The grid of a sweep: which widths and recipes to run, expanded into plain jobs.

A :class:`SweepGrid` names a dataset, a model builder with its widths, and recipes, and checks
them when it is made. :meth:`SweepGrid.jobs` expands it into one :class:`SweepJob` per (width,
recipe): plain, picklable data that says everything deciding a variant and its figures.
:data:`GRID_PRESETS` holds the ``"ci"`` and ``"full"`` sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tinybench.boards import get_board
from tinybench.errors import ConfigError

__all__ = ["DEFAULT_RECIPES", "GRID_PRESETS", "MODEL_BUILDERS", "SweepGrid", "SweepJob"]

DEFAULT_RECIPES: tuple[str, ...] = (
    "float32",
    "float16",
    "dynamic",
    "int8",
    "qat",
    "prune50+int8",
    "prune80+int8",
    "prune_2_4",
    "cluster16",
    "pqat80",
)
"""Every recipe family once: PTQ, QAT, pruning, 2:4, clustering, pruning-preserving QAT."""

MODEL_BUILDERS: dict[str, str] = {"conv1d": "conv1d_classifier", "digits_cnn": "digits_cnn"}
"""Model names a grid accepts, and the :mod:`tinybench.train.models` builder each one calls."""

GRID_PRESETS: dict[str, dict[str, Any]] = {
    "ci": {
        "widths": (0.5,),
        "recipes": tuple(r for r in DEFAULT_RECIPES if r not in ("prune_2_4", "pqat80")),
        "epochs": 3,
        "fine_tune_epochs": 1,
    },
    "full": {
        "widths": (0.25, 0.5, 1.0),
        "recipes": DEFAULT_RECIPES,
        "epochs": 30,
        "fine_tune_epochs": 4,
    },
}
"""Named grid sizes: ``"ci"`` (8 variants, seconds of training) and ``"full"`` (3 widths × 10
recipes = 30 variants, so flash, arena and accuracy all move and the Pareto front is real)."""


@dataclass(frozen=True)
class SweepJob:
    """One point of a grid: a width and a recipe, with the training settings. Plain data.

    Attributes:
        model: Model name (a key of :data:`MODEL_BUILDERS`).
        width: Width multiplier passed to the builder.
        recipe: Recipe id, for example ``"prune80+int8"``.
        epochs: Epochs of base training (early stopping may end sooner).
        fine_tune_epochs: Epochs of fine-tuning for QAT, pruning and clustering.
        batch_size: Batch size for training and fine-tuning.
        patience: Early-stopping patience of the base training, in epochs.
        seed: Seed of training (the data split uses the grid's seed too).
        board: Board the variant is profiled for.
    """

    model: str
    width: float
    recipe: str
    epochs: int
    fine_tune_epochs: int
    batch_size: int
    patience: int
    seed: int
    board: str

    def base_config(self) -> dict[str, Any]:
        """Everything that decides the trained float base model: all but the variant's fields."""
        return {k: v for k, v in self.config().items() if k not in _VARIANT_FIELDS}

    def config(self) -> dict[str, Any]:
        """Everything that decides the variant and its figures: every field."""
        return dataclasses.asdict(self)


_VARIANT_FIELDS = ("recipe", "fine_tune_epochs", "board")
"""The :class:`SweepJob` fields that change a variant but not the base model it starts from."""


@dataclass(frozen=True)
class SweepGrid:
    """What to sweep: one dataset, one model builder at some widths, several recipes.

    Attributes:
        dataset: Dataset name under ``data_dir`` (or a folder), or ``"digits"``.
        data_dir: Folder holding datasets, relative to the working directory.
        window: Window length in samples (``None``: one second; ignored for images).
        stride: Stride between windows in samples (``None``: half a window).
        model: Model name, a key of :data:`MODEL_BUILDERS`.
        widths: Width multipliers; one base model is trained per width.
        recipes: Recipe ids (see :data:`DEFAULT_RECIPES`).
        board: Board whose budget the variants are profiled against.
        epochs: Epochs of base training.
        fine_tune_epochs: Epochs of fine-tuning for QAT, pruning and clustering.
        batch_size: Batch size.
        patience: Early-stopping patience of the base training.
        seed: Seed of the session split and of training.
    """

    dataset: str = "gestures"
    data_dir: str = "data"
    window: int | None = None
    stride: int | None = None
    model: str = "conv1d"
    widths: tuple[float, ...] = (1.0,)
    recipes: tuple[str, ...] = DEFAULT_RECIPES
    board: str = "nano33ble"
    epochs: int = 30
    fine_tune_epochs: int = 4
    batch_size: int = 32
    patience: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(float(w) for w in self.widths))
        object.__setattr__(self, "recipes", tuple(str(r) for r in self.recipes))
        object.__setattr__(self, "data_dir", str(self.data_dir))
        object.__setattr__(self, "dataset", str(self.dataset))
        if self.model not in MODEL_BUILDERS:
            raise ConfigError(
                f"Unknown model {self.model!r}. Known models: {', '.join(MODEL_BUILDERS)}. "
                "Add a builder to tinybench/models.py and to sweep_grid.MODEL_BUILDERS for others."
            )
        if not self.widths or any(not w > 0 for w in self.widths):
            raise ConfigError(f"widths must be positive numbers, got {self.widths!r}.")
        if not self.recipes:
            raise ConfigError(f"A sweep needs at least one recipe, for example {DEFAULT_RECIPES}.")
        duplicates = sorted({r for r in self.recipes if self.recipes.count(r) > 1})
        if duplicates or len(set(self.widths)) != len(self.widths):
            raise ConfigError(
                f"The grid repeats recipes {duplicates} or widths {self.widths}; list each once."
            )
        minimums = {"epochs": 1, "fine_tune_epochs": 1, "batch_size": 1, "patience": 1, "seed": 0}
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")
        get_board(self.board)
        _check_recipes(self.recipes)

    @classmethod
    def preset(cls, size: str, **overrides: Any) -> SweepGrid:
        """Return the ``"ci"`` or ``"full"`` grid, with any field overridden.

        Args:
            size: A key of :data:`GRID_PRESETS`.
            **overrides: Fields to change, for example ``dataset="digits"``.

        Raises:
            ConfigError: The size or a field name is unknown.
        """
        if size not in GRID_PRESETS:
            raise ConfigError(
                f"Unknown grid size {size!r}. Choose one of {', '.join(GRID_PRESETS)}."
            )
        return cls.from_dict({**GRID_PRESETS[size], **overrides})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepGrid:
        """Build a grid from a plain dict (a notebook parameter, a JSON file).

        Raises:
            ConfigError: A key is not a grid field; the message lists the fields.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(
                f"Unknown sweep grid settings {unknown}. Known settings: {', '.join(names)}."
            )
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the grid as a JSON-ready dict; :meth:`from_dict` reads it back."""
        data = dataclasses.asdict(self)
        data["widths"] = list(self.widths)
        data["recipes"] = list(self.recipes)
        return data

    def jobs(self) -> list[SweepJob]:
        """Return one job per (width, recipe), widths outermost, in the grid's order."""
        settings = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(SweepJob)
            if field.name not in ("width", "recipe")
        }
        settings["board"] = get_board(self.board).name
        return [
            SweepJob(width=width, recipe=recipe, **settings)
            for width in self.widths
            for recipe in self.recipes
        ]


def _check_recipes(recipes: Sequence[str]) -> None:
    from tinybench.optimize import Recipe

    for recipe in recipes:
        Recipe.parse(recipe)
