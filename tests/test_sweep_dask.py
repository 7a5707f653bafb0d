"""Sweeps on a Dask cluster: same jobs, same results as a local run, one shared cache folder.

The cluster is a ``distributed.LocalCluster`` of two worker processes on loopback, and the grid
is the tiny digits grid of ``tests/test_sweep.py`` (one width, ``float32`` and ``int8``, one
epoch), so the whole module takes well under a minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from test_sweep import TINY  # the tiny digits grid: one width, float32 and int8, one epoch

from tinybench.dataset import Dataset, prepare
from tinybench.errors import ConfigError
from tinybench.sweep import LocalExecutor, SweepGrid, run_sweep
from tinybench.sweep.executors import DaskExecutor, open_executor, run_tasks

distributed = pytest.importorskip("distributed")

# Columns that depend on where or when a job ran, not on what it computed.
RUN_COLUMNS = ["seconds", "cached", "path"]
# What TensorFlow's native code writes to fd 2 when nothing quietens it.
TF_NOISE = [
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cuda drivers",
    "cuInit",
    "use_unbounded_threadpool",
    "fully_quantize",
]


@pytest.fixture(scope="module")
def digits():
    return prepare(Dataset.from_digits(), seed=0)


def _task_names(client) -> list[str]:
    return [str(record["key"]) for record in client.get_task_stream()]


def _job_folders(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "jobs").glob("*/*") if not p.name.startswith("."))


def test_a_dask_sweep_equals_the_local_one_and_reuses_the_shared_cache(
    digits, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    grid = SweepGrid(**TINY)
    with LocalExecutor(max_workers=1) as pool:
        local = run_sweep(grid, digits, executor=pool, cache_dir=tmp_path / "local", progress=False)

    shared = tmp_path / "shared"
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        client.get_task_stream()  # start recording every task the scheduler runs
        first = run_sweep(
            grid, digits, executor=cluster.scheduler_address, cache_dir=shared, progress=False
        )
        ran = _task_names(client)
        workers = {record["worker"] for record in client.get_task_stream()}
        worker_addresses = set(client.scheduler_info()["workers"])
        folders = {p: p.stat().st_mtime_ns for p in _job_folders(shared)}

        again = run_sweep(grid, digits, executor=client, cache_dir=shared, progress=False)
        ran_again = _task_names(client)[len(ran) :]
        assert client.status == "running"  # a Client that was passed in is left open

    # every job ran on the cluster's workers: one base model, then one task per variant
    assert sum(name.startswith("train_base_task") for name in ran) == 1
    assert sum(name.startswith("run_variant_task") for name in ran) == len(grid.jobs())
    assert workers and workers <= worker_addresses
    assert not first["cached"].any()
    # the same columns and values as the local run, apart from timing and the cache folder
    assert list(first.columns) == list(local.columns)
    pd.testing.assert_frame_equal(first.drop(columns=RUN_COLUMNS), local.drop(columns=RUN_COLUMNS))
    assert all(Path(p).parents[1] == (shared / "jobs").resolve() for p in first["path"])

    # the second run reads the shared folder the workers wrote: nothing is submitted again
    assert ran_again == []
    assert again["cached"].all()
    assert {p: p.stat().st_mtime_ns for p in _job_folders(shared)} == folders
    pd.testing.assert_frame_equal(
        again.drop(columns=["cached"]), first.drop(columns=["cached"]), check_exact=True
    )

    # the workers imported TensorFlow and converted to int8 without its native log lines
    err = capfd.readouterr().err
    assert not [line for line in err.splitlines() if any(n in line for n in TF_NOISE)], err


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch, digits, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with (
        pytest.raises(ConfigError, match=r"pip install \"tinybench\[cluster\]\""),
        open_executor("tcp://127.0.0.1:8786"),
    ):
        pass
    with pytest.raises(ConfigError, match=r"tinybench\[cluster\]"):
        run_sweep(SweepGrid(**TINY), digits, executor="tcp://127.0.0.1:8786", cache_dir=tmp_path)
    # local sweeps never import it
    with open_executor("serial") as serial:
        assert list(run_tasks(serial, abs, [-1, 2])) == [1, 2]


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(ConfigError, match="dask scheduler"),
        open_executor("tcp://127.0.0.1:9"),
    ):
        pass


def test_workers_that_cannot_see_the_cache_are_refused(tmp_path: Path) -> None:
    class Task:
        data_file = str(tmp_path / "only-on-the-laptop.npz")

    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as client:
        executor = DaskExecutor(client)
        with pytest.raises(ConfigError, match="shared storage") as caught:
            list(run_tasks(executor, str, [Task()]))
        assert "only-on-the-laptop.npz" in str(caught.value)


def test_a_cluster_without_workers_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    data.write_bytes(b"")

    class Task:
        data_file = str(data)

    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        with pytest.raises(ConfigError, match=r"no worker for 0\.5 s") as caught:
            list(run_tasks(DaskExecutor(client, worker_wait=0.5), str, [Task()]))
        assert cluster.scheduler_address in str(caught.value)
