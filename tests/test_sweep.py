"""Sweeps: grid validation, the content cache, resuming, executors, and choosing a variant.

The sweeps run on scikit-learn's bundled digits with a tiny CNN trained for one epoch, so each
fresh job takes a second or two. A module-scoped cache holds the trained base model, so most
tests only run the variant jobs they are about.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tinybench.sweep.runner as sweep
from tinybench.boards import get_board
from tinybench.dataset import Dataset, prepare
from tinybench.errors import BudgetError, ConfigError, ProfileError, RecipeError
from tinybench.sweep import (
    GRID_PRESETS,
    LocalExecutor,
    SweepGrid,
    best_variant,
    load_predictions,
    load_variant,
    pareto_front,
    run_sweep,
    tradeoff_table,
)
from tinybench.sweep import cache as cache_module

TINY = {
    "dataset": "digits",
    "model": "digits_cnn",
    "widths": (0.5,),
    "recipes": ("float32", "int8"),
    "epochs": 1,
    "fine_tune_epochs": 1,
}


@pytest.fixture(scope="module")
def digits():
    return prepare(Dataset.from_digits(), seed=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep-cache")


@pytest.fixture(scope="module")
def first_run(digits, cache: Path) -> pd.DataFrame:
    return run_sweep(SweepGrid(**TINY), digits, executor="serial", cache_dir=cache, progress=False)


def _job_folders(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "jobs").glob("*/*") if not p.name.startswith("."))


# --- the grid -------------------------------------------------------------------------------


def test_grid_jobs_cover_widths_times_recipes() -> None:
    grid = SweepGrid(**{**TINY, "widths": (0.5, 1.0), "recipes": ("int8", "float16", "qat")})
    jobs = grid.jobs()
    assert [(j.width, j.recipe) for j in jobs] == [
        (0.5, "int8"),
        (0.5, "float16"),
        (0.5, "qat"),
        (1.0, "int8"),
        (1.0, "float16"),
        (1.0, "qat"),
    ]
    assert all(dataclasses.is_dataclass(j) and j.board == "nano33ble" for j in jobs)
    assert jobs[0].base_config() == jobs[2].base_config() != jobs[3].base_config()


def test_presets_have_at_least_eight_variants_and_overrides() -> None:
    for size in GRID_PRESETS:
        assert len(SweepGrid.preset(size).jobs()) >= 8
    grid = SweepGrid.preset("ci", dataset="digits", model="digits_cnn")
    assert (grid.dataset, grid.model) == ("digits", "digits_cnn")
    assert SweepGrid.from_dict(grid.to_dict()) == grid
    with pytest.raises(ConfigError, match="full"):
        SweepGrid.preset("huge")


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"colour": "red"}, ConfigError, "colour"),
        ({"model": "resnet"}, ConfigError, "conv1d"),
        ({"widths": (0.0,)}, ConfigError, "widths"),
        ({"recipes": ()}, ConfigError, "at least one recipe"),
        ({"recipes": ("int8", "int8")}, ConfigError, "repeats"),
        ({"epochs": 0}, ConfigError, "epochs"),
        ({"board": "nano99"}, ConfigError, "nano33ble"),
        ({"recipes": ("prune80+sparse",)}, RecipeError, "DENSIFY"),
        ({"recipes": ("int7",)}, RecipeError, "int7"),
    ],
)
def test_bad_grids_are_refused(changes: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        SweepGrid.from_dict({**TINY, **changes})


# --- pareto front and choosing ----------------------------------------------------------------


def _frame() -> pd.DataFrame:
    rows = [
        ("float32", 0.95, 40_000, 9_000, True, True, "float32"),
        ("float16", 0.96, 22_000, None, False, False, "float16"),
        ("int8", 0.94, 12_000, 3_000, True, True, "int8"),
        ("prune80+int8", 0.93, 12_000, 3_000, True, True, "int8"),
        ("qat", 0.945, 12_100, 3_000, True, True, "int8"),
        ("cluster16", 0.90, 12_000, 3_000, True, True, "int8"),
        ("huge", 0.99, 900_000, 3_000, True, False, "int8"),
    ]
    board = get_board("nano33ble")
    return pd.DataFrame(
        [
            {
                "recipe": recipe,
                "accuracy": accuracy,
                "flash_model_bytes": flash,
                "arena_bytes": arena,
                "runnable_on_mcu": runnable,
                "fits": fits,
                "quantization": quantization,
                "int8": quantization == "int8",
                "board": "nano33ble",
                "flash_total_estimate": flash + board.runtime_flash_bytes + 20_000,
                "ram_total_estimate": None if arena is None else arena + 16 + 48_000,
            }
            for recipe, accuracy, flash, arena, runnable, fits, quantization in rows
        ]
    ).assign(board="nano33ble")


def test_pareto_front_keeps_only_undominated_points() -> None:
    df = _frame()
    front = pareto_front(df, "flash_model_bytes")
    assert list(front["recipe"]) == ["int8", "qat", "float16", "huge"]
    assert list(front["flash_model_bytes"]) == sorted(front["flash_model_bytes"])
    with_missing = pd.concat([df, pd.DataFrame([{"recipe": "broken", "accuracy": np.nan}])])
    assert "broken" not in set(pareto_front(with_missing, "flash_model_bytes")["recipe"])
    with pytest.raises(ConfigError, match="no_such"):
        pareto_front(df, "no_such")


def test_best_variant_most_accurate_fitting_int8() -> None:
    df = _frame()
    df.attrs["board"] = "nano33ble"
    assert best_variant(df)["recipe"] == "qat"  # float16 and float32 are not int8; huge misfits
    assert best_variant(df, int8_only=False)["recipe"] == "float32"
    # with a floor, the smallest model that reaches it wins; ties go to the more accurate
    assert best_variant(df, min_accuracy=0.92)["recipe"] == "int8"


def test_best_variant_on_another_board_and_when_nothing_qualifies() -> None:
    df = _frame()
    assert best_variant(df, "portenta_h7")["recipe"] == "qat"
    with pytest.raises(BudgetError, match="uno") as caught:
        best_variant(df, "uno")
    assert "0 fit its flash and RAM" in str(caught.value)
    with pytest.raises(BudgetError, match=r"99\.5%"):
        best_variant(df, "nano33ble", min_accuracy=0.995)


# --- running and caching --------------------------------------------------------------------


def test_rows_hold_the_profile_figures(first_run: pd.DataFrame, digits) -> None:
    df = first_run
    assert list(df["recipe"]) == ["float32", "int8"]
    assert not df["cached"].any()
    assert (df["error"] == "").all()
    assert list(df["interpreter"]) == ["tflm", "tflm"]
    assert list(df["quantization"]) == ["float32", "int8"]
    assert list(df["int8"]) == [False, True]
    assert (df["flash_model_bytes"] > 0).all() and (df["arena_bytes"] > 0).all()
    float32, int8 = df.iloc[0], df.iloc[1]
    assert int8["flash_model_bytes"] < float32["flash_model_bytes"]
    assert df.attrs["board"] == "nano33ble"
    assert df.attrs["labels"] == list(digits.labels)
    for _, row in df.iterrows():
        variant = load_variant(row)
        assert len(variant.tflite) == row["flash_model_bytes"]
        assert variant.labels == digits.labels
        predictions = load_predictions(row)
        np.testing.assert_array_equal(predictions.y_true, digits.test.y)
        assert np.mean(predictions.y_pred == predictions.y_true) == pytest.approx(row["accuracy"])
        assert row["accuracy"] > 0.3  # ten classes: well above chance after one epoch


def test_unchanged_rerun_reads_the_cache(first_run: pd.DataFrame, digits, cache: Path) -> None:
    again = run_sweep(SweepGrid(**TINY), digits, executor="serial", cache_dir=cache)
    assert again["cached"].all()
    columns = ["recipe", "accuracy", "flash_model_bytes", "gzip_bytes", "arena_bytes", "key"]
    pd.testing.assert_frame_equal(again[columns], first_run[columns])


def test_cache_key_follows_data_and_settings(first_run: pd.DataFrame, digits, cache: Path) -> None:
    keys = set(first_run["key"])
    changed_seed = SweepGrid(**{**TINY, "recipes": ("int8",), "seed": 1}).jobs()
    assert changed_seed[0].base_config()["seed"] == 1
    shifted = dataclasses.replace(
        digits, test=dataclasses.replace(digits.test, x=digits.test.x + 0.5)
    )
    assert cache_module.data_hash(shifted) != cache_module.data_hash(digits)
    context = {"data": cache_module.data_hash(digits), "format": cache_module.CACHE_FORMAT}
    job = SweepGrid(**TINY).jobs()[1]
    same = cache_module.content_key(context, job.config())
    assert same == cache_module.content_key(dict(context), dict(job.config()))
    for change in ({"recipe": "float16"}, {"epochs": 2}, {"board": "portenta_h7"}):
        other = dataclasses.replace(job, **change)
        assert cache_module.content_key(context, other.config()) != same
    assert len(keys) == 2


def test_interrupted_sweep_resumes_with_missing_jobs_only(
    first_run: pd.DataFrame, digits, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a board of its own gives this test fresh job keys while reusing the trained base model
    recipes = ("float32", "int8", "float16", "dynamic")
    grid = SweepGrid(**{**TINY, "recipes": recipes, "board": "nano_esp32"})
    real = sweep.run_variant_task
    calls: list[str] = []

    def interrupted(task):
        calls.append(task.job.recipe)
        if task.job.recipe == "float16":
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sweep, "run_variant_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid, digits, executor="serial", cache_dir=cache, progress=False)
    assert calls == ["float32", "int8", "float16"]
    calls.clear()

    def counted(task):
        calls.append(task.job.recipe)
        return real(task)

    monkeypatch.setattr(sweep, "run_variant_task", counted)
    df = run_sweep(grid, digits, executor="serial", cache_dir=cache, progress=False)
    assert calls == ["float16", "dynamic"]
    assert list(df["cached"]) == [True, True, False, False]
    leftovers = [p for p in (cache / "jobs").glob("*/.*")]
    assert leftovers == []


def test_non_mcu_variants_are_kept_with_litert_accuracy(
    first_run: pd.DataFrame, digits, cache: Path
) -> None:
    grid = SweepGrid(**{**TINY, "recipes": ("float16", "dynamic")})
    df = run_sweep(grid, digits, executor="serial", cache_dir=cache, progress=False)
    assert list(df["runnable_on_mcu"]) == [False, False]
    assert list(df["interpreter"]) == ["litert", "litert"]
    assert df["arena_bytes"].isna().all()
    assert (df["reason"].str.len() > 0).all()
    assert not df["fits"].any()
    assert (df["accuracy"] > 0.3).all()


def test_a_refused_recipe_becomes_a_row_with_its_error(
    first_run: pd.DataFrame, digits, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinybench.optimize as optimize

    def refuse(model, recipe, data, **kwargs):
        raise RecipeError(f"recipe {recipe.name} refused: not in this stack")

    monkeypatch.setattr(optimize, "make_variant", refuse)
    grid = SweepGrid(**{**TINY, "recipes": ("cluster4",), "seed": 0})
    df = run_sweep(grid, digits, executor="serial", cache_dir=cache, progress=False)
    row = df.iloc[0]
    assert row["recipe"] == "cluster4"
    assert "refused" in row["error"]
    assert not row["runnable_on_mcu"] and pd.isna(row["accuracy"])
    with pytest.raises(ConfigError, match="no predictions"):
        load_predictions(row)
    assert Path(row["path"], "result.json").is_file()  # a refusal is cached like a result


def test_a_failure_that_is_not_a_refusal_is_not_cached(
    first_run: pd.DataFrame, digits, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinybench.optimize as optimize

    calls = []

    def crash(model, recipe, data, **kwargs):
        calls.append(recipe.name)
        raise ProfileError("TFLM timed out measuring the arena")

    monkeypatch.setattr(optimize, "make_variant", crash)
    grid = SweepGrid(**{**TINY, "recipes": ("cluster5",)})
    for _ in range(2):
        df = run_sweep(grid, digits, executor="serial", cache_dir=cache, progress=False)
        assert "timed out" in df.iloc[0]["error"]
        assert not df.iloc[0]["cached"]
    assert len(calls) == 2
    assert not Path(df.iloc[0]["path"]).exists()


def test_tradeoff_table_names_the_bytes(first_run: pd.DataFrame) -> None:
    table = tradeoff_table(first_run)
    assert list(table.index) == ["float32", "int8"]
    assert list(table.columns[:6]) == [
        "accuracy %",
        "measured in",
        "model flash B (C array)",
        "gzip B (not flash)",
        "arena B (TFLM)",
        "runs on MCU",
    ]
    assert table["accuracy %"].iloc[1] == pytest.approx(
        100 * first_run["accuracy"].iloc[1], abs=0.01
    )
    assert table["model flash B (C array)"].tolist() == first_run["flash_model_bytes"].tolist()


def test_a_failed_write_publishes_nothing(
    digits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinybench.optimize as optimize

    def broken_save(self, path):
        Path(path).with_suffix(".tflite").write_bytes(self.tflite[:10])
        raise OSError("disk full")

    monkeypatch.setattr(optimize.Variant, "save", broken_save)
    grid = SweepGrid(**{**TINY, "recipes": ("int8",)})
    with pytest.raises(OSError, match="disk full"):
        run_sweep(grid, digits, executor="serial", cache_dir=tmp_path, progress=False)
    assert _job_folders(tmp_path) == []
    assert list((tmp_path / "jobs").glob("*/.*")) == []


def test_load_variant_after_the_cache_is_cleared(first_run: pd.DataFrame, tmp_path: Path) -> None:
    row = first_run.iloc[0].copy()
    row["path"] = str(tmp_path / "gone")
    with pytest.raises(ConfigError, match="Run the sweep again"):
        load_variant(row)


# --- executors ------------------------------------------------------------------------------


class MapOnly:
    """An executor with nothing but map(), like a Ray or multiprocessing pool."""

    def __init__(self) -> None:
        self.tasks: list = []

    def map(self, fn, tasks):
        tasks = list(tasks)
        self.tasks += tasks
        return [fn(task) for task in tasks]


def test_any_submit_or_map_executor_runs_the_jobs(
    first_run: pd.DataFrame, digits, cache: Path, tmp_path: Path
) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        grid = SweepGrid(**{**TINY, "recipes": ("float32", "int8", "prune50+int8")})
        df = run_sweep(grid, digits, executor=pool, cache_dir=cache, progress=False)
    assert list(df["cached"]) == [True, True, False]
    mapper = MapOnly()
    grid = SweepGrid(**{**TINY, "recipes": ("int8", "prune_2_4")})
    df = run_sweep(grid, digits, executor=mapper, cache_dir=cache, progress=False)
    assert [t.job.recipe for t in mapper.tasks] == ["prune_2_4"]
    assert list(df["cached"]) == [True, False]

    with pytest.raises(ConfigError, match="submit"):
        run_sweep(SweepGrid(**TINY), digits, executor="dask", cache_dir=tmp_path)


def test_local_executor_runs_jobs_in_spawned_workers(first_run, digits, cache: Path) -> None:
    pool = LocalExecutor(max_workers=1)
    assert pool._mp_context.get_start_method() == "spawn"
    with pool:
        # another board changes the job keys but not the base model's, so only the variant runs
        grid = SweepGrid(**{**TINY, "recipes": ("int8",), "board": "portenta_h7"})
        df = run_sweep(grid, digits, executor=pool, cache_dir=cache, progress=False)
        workers = {p.pid for p in pool._processes.values()}
    assert len(workers) == 1 and os.getpid() not in workers
    row = df.iloc[0]
    assert not row["cached"] and row["board"] == "portenta_h7"
    int8 = first_run.iloc[1]
    assert row["flash_model_bytes"] == int8["flash_model_bytes"]
    assert row["accuracy"] == int8["accuracy"]
    assert row["latency_ms_estimate"] < int8["latency_ms_estimate"]  # 480 MHz against 64 MHz


# --- the cache key covers the package's own code -------------------------------------------

PACKAGE = Path(cache_module.__file__).resolve().parents[1]
STEP_MODULES = sorted(
    str(path.relative_to(PACKAGE))
    for step in ("optimize", "measure")
    for path in (PACKAGE / step).glob("*.py")
)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    copy = tmp_path_factory.mktemp("package") / "tinybench"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_fingerprint_is_the_installed_packages(package_copy: Path) -> None:
    assert cache_module.PACKAGE_ROOT == PACKAGE
    assert cache_module.package_fingerprint(package_copy) == cache_module.package_fingerprint()
    cache_module.cache_versions.cache_clear()
    versions = cache_module.cache_versions()
    assert versions["tinybench-code"] == cache_module.package_fingerprint()


@pytest.mark.parametrize("module", STEP_MODULES)
def test_editing_any_optimize_or_measure_module_invalidates_the_cache(
    package_copy: Path, digits, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, module: str
) -> None:
    assert len(STEP_MODULES) >= 6, STEP_MODULES
    grid = SweepGrid(**TINY)

    def keys() -> list[str]:
        cache_module.cache_versions.cache_clear()
        return [task.key for task in sweep.sweep_tasks(grid, digits, tmp_path)]

    monkeypatch.setattr(cache_module, "PACKAGE_ROOT", package_copy)
    before = keys()
    path = package_copy / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# an edit\n")
        after = keys()
    finally:
        path.write_bytes(original)
        cache_module.cache_versions.cache_clear()
    assert set(after).isdisjoint(before)
    assert keys() == before  # undone: the old results count again


def test_adding_or_moving_a_module_changes_the_fingerprint(package_copy: Path) -> None:
    before = cache_module.package_fingerprint(package_copy)
    added = package_copy / "optimize" / "new_technique.py"
    added.write_text("RATE = 1\n")
    try:
        assert cache_module.package_fingerprint(package_copy) != before
        moved = package_copy / "measure" / "new_technique.py"
        added.rename(moved)
        assert cache_module.package_fingerprint(package_copy) != before
        moved.unlink()
    finally:
        added.unlink(missing_ok=True)
    assert cache_module.package_fingerprint(package_copy) == before
