"""Experiment grids over widths and optimization recipes, cached by content.

A :class:`SweepGrid` names a dataset, a model builder with its widths, and recipes.
:func:`run_sweep` turns it into one pandas DataFrame with one row per variant, its figures
measured by :func:`tinybench.profile.profile` (accuracy in TFLM, flash and gzip bytes, arena).

How it runs:

- The float base model is trained once per width and shared by every recipe of that width;
  its weights are cached like the variants.
- Every variant is a job: a top-level function taking plain, picklable data. Jobs run on an
  executor: the default :class:`LocalExecutor` (a spawn process pool, since TensorFlow and
  ``fork`` do not mix), ``"serial"`` for in-process runs, or anything with
  ``concurrent.futures``-style ``submit`` or a ``map`` (a ``dask.distributed.Client``, a Ray
  pool). See ``docs/sweeps.md``.
- The cache key of a job is a sha256 over the prepared data arrays, the model config, the
  recipe, epochs, seed, board, the tinybench and library versions and the source of the modules
  that compute the result. Each job writes its result folder atomically when it finishes, so a
  re-run of an unchanged sweep only reads JSON, and an interrupted sweep resumes with the
  missing jobs only.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from tinybench.boards import Board, get_board
from tinybench.errors import (
    BudgetError,
    ConfigError,
    RecipeError,
    TinybenchError,
    UnsupportedOpError,
)

__all__ = [
    "DEFAULT_RECIPES",
    "GRID_PRESETS",
    "LocalExecutor",
    "Predictions",
    "SweepGrid",
    "SweepJob",
    "best_variant",
    "load_predictions",
    "load_variant",
    "pareto_front",
    "run_sweep",
    "tradeoff_table",
]

CACHE_FORMAT = "tinybench-sweep/1"

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
"""Model names a grid accepts, and the :mod:`tinybench.models` builder each one calls."""

GRID_PRESETS: dict[str, dict[str, Any]] = {
    "ci": {
        "widths": (0.5,),
        "recipes": tuple(r for r in DEFAULT_RECIPES if r not in ("prune_2_4", "pqat80")),
        "epochs": 3,
        "fine_tune_epochs": 1,
    },
    "full": {"widths": (1.0,), "recipes": DEFAULT_RECIPES, "epochs": 30, "fine_tune_epochs": 4},
}
"""Named grid sizes: ``"ci"`` (8 variants, seconds of training) and ``"full"`` (10 variants)."""

# Modules whose source decides a job's result; editing one invalidates the cache.
_PIPELINE_MODULES = tuple(
    f"tinybench.{name}"
    for name in ("sweep", "models", "train", "optimize", "profile", "tflm", "tflite_model")
)
_FIRST_COLUMNS = [
    "recipe",
    "width",
    "accuracy",
    "interpreter",
    "flash_model_bytes",
    "gzip_bytes",
    "arena_bytes",
    "params",
    "macs",
    "latency_ms_estimate",
    "fits",
    "runnable_on_mcu",
    "quantization",
    "int8",
    "reason",
    "error",
    "seconds",
    "cached",
]
_LIBRARIES = [
    "tinybench",
    "tensorflow",
    "tf-keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "tflite-micro",
    "numpy",
]


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
        """Everything that decides the trained float base model."""
        return {
            "model": self.model,
            "width": self.width,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "seed": self.seed,
        }

    def config(self) -> dict[str, Any]:
        """Everything that decides the variant and its figures."""
        return {
            **self.base_config(),
            "recipe": self.recipe,
            "fine_tune_epochs": self.fine_tune_epochs,
            "board": self.board,
        }


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
                "Add a builder to tinybench/models.py and to sweep.MODEL_BUILDERS for others."
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
        return [
            SweepJob(
                model=self.model,
                width=width,
                recipe=recipe,
                epochs=self.epochs,
                fine_tune_epochs=self.fine_tune_epochs,
                batch_size=self.batch_size,
                patience=self.patience,
                seed=self.seed,
                board=get_board(self.board).name,
            )
            for width in self.widths
            for recipe in self.recipes
        ]


class LocalExecutor(concurrent.futures.ProcessPoolExecutor):
    """The default executor: a process pool started with ``spawn``.

    TensorFlow is not safe across ``fork``, so workers are spawned; each imports TensorFlow once
    and then runs many jobs.

    Args:
        max_workers: Worker processes; by default ``min(2, CPU count)``.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        workers = max_workers or min(2, os.cpu_count() or 1)
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


