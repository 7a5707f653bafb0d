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

The parts live in their own modules: the grid in :mod:`tinybench.sweep_grid`, the cache in
:mod:`tinybench.sweep_cache`, the jobs and executors in :mod:`tinybench.sweep_jobs`, and reading
the results (:func:`pareto_front`, :func:`tradeoff_table`, :func:`best_variant`) in
:mod:`tinybench.tradeoffs`. Every public name is importable from here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.sweep_cache import (
    CACHE_FORMAT,
    Predictions,
    _base_dir,
    _content_key,
    _data_hash,
    _job_dir,
    _read_result,
    _versions,
    _write_data,
    load_predictions,
    load_variant,
)
from tinybench.sweep_grid import DEFAULT_RECIPES, GRID_PRESETS, SweepGrid, SweepJob
from tinybench.sweep_jobs import (
    LocalExecutor,
    _execute,
    _executor_for,
    _Task,
    run_variant_task,
    train_base_task,
)
from tinybench.tradeoffs import best_variant, pareto_front, tradeoff_table

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
