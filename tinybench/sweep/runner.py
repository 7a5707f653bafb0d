"""Experiment grids over widths and optimization recipes, cached by content.

A :class:`SweepGrid` names a dataset, a model builder with its widths, and recipes.
:func:`run_sweep` turns it into one pandas DataFrame with one row per variant, its figures
measured by :func:`tinybench.measure.profile` (accuracy in TFLM, flash and gzip bytes,
arena).

How it runs:

- The float base model is trained once per width and shared by every recipe of that width;
  its weights are cached like the variants.
- Every variant is a job: a top-level function taking plain, picklable data. Jobs run on an
  executor: the default :class:`~tinybench.sweep.executors.LocalExecutor` (a spawn process
  pool, since TensorFlow and ``fork`` do not mix), ``"serial"`` for in-process runs, or anything
  with ``concurrent.futures``-style ``submit`` or a ``map`` (a ``dask.distributed.Client``, a
  Ray pool). See ``docs/sweeps.md``.
- The cache key of a job is a sha256 over the prepared data arrays, the model config, the
  recipe, epochs, seed, board, the library versions and a hash of every module of the
  installed package (:func:`tinybench.sweep.cache.package_fingerprint`). Each job writes its
  result folder atomically when it finishes, so a re-run of an unchanged sweep only reads
  JSON, and an interrupted sweep resumes with the missing jobs only.

The parts live in their own modules: the grid in :mod:`tinybench.sweep.grid`, the cache in
:mod:`tinybench.sweep.cache`, the jobs in :mod:`tinybench.sweep.jobs`, the executors in
:mod:`tinybench.sweep.executors`, and reading the results in :mod:`tinybench.sweep.tradeoffs`.
Every public name is importable from :mod:`tinybench.sweep`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.sweep.cache import (
    CACHE_FORMAT,
    base_dir,
    cache_versions,
    content_key,
    data_hash,
    job_dir,
    read_result,
    write_data,
)
from tinybench.sweep.executors import open_executor, run_tasks
from tinybench.sweep.grid import SweepGrid
from tinybench.sweep.jobs import SweepTask, run_variant_task, train_base_task

__all__ = ["run_sweep", "sweep_tasks"]

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
        executor: ``None`` or ``"local"`` for a
            :class:`~tinybench.sweep.executors.LocalExecutor` made for this call, ``"serial"``
            to run in this process, a Dask scheduler address (``"tcp://host:8786"``) or a
            ``distributed.Client`` (the ``cluster`` extra; ``cache_dir`` must then be shared
            storage, see ``docs/sweeps.md``), or any object with ``submit`` (a
            ``concurrent.futures.Executor``) or ``map``.
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
    prepared = _prepare(grid, dataset)
    cache = Path(cache_dir).resolve()
    tasks = sweep_tasks(grid, prepared, cache)
    results: dict[str, dict[str, Any]] = {}
    for task in tasks:
        stored = read_result(cache, task.key)
        if stored is not None:
            results[task.key] = {**stored, "cached": True}
    missing = [task for task in tasks if task.key not in results]
    if missing:
        results.update(_run_missing(missing, len(tasks), executor, progress))
    df = _results_frame(tasks, results, cache)
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


def sweep_tasks(grid: SweepGrid, prepared: Any, cache: Path) -> list[SweepTask]:
    """Return the grid's jobs bound to their content keys, storing the data for workers.

    A job's key covers its configuration, the prepared data, the library versions and the
    package's code (:func:`~tinybench.sweep.cache.cache_versions`): change any and it is
    computed again.
    """
    digest = data_hash(prepared)
    data_file = write_data(prepared, digest, cache)
    context = {"format": CACHE_FORMAT, "data": digest, "versions": cache_versions()}
    return [
        SweepTask(
            job=job,
            key=content_key(context, job.config()),
            base_key=content_key(context, job.base_config()),
            data_file=str(data_file),
            cache_dir=str(cache),
        )
        for job in grid.jobs()
    ]


def _run_missing(
    missing: list[SweepTask], total: int, executor: Any, progress: bool
) -> dict[str, dict[str, Any]]:
    """Train the base models the missing jobs need, then run the jobs; return their results."""
    from tqdm.auto import tqdm

    cache = Path(missing[0].cache_dir)
    results: dict[str, dict[str, Any]] = {}
    bar = tqdm(total=total, initial=total - len(missing), desc="sweep", disable=not progress)
    with open_executor(executor) as pool:
        bases = {t.base_key: t for t in missing if not base_dir(cache, t.base_key).is_dir()}
        if bases:
            bar.set_postfix_str(f"training {len(bases)} float base model(s)")
        for _ in run_tasks(pool, train_base_task, list(bases.values())):
            pass
        for result in run_tasks(pool, run_variant_task, missing):
            results[result["key"]] = {**result, "cached": False}
            bar.set_postfix_str(f"{result['row']['recipe']} w{result['row']['width']:g}")
            bar.update(1)
    bar.close()
    return results


def _results_frame(
    tasks: list[SweepTask], results: dict[str, dict[str, Any]], cache: Path
) -> pd.DataFrame:
    rows = [
        {
            **results[t.key]["row"],
            "seconds": results[t.key]["seconds"],
            "cached": results[t.key]["cached"],
            "key": t.key,
            "path": str(job_dir(cache, t.key)),
        }
        for t in tasks
    ]
    df = pd.DataFrame(rows)
    first = [c for c in _FIRST_COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in _FIRST_COLUMNS]]


def _prepare(grid: SweepGrid, dataset: Any) -> Any:
    from tinybench.dataset import Dataset, Prepared, prepare

    if isinstance(dataset, Prepared):
        return dataset
    if dataset is not None and not isinstance(dataset, Dataset):
        raise ConfigError(
            f"run_sweep got a dataset of type {type(dataset).__name__}. Pass None (load "
            "grid.dataset), a tinybench Dataset, or a Prepared from "
            "tinybench.dataset.prepare()."
        )
    source = dataset if dataset is not None else grid.dataset
    return prepare(source, grid.window, grid.stride, grid.seed, data_dir=grid.data_dir)