class Predictions(NamedTuple):
    """A variant's test predictions, in the order :func:`tinybench.plots.plot_confusion` takes.

    Attributes:
        y_true: True class indices of the test windows.
        y_pred: Class indices the variant predicted for them.
        labels: Class names.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    labels: tuple[str, ...]


@dataclass(frozen=True)
class _Task:
    """A job bound to its data file, cache folder and content keys: what a worker receives."""

    job: SweepJob
    key: str
    base_key: str
    data_file: str
    cache_dir: str


def run_sweep(
    grid: SweepGrid,
    dataset: Any = None,
    *,
    executor: Any = None,
    cache_dir: str | os.PathLike[str] = ".tinybench-cache",
    progress: bool = True,
) -> pd.DataFrame:
    """Run every job of ``grid`` (or read it from the cache) and return one row per variant.

    Args:
        grid: The sweep.
        dataset: The data: ``None`` loads ``grid.dataset`` from ``grid.data_dir``; a
            :class:`~tinybench.dataset.Dataset` is prepared with the grid's window, stride and
            seed; a :class:`~tinybench.dataset.Prepared` is used as it is.
        executor: ``None`` or ``"local"`` for a :class:`LocalExecutor` made for this call,
            ``"serial"`` to run in this process, or any object with ``submit`` (a
            ``concurrent.futures.Executor``, a ``dask.distributed.Client``) or ``map``.
        cache_dir: Folder of the content cache; it is created if needed.
        progress: Show a tqdm progress bar over the jobs.

    Returns:
        One row per job, in grid order, with columns ``recipe``, ``width``, ``accuracy``,
        ``interpreter``, ``flash_model_bytes``, ``gzip_bytes``, ``arena_bytes``, ``params``,
        ``macs``, ``latency_ms_estimate``, ``fits``, ``runnable_on_mcu``, ``reason``,
        ``error``, ``seconds``, ``cached`` and more from the profile. ``df.attrs`` holds the
        board, the labels and the cache folder.

    Raises:
        ConfigError: The executor is not one of the accepted kinds.
        DatasetError: The dataset cannot be loaded or windowed.
    """
    from tqdm.auto import tqdm

    prepared = _prepare(grid, dataset)
    cache = Path(cache_dir).resolve()
    data_hash = _data_hash(prepared)
    data_file = _write_data(prepared, data_hash, cache)
    context = {"format": CACHE_FORMAT, "data": data_hash, "versions": _versions()}
    tasks = [
        _Task(
            job=job,
            key=_content_key(context, job.config()),
            base_key=_content_key(context, job.base_config()),
            data_file=str(data_file),
            cache_dir=str(cache),
        )
        for job in grid.jobs()
    ]
    results: dict[str, dict[str, Any]] = {}
    for task in tasks:
        stored = _read_result(cache, task.key)
        if stored is not None:
            results[task.key] = {**stored, "cached": True}
    missing = [task for task in tasks if task.key not in results]
    if missing:
        bar = tqdm(total=len(tasks), initial=len(results), desc="sweep", disable=not progress)
        with _executor_for(executor) as pool:
            bases = {t.base_key: t for t in missing if not _base_dir(cache, t.base_key).is_dir()}
            if bases:
                bar.set_postfix_str(f"training {len(bases)} float base model(s)")
            for _ in _execute(pool, train_base_task, list(bases.values())):
                pass
            for result in _execute(pool, run_variant_task, missing):
                results[result["key"]] = {**result, "cached": False}
                bar.set_postfix_str(f"{result['row']['recipe']} w{result['row']['width']:g}")
                bar.update(1)
        bar.close()
    rows = [
        {
            **results[t.key]["row"],
            "seconds": results[t.key]["seconds"],
            "cached": results[t.key]["cached"],
            "key": t.key,
            "path": str(_job_dir(cache, t.key)),
        }
        for t in tasks
    ]
    df = pd.DataFrame(rows)
    df = df[
        [c for c in _FIRST_COLUMNS if c in df.columns]
        + [c for c in df.columns if c not in _FIRST_COLUMNS]
    ]
    df.attrs.update(
        {
            "board": get_board(grid.board).name,
            "labels": list(prepared.labels),
            "cache_dir": str(cache),
            "dataset": prepared.dataset,
            "grid": grid.to_dict(),
        }
    )
    return df


def pareto_front(df: pd.DataFrame, x: str, y: str = "accuracy") -> pd.DataFrame:
    """Return the rows no other row beats: smaller or equal ``x`` and higher ``y``.

    Rows missing ``x`` or ``y`` are left out. The front is sorted by ``x``.

    Args:
        df: Results, one row per variant.
        x: Column to minimize (bytes).
        y: Column to maximize (accuracy).
    """
    for column in (x, y):
        if column not in df.columns:
            raise ConfigError(f"No column {column!r}; the results have {list(df.columns)}.")
    points = df[df[x].notna() & df[y].notna()]
    ordered = points.sort_values([x, y], ascending=[True, False], kind="stable")
    keep, best = [], -np.inf
    for index, value in zip(ordered.index, ordered[y], strict=True):
        if value > best:
            keep.append(index)
            best = value
    return ordered.loc[keep]


def tradeoff_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return the sweep's key figures with column names that say what each byte count is.

    Args:
        df: A sweep's results.

    Returns:
        One row per variant: test accuracy in percent and the interpreter that measured it,
        model flash bytes (the C array), gzip bytes (compressed, not flash), the tensor arena
        measured by TFLM, whether it runs on a microcontroller and fits the board, and any
        error.
    """
    several = "width" in df.columns and df["width"].nunique() > 1
    variant = [
        f"{recipe} w{width:g}" if several else str(recipe)
        for recipe, width in zip(df["recipe"], df.get("width", df["recipe"]), strict=True)
    ]
    table = pd.DataFrame(
        {
            "variant": variant,
            "accuracy %": (df["accuracy"] * 100).round(2),
            "measured in": df.get("interpreter"),
            "model flash B (C array)": df.get("flash_model_bytes"),
            "gzip B (not flash)": df.get("gzip_bytes"),
            "arena B (TFLM)": df.get("arena_bytes"),
            "runs on MCU": df["runnable_on_mcu"].astype(bool),
            "fits board": df.get("fits"),
            "error": df.get("error"),
        }
    )
    for column in ("model flash B (C array)", "gzip B (not flash)", "arena B (TFLM)"):
        table[column] = table[column].astype("Int64")
    return table.set_index("variant")


