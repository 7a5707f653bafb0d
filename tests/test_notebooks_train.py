"""Notebooks 02 (train) and 03 (optimize) run top to bottom on data/gestures, CI-sized.

They run in a fresh kernel with cwd = notebooks/, as in Jupyter, with BUILD_DIR and the sweep
cache in tmp_path. The bundled data/gestures is used; without it the tests skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from firmware_support import VENDORED_LIBRARY, emulated_board_available
from notebook_cells import native_noise, text_of, undisplayed_plots

from tinybench.emulate.tflm_library import LIBRARY_ENV
from tinybench.lab.notebooks import run_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DATA = REPO / "data"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gestures() -> Path:
    if not (DATA / "gestures").is_dir():
        pytest.skip("data/gestures is not there: make dataset")
    return DATA


def _outputs(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def test_02_trains_and_saves_the_model(gestures: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    nb = run_notebook(
        NOTEBOOKS / "02_train.ipynb",
        {"DATA_DIR": str(gestures), "BUILD_DIR": str(build), "EPOCHS": 2, "WIDTH": 0.5},
        timeout=300,
    )
    assert (build / "trained_model.keras").stat().st_size > 0
    sidecar = json.loads((build / "trained_float32.json").read_text())
    assert sidecar["labels"] == ["circle", "flex", "idle", "punch", "wave"]
    assert sidecar["normalization"]["fields"] == ["ax", "ay", "az", "gx", "gy", "gz"]
    assert (build / "trained_float32.tflite").stat().st_size > 1000
    assert "val_accuracy" in _outputs(nb)
    assert undisplayed_plots(nb) == []
    assert native_noise(nb) == []


@pytest.fixture(scope="module")
def optimized(gestures: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """Notebook 03 run once, CI-sized: ``(executed notebook, its parameters)``."""
    tmp_path = tmp_path_factory.mktemp("optimize")
    parameters = {
        "DATA_DIR": str(gestures),
        "BUILD_DIR": str(tmp_path / "build"),
        "CACHE_DIR": str(tmp_path / "cache"),
        "GRID": "ci",
    }
    return run_notebook(NOTEBOOKS / "03_optimize.ipynb", parameters, timeout=600), parameters


def test_03_sweeps_plots_and_saves_the_chosen_variant(optimized: tuple) -> None:
    nb, parameters = optimized
    build = Path(parameters["BUILD_DIR"])
    text = _outputs(nb)
    for recipe in ("float32", "float16", "dynamic", "int8", "qat", "prune80+int8", "cluster16"):
        assert recipe in text
    pictures = sum(
        1
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )
    assert pictures >= 4  # flash, gzip, arena, confusion
    assert undisplayed_plots(nb) == []
    assert native_noise(nb) == []  # sweep workers included
    chosen = json.loads((build / "chosen_variant.json").read_text())
    assert chosen["runnable_on_mcu"] is True
    assert chosen["recipe"] not in ("float32", "float16", "dynamic")
    assert (build / "chosen_variant.tflite").stat().st_size > 1000


def test_03b_opens_the_variant_that_03_chose(
    optimized: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, parameters = optimized
    emulated = emulated_board_available()
    if emulated and VENDORED_LIBRARY.is_dir():  # the kernel inherits it: the plan is real in CI
        monkeypatch.setenv(LIBRARY_ENV, str(VENDORED_LIBRARY))
    parameters = {
        **parameters,
        "VARIANT": f"{parameters['BUILD_DIR']}/chosen_variant",
        "TFLM_CACHE": str(REPO / "build" / "tflm-cache"),  # shared with the firmware tests
    }
    nb = run_notebook(NOTEBOOKS / "03b_inside_int8.ipynb", parameters, timeout=600)
    text = "\n".join(text_of(cell) for cell in nb.cells)
    assert "equal TFLM's bit for bit" in text
    assert "float model" in text  # the float weights come from the sweep's float32 variant
    assert undisplayed_plots(nb) == []
    pictures = sum(
        1
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )
    plan_cell = next(cell for cell in nb.cells if "show_memory_plan(" in cell.source)
    plan_drawn = any("image/png" in out.get("data", {}) for out in plan_cell.outputs)
    assert plan_drawn if emulated else "needs the emulated board" in text_of(plan_cell)
    # histograms, per-layer error, weight matrices, and the memory plan where QEMU runs
    assert pictures == 3 + plan_drawn
    unanswered = [cell for cell in nb.cells if "Not answered yet" in text_of(cell)]
    assert len(unanswered) == 3  # the three exercises run, unanswered, with a hint
