"""Where a sweep's jobs run: a local process pool, this process, or a Dask cluster.

:func:`open_executor` turns what :func:`~tinybench.sweep.runner.run_sweep` was given into an
executor: the default :class:`LocalExecutor` (a spawn process pool, since TensorFlow and
``fork`` do not mix), ``"serial"`` for in-process runs, a :class:`DaskExecutor` for a
``distributed.Client`` or a scheduler address such as ``"tcp://10.0.0.5:8786"`` (the optional
extra ``pip install tinybench[cluster]``), or anything with ``concurrent.futures``-style
``submit`` or a ``map`` (a Ray pool). :func:`run_tasks` runs a function over tasks on it.

``distributed`` is imported only when a Dask executor is asked for, so ``import tinybench``
and local sweeps never need it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any

from tinybench.errors import ConfigError
from tinybench.native_logs import quiet_native_logs

__all__ = [
    "DaskExecutor",
    "LocalExecutor",
    "SerialExecutor",
    "import_distributed",
    "open_executor",
    "quietly",
    "run_tasks",
]

_INSTALL_CLUSTER = 'pip install "tinybench[cluster]"'


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


class SerialExecutor:
    """Runs tasks one after another in this process."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Yield ``fn(task)`` for each task, in order."""
        return map(fn, tasks)


def quietly(fn: Callable[[Any], Any], task: Any) -> Any:
    """Return ``fn(task)``, with what native code writes to fd 2 sent to the log instead.

    Worker processes (a :class:`LocalExecutor`'s, a Dask worker's) run their jobs through it:
    TensorFlow's C++ lines (``use_unbounded_threadpool`` while training, the converter's
    ``fully_quantize``) go to the ``tinybench.native`` logger at DEBUG level on the worker
    instead of its terminal. Jobs run in this process are not wrapped, so a progress bar on the
    terminal keeps drawing.
    """
    with quiet_native_logs():
        return fn(task)


def import_distributed() -> ModuleType:
    """Import and return Dask's ``distributed``, the optional ``cluster`` extra.

    Raises:
        ConfigError: ``distributed`` is not installed; the message names the extra to install.
    """
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            "Running a sweep on a Dask cluster needs the 'distributed' package, which is not "
            f"installed ({exc}). Install the cluster extra with {_INSTALL_CLUSTER} (the same "
            "version on the scheduler, the workers and here), or run the sweep locally with "
            "executor=None."
        ) from exc
    return distributed


class DaskExecutor:
    """Runs tasks on a Dask ``distributed`` cluster through a ``distributed.Client``.

    Each task runs once on some worker, as :func:`quietly` ``(fn, task)`` under a key named after
    ``fn`` (``run_variant_task-…`` on the dashboard); results come back in completion order.
    Before submitting, it checks that every worker sees the task's ``data_file`` (the sweep's
    prepared data in the cache folder): workers read their input from and write their results
    to the cache folder by path, so it must be shared storage.

    Args:
        client: A connected ``distributed.Client``. It is not closed here.
        worker_wait: Seconds to wait for a first worker when the cluster has none yet (an
            adaptive cluster starting up).
    """

    def __init__(self, client: Any, worker_wait: float = 60.0) -> None:
        self.client = client
        self.worker_wait = worker_wait

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        """Yield ``fn(task)`` for every task as the workers finish them.

        Pending tasks are cancelled if the caller stops early or a task fails.

        Raises:
            ConfigError: A worker cannot see a task's data file (the cache is not shared).
        """
        distributed = import_distributed()
        self.check_shared(sorted({str(t.data_file) for t in tasks if hasattr(t, "data_file")}))
        keys = [f"{fn.__name__}-{uuid.uuid4().hex}" for _ in tasks]
        futures = self.client.map(quietly, [fn] * len(tasks), list(tasks), key=keys)
        finished = False
        try:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                yield future.result()
            finished = True
        finally:
            if not finished:
                self.client.cancel(futures)

    def check_shared(self, paths: Sequence[str]) -> None:
        """Raise unless every worker sees every file of ``paths``.

        Raises:
            ConfigError: Some worker does not see some of the files, or no worker joined
                within ``worker_wait`` seconds.
        """
        if not paths:
            return
        try:
            self.client.wait_for_workers(1, timeout=self.worker_wait)
        except TimeoutError as exc:
            raise ConfigError(
                f"The Dask scheduler at {self.client.scheduler.address} has had no worker for "
                f"{self.worker_wait:g} s. Start some with `dask worker "
                f"{self.client.scheduler.address} --nthreads 1` on machines that share the "
                "cache folder."
            ) from exc
        seen = self.client.run(_missing_files, list(paths))
        blind = {worker: missing for worker, missing in seen.items() if missing}
        if blind:
            raise ConfigError(
                f"Dask workers {sorted(blind)} cannot see {sorted(set().union(*blind.values()))}. "
                "The sweep's cache_dir must be a folder every worker and this machine see at the "
                "same path (shared storage such as NFS); pass run_sweep(cache_dir=...) on it."
            )