def best_variant(
    df: pd.DataFrame,
    board: str | Board | None = None,
    min_accuracy: float | None = None,
    *,
    int8_only: bool = True,
) -> pd.Series:
    """Choose the variant to deploy: runnable on a microcontroller and fitting the board.

    Without ``min_accuracy`` the most accurate candidate wins (the smaller flash breaks ties);
    with it, the candidate with the fewest model flash bytes among those at least that
    accurate wins.

    Args:
        df: A sweep's results.
        board: Board it must fit; by default the sweep's board.
        min_accuracy: Lowest acceptable test accuracy, as a fraction (0.9 for 90%).
        int8_only: Consider only fully int8 variants (what TFLM runs fastest and smallest).

    Returns:
        The chosen row.

    Raises:
        BudgetError: No variant qualifies; the message says how many failed each condition.
    """
    target = get_board(board) if board is not None else get_board(df.attrs.get("board", ""))
    fits = df.apply(lambda row: _fits(row, target), axis=1).astype(bool)
    runnable = df["runnable_on_mcu"].astype(bool) & df["accuracy"].notna()
    int8 = df["int8"].astype(bool) if int8_only else pd.Series(True, index=df.index)
    candidates = df[fits & runnable & int8]
    if min_accuracy is not None:
        candidates = candidates[candidates["accuracy"] >= min_accuracy]
    if candidates.empty:
        raise BudgetError(
            f"No variant qualifies for {target.name}: {int(runnable.sum())} of {len(df)} run on a "
            f"microcontroller, {int((runnable & int8).sum())} of those are int8, "
            f"{int((runnable & int8 & fits).sum())} fit its flash and RAM"
            + (f", and none reaches accuracy {min_accuracy:.1%}" if min_accuracy else "")
            + ". Lower min_accuracy, add int8 recipes or smaller widths, or pick a bigger board."
        )
    if min_accuracy is None:
        order = candidates.sort_values(
            ["accuracy", "flash_model_bytes"], ascending=[False, True], kind="stable"
        )
    else:
        order = candidates.sort_values(
            ["flash_model_bytes", "accuracy"], ascending=[True, False], kind="stable"
        )
    return order.iloc[0]


