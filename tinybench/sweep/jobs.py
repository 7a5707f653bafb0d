"""The jobs of a sweep: training a base model, and making and measuring one variant.

Every variant is a job: a top-level function taking one small frozen dataclass of plain data,
so an executor can pickle it by module path and run it in another process.
:func:`train_base_task` trains a width's float base model once (every recipe of that width
shares it); :func:`run_variant_task` makes, profiles and stores one variant. Both read and write
through :mod:`tinybench.sweep.cache`.

Jobs run on an executor from :mod:`tinybench.sweep.executors`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.errors import RecipeError, TinybenchError, UnsupportedOpError
from tinybench.sweep.cache import (
    CACHE_FORMAT,
    base_dir,
    load_data,
    read_result,
    write_base,
    write_result,
)
from tinybench.sweep.grid import MODEL_BUILDERS, SweepJob

__all__ = ["SweepTask", "run_variant_task", "train_base_task"]


@dataclass(frozen=True)
class SweepTask:
    """A job bound to its data file, cache folder and content keys: what a worker receives.

    Attributes:
        job: The job.
        key: Its content key (see :func:`tinybench.sweep.cache.content_key`).
        base_key: The content key of its float base model.
        data_file: The prepared arrays (see :func:`tinybench.sweep.cache.write_data`).
        cache_dir: The cache folder.
    """

    job: SweepJob
    key: str
    base_key: str
    data_file: str
    cache_dir: str


def train_base_task(task: SweepTask) -> str:
    """Train the float base model of ``task`` unless its weights are cached; return its key.

    Args:
        task: The job, its data file and cache folder.
    """
    _ensure_base(task)
    return task.base_key


def run_variant_task(task: SweepTask) -> dict[str, Any]:
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
    stored = read_result(cache, task.key)
    if stored is not None:
        return stored
    started = time.perf_counter()
    job = task.job
    prepared = load_data(task.data_file)
    row: dict[str, Any] = {"recipe": job.recipe, "width": job.width, "board": job.board}
    y_pred: list[int] | None = None
    variant = None
    try:
        model = _ensure_base(task)
        variant = make_variant(model, _recipe(job), prepared, seed=job.seed, progress=False)
        measured, y_pred = _measure(variant.tflite, job.board, prepared)
        row.update(measured)
        # The fraction of weights that really are zero (pruning leaves small layers dense).
        row["weight_sparsity"] = variant.weight_sparsity
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
    write_result(cache, task.key, result, variant)
    return read_result(cache, task.key) or result


def _build_model(job: SweepJob, prepared: Any) -> Any:
    """Build the job's untrained model with fresh layer names.

    Keras numbers layer names per process (``conv2d_7``), and the names land in the
    flatbuffer; clearing the session first makes a variant's bytes independent of which
    worker built it and of what it built before.
    """
    from tinybench.tf_runtime import load_keras
    from tinybench.train import models

    load_keras().backend.clear_session()

    builder = getattr(models, MODEL_BUILDERS[job.model])
    return builder(prepared.input_shape, len(prepared.labels), width=job.width, seed=job.seed)


def _ensure_base(task: SweepTask) -> Any:
    """Return the trained base model, from the cache or trained now and cached."""
    from tinybench.train import fit

    job = task.job
    prepared = load_data(task.data_file)
    model = _build_model(job, prepared)
    folder = base_dir(Path(task.cache_dir), task.base_key)
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
    meta = {
        "config": job.base_config(),
        "val_accuracy": result.val_accuracy,
        "best_epoch": result.best_epoch,
        "seconds": round(result.wall_time_s, 3),
    }
    write_base(Path(task.cache_dir), task.base_key, model.get_weights(), meta)
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

    Accuracy comes from :func:`tinybench.measure.evaluate` with the interpreter the profile
    chose (TFLM, or LiteRT for models a microcontroller cannot run), so each test window runs
    once and its prediction is kept for the confusion matrix.
    """
    from tinybench.measure import LiteRtRunner, TflmRunner, evaluate, profile

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