def _missing_files(paths: list[str]) -> list[str]:
    """Return the files of ``paths`` that do not exist here (run on each Dask worker)."""
    return [path for path in paths if not os.path.isfile(path)]


def _is_dask_client(executor: Any) -> bool:
    """True for a ``distributed.Client`` (never imports ``distributed`` to find out)."""
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(executor, distributed.Client)


@contextlib.contextmanager
def _dask_client(address: str) -> Iterator[DaskExecutor]:
    """Connect to the Dask scheduler at ``address`` for the block, then close the client."""
    distributed = import_distributed()
    try:
        client = distributed.Client(address, set_as_default=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Could not connect to a Dask scheduler at {address!r}: {exc}. Start one with "
            "`dask scheduler` (it prints its tcp:// address) and workers with "
            "`dask worker <address>`, then pass that address; see docs/sweeps.md."
        ) from exc
    try:
        yield DaskExecutor(client)
    finally:
        client.close()


@contextlib.contextmanager
def open_executor(executor: Any) -> Iterator[Any]:
    """Yield the executor ``executor`` names; a pool or client made here is closed on exit.

    Args:
        executor: ``None`` or ``"local"`` (a :class:`LocalExecutor`), ``"serial"``, a
            ``distributed.Client`` or a Dask scheduler address (``"tcp://host:8786"``, any
            string with ``://``) for a :class:`DaskExecutor`, or an object with ``submit()`` or
            ``map()``.

    Raises:
        ConfigError: ``executor`` is none of those, ``distributed`` is missing, or the
            scheduler cannot be reached.
    """
    if executor is None or executor == "local":
        pool = LocalExecutor()
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif executor == "serial":
        yield SerialExecutor()
    elif isinstance(executor, str) and "://" in executor:
        with _dask_client(executor) as dask:
            yield dask
    elif _is_dask_client(executor):
        yield DaskExecutor(executor)
    elif isinstance(executor, str) or not (hasattr(executor, "submit") or hasattr(executor, "map")):
        raise ConfigError(
            f"Unknown executor {executor!r}. Pass None or 'local' (a process pool), 'serial' "
            "(this process), a Dask scheduler address such as 'tcp://10.0.0.5:8786' or a "
            "dask.distributed.Client, or an object with submit() or map(), such as a "
            "concurrent.futures.Executor."
        )
    else:
        yield executor


def run_tasks(executor: Any, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
    """Yield ``fn(task)`` for every task, in completion order where the executor allows.

    In worker processes (a process pool, a Dask cluster) each task runs through
    :func:`quietly`, so TensorFlow's native log lines stay out of the workers' output.
    """
    if not tasks:
        return
    if isinstance(executor, DaskExecutor):
        yield from executor.run(fn, tasks)
    elif isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        yield from _as_completed([executor.submit(quietly, fn, task) for task in tasks])
    elif hasattr(executor, "submit"):
        yield from _as_completed([executor.submit(fn, task) for task in tasks])
    else:
        yield from executor.map(fn, tasks)


def _as_completed(futures: list[Any]) -> Iterator[Any]:
    """Yield the futures' results: in completion order for ``concurrent.futures``, else in order.

    Pending ``concurrent.futures`` are cancelled if the caller stops early or a task fails.
    """
    if not all(isinstance(f, concurrent.futures.Future) for f in futures):
        for future in futures:
            yield future.result()
        return
    try:
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