def load_variant(row: Mapping[str, Any] | pd.Series) -> Any:
    """Load the :class:`~tinybench.optimize.Variant` a sweep row was measured on.

    Args:
        row: A row of :func:`run_sweep`'s DataFrame (it holds the cache folder in ``path``).

    Raises:
        ConfigError: The row's cache folder is gone (the cache was cleared); run the sweep
            again.
    """
    from tinybench.optimize import Variant

    folder = _row_folder(row) / "variant"
    return Variant.load(folder)


def load_predictions(row: Mapping[str, Any] | pd.Series) -> Predictions:
    """Return the test labels and the variant's predictions for a sweep row.

    Args:
        row: A row of :func:`run_sweep`'s DataFrame.

    Raises:
        ConfigError: The row's cache folder is gone, or the variant could not be evaluated.
    """
    result = json.loads((_row_folder(row) / "result.json").read_text(encoding="utf-8"))
    if result.get("y_pred") is None:
        raise ConfigError(
            f"Variant {row['recipe']!r} has no predictions: {result['row'].get('error')}. "
            "Choose a row whose error column is empty."
        )
    return Predictions(
        np.asarray(result["y_true"], dtype=np.int64),
        np.asarray(result["y_pred"], dtype=np.int64),
        tuple(result["labels"]),
    )


# --- jobs: top-level functions of plain data, run by any executor --------------------------


def train_base_task(task: _Task) -> str:
    """Train the float base model of ``task`` unless its weights are cached; return its key.

    Args:
        task: The job, its data file and cache folder.
    """
    _ensure_base(task)
    return task.base_key


def run_variant_task(task: _Task) -> dict[str, Any]:
    """Make, profile and store one variant; return its stored result.

    The result folder (``result.json`` and the saved ``variant.tflite``/``variant.json``) is
    written to a temporary folder and renamed into place, so it is complete or absent. A recipe
    the stack refuses, or a model the profiler cannot run, gives a row with ``error`` set
    instead of stopping the sweep. Refusals (:class:`RecipeError`, :class:`UnsupportedOpError`)
    are cached like results; other failures are not, so a re-run tries again.

    Args:
        task: The job, its data file and cache folder.
    """
    from tinybench.optimize import make_variant

    cache = Path(task.cache_dir)
    stored = _read_result(cache, task.key)
    if stored is not None:
        return stored
    started = time.perf_counter()
    job = task.job
    prepared = _load_data(task.data_file)
    row: dict[str, Any] = {"recipe": job.recipe, "width": job.width, "board": job.board}
    y_pred: list[int] | None = None
    variant = None
    try:
        model = _ensure_base(task)
        variant = make_variant(model, _recipe(job), prepared, seed=job.seed, progress=False)
        measured, y_pred = _measure(variant.tflite, job.board, prepared)
        row.update(measured)
        row["error"] = ""
    except TinybenchError as exc:
        row.update({"runnable_on_mcu": False, "accuracy": None, "error": str(exc)})
        refused = isinstance(exc, RecipeError | UnsupportedOpError)
    else:
        refused = False
    row["int8"] = row.get("quantization") == "int8"
    result = {
        "format": CACHE_FORMAT,
        "key": task.key,
        "job": dataclasses.asdict(job),
        "row": _plain(row),
        "labels": list(prepared.labels),
        "y_true": [int(v) for v in prepared.test.y],
        "y_pred": y_pred,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if row["error"] and not refused:
        return result  # not cached: a failure that is not a refusal may not happen again
    _write_result(cache, task.key, result, variant)
    return _read_result(cache, task.key) or result


# --- helpers ---------------------------------------------------------------------------------


def _check_recipes(recipes: Sequence[str]) -> None:
    from tinybench.optimize import Recipe

    for recipe in recipes:
        Recipe.parse(recipe)


def _prepare(grid: SweepGrid, dataset: Any) -> Any:
    from tinybench.dataset import Dataset, Prepared, prepare

    if isinstance(dataset, Prepared):
        return dataset
    if dataset is not None and not isinstance(dataset, Dataset):
        raise ConfigError(
            f"run_sweep got a dataset of type {type(dataset).__name__}. Pass None (load "
            "grid.dataset), a tinybench Dataset, or a Prepared from tinybench.dataset.prepare()."
        )
    source = dataset if dataset is not None else grid.dataset
    return prepare(source, grid.window, grid.stride, grid.seed, data_dir=grid.data_dir)


def _data_hash(prepared: Any) -> str:
    digest = hashlib.sha256()
    for part in ("train", "val", "test"):
        windows = getattr(prepared, part)
        for array in (windows.x, windows.y):
            contiguous = np.ascontiguousarray(array)
            digest.update(f"{part}:{contiguous.dtype}:{contiguous.shape}".encode())
            digest.update(contiguous.tobytes())
    digest.update(json.dumps(_prepared_meta(prepared), sort_keys=True).encode())
    return digest.hexdigest()


def _prepared_meta(prepared: Any) -> dict[str, Any]:
    return {
        "dataset": prepared.dataset,
        "labels": list(prepared.labels),
        "normalization": prepared.normalization.to_dict(),
        "split": {p: list(prepared.split.part(p)) for p in ("train", "val", "test")},
        "window": prepared.window,
        "stride": prepared.stride,
        "rate_hz": prepared.rate_hz,
    }


def _write_data(prepared: Any, data_hash: str, cache: Path) -> Path:
    """Store the prepared arrays once per content hash, for workers to read."""
    path = cache / "data" / f"{data_hash}.npz"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for part in ("train", "val", "test"):
        windows = getattr(prepared, part)
        arrays[f"{part}_x"] = windows.x
        arrays[f"{part}_y"] = windows.y
        arrays[f"{part}_sessions"] = np.asarray(windows.sessions, dtype=str)
    arrays["meta"] = np.asarray(json.dumps(_prepared_meta(prepared)))
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
    return path


@functools.lru_cache(maxsize=4)
def _load_data(data_file: str) -> Any:
    """Rebuild the :class:`~tinybench.dataset.Prepared` a task's data file holds."""
    from tinybench.dataset import Normalization, Prepared, Split, Windows

    with np.load(data_file) as arrays:
        meta = json.loads(str(arrays["meta"]))
        labels = tuple(meta["labels"])
        parts = {
            part: Windows(
                arrays[f"{part}_x"], arrays[f"{part}_y"], arrays[f"{part}_sessions"], labels
            )
            for part in ("train", "val", "test")
        }
    return Prepared(
        dataset=meta["dataset"],
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        normalization=Normalization.from_dict(meta["normalization"]),
        labels=labels,
        input_shape=parts["train"].input_shape,
        split=Split(*(tuple(meta["split"][p]) for p in ("train", "val", "test"))),
        window=meta["window"],
        stride=meta["stride"],
        rate_hz=meta["rate_hz"],
    )


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    for module in _PIPELINE_MODULES:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        source = Path(origin).read_bytes() if origin and Path(origin).is_file() else b""
        versions[module] = hashlib.sha256(source).hexdigest()[:16]
    return versions


def _content_key(context: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    text = json.dumps({**context, "config": dict(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _job_dir(cache: Path, key: str) -> Path:
    return cache / "jobs" / key[:2] / key


def _base_dir(cache: Path, key: str) -> Path:
    return cache / "base" / key[:2] / key


def _read_result(cache: Path, key: str) -> dict[str, Any] | None:
    path = _job_dir(cache, key) / "result.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return result if result.get("format") == CACHE_FORMAT else None


@contextlib.contextmanager
def _staged(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; rename it into place only on success.

    The folder is complete or absent. If another worker published ``final`` first, its copy
    wins and this one is dropped.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name[:12]}-", dir=final.parent))
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_result(cache: Path, key: str, result: dict[str, Any], variant: Any) -> None:
    with _staged(_job_dir(cache, key)) as tmp:
        if variant is not None:
            variant.save(tmp / "variant")
        (tmp / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


def _build_model(job: SweepJob, prepared: Any) -> Any:
    """Build the job's untrained model with fresh layer names.

    Keras numbers layer names per process (``conv2d_7``), and the names land in the
    flatbuffer; clearing the session first makes a variant's bytes independent of which
    worker built it and of what it built before.
    """
    from tinybench import models
    from tinybench.tf_runtime import load_keras

    load_keras().backend.clear_session()

    builder = getattr(models, MODEL_BUILDERS[job.model])
    return builder(prepared.input_shape, len(prepared.labels), width=job.width, seed=job.seed)


def _ensure_base(task: _Task) -> Any:
    """Return the trained base model, from the cache or trained now and cached."""
    from tinybench.train import fit

    job = task.job
    prepared = _load_data(task.data_file)
    model = _build_model(job, prepared)
    folder = _base_dir(Path(task.cache_dir), task.base_key)
    weights = folder / "weights.npz"
    if weights.is_file():
        with np.load(weights) as stored:
            model.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])
        return model
    result = fit(
        model,
        prepared.train,
        prepared.val,
        epochs=job.epochs,
        batch_size=job.batch_size,
        patience=job.patience,
        seed=job.seed,
        progress=False,
    )
    with _staged(folder) as tmp:
        np.savez(tmp / "weights.npz", **{f"w{i}": w for i, w in enumerate(model.get_weights())})
        meta = {
            "config": job.base_config(),
            "val_accuracy": result.val_accuracy,
            "best_epoch": result.best_epoch,
            "seconds": round(result.wall_time_s, 3),
        }
        (tmp / "base.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return model


def _recipe(job: SweepJob) -> Any:
    """The job's recipe, fine-tuning for the grid's epochs unless the id sets its own."""
    from tinybench.optimize import Recipe

    recipe = Recipe.parse(job.recipe)
    if recipe.fine_tuned and "epochs=" not in job.recipe:
        recipe = dataclasses.replace(recipe, epochs=job.fine_tune_epochs)
    return recipe


class _RecordingRunner:
    """Wraps an interpreter runner and keeps the raw outputs of its last ``predict``."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner
        self.outputs: np.ndarray | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.outputs = self._runner.predict(batch)
        return self.outputs


def _measure(tflite: bytes, board: str, prepared: Any) -> tuple[dict[str, Any], list[int]]:
    """Profile ``tflite`` on ``board`` and evaluate it on the test split, keeping predictions.

    Accuracy comes from :func:`tinybench.profile.evaluate` with the interpreter the profile
    chose (TFLM, or LiteRT for models a microcontroller cannot run), so each test window runs
    once and its prediction is kept for the confusion matrix.
    """
    from tinybench.profile import evaluate, profile
    from tinybench.tflm import LiteRtRunner, TflmRunner

    measured = profile(tflite, board)
    runner = TflmRunner(tflite) if measured.interpreter == "tflm" else LiteRtRunner(tflite)
    recorder = _RecordingRunner(runner)
    accuracy = evaluate(recorder, prepared.test, labels=prepared.labels)
    outputs = np.asarray(recorder.outputs).reshape(len(prepared.test.y), -1)
    row = dict(measured.to_row())
    row["params"] = row.pop("parameter_count")
    row.update({"accuracy": accuracy, "samples": len(prepared.test.y)})
    # argmax of the raw (possibly int8) scores: dequantizing is monotonic, so it agrees.
    return row, [int(v) for v in outputs.argmax(axis=1)]


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """Turn numpy scalars into JSON values; NaN becomes ``None``."""
    plain: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        if isinstance(value, tuple | list):
            value = list(value)
        plain[name] = value
    return plain


def _fits(row: pd.Series, board: Board) -> bool:
    """Whether a row's variant fits ``board``, with the profile's estimates moved to it."""
    if not bool(row.get("runnable_on_mcu")) or pd.isna(row.get("flash_model_bytes")):
        return False
    if row.get("board") == board.name:
        return bool(row["fits"])
    measured_on = get_board(row["board"])
    flash = (
        row["flash_total_estimate"] - measured_on.runtime_flash_bytes + board.runtime_flash_bytes
    )
    ram = row["ram_total_estimate"] - measured_on.runtime_ram_bytes + board.runtime_ram_bytes
    return bool(board.tflm and flash <= board.flash_bytes and ram <= board.ram_bytes)


def _row_folder(row: Mapping[str, Any] | pd.Series) -> Path:
    folder = Path(str(row["path"]))
    if not (folder / "result.json").is_file():
        raise ConfigError(
            f"The cache folder {folder} of variant {row.get('recipe')!r} is gone (the cache was "
            "cleared or moved). Run the sweep again with the same cache_dir."
        )
    return folder


class _SerialExecutor:
    """Runs tasks one after another in this process."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        return map(fn, tasks)


@contextlib.contextmanager
def _executor_for(executor: Any) -> Iterator[Any]:
    if executor is None or executor == "local":
        pool = LocalExecutor()
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    if executor == "serial":
        yield _SerialExecutor()
        return
    if isinstance(executor, str) or not (hasattr(executor, "submit") or hasattr(executor, "map")):
        raise ConfigError(
            f"Unknown executor {executor!r}. Pass None or 'local' (a process pool), 'serial' "
            "(this process), or an object with submit() or map(), such as a "
            "concurrent.futures.Executor or a dask.distributed.Client."
        )
    yield executor


def _execute(executor: Any, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
    """Yield ``fn(task)`` for every task, in completion order where the executor allows."""
    if not tasks:
        return
    if hasattr(executor, "submit"):
        futures = [executor.submit(fn, task) for task in tasks]
        if all(isinstance(f, concurrent.futures.Future) for f in futures):
            try:
                for future in concurrent.futures.as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()
        else:
            for future in futures:
                yield future.result()
        return
    yield from executor.map(fn, tasks)
