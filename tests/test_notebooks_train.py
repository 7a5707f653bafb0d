"""Notebooks 02 (train) and 03 (optimize) run top to bottom on data/gestures, CI-sized.

They run in a fresh kernel with cwd = notebooks/, as in Jupyter, with BUILD_DIR and the sweep
cache in tmp_path. The bundled data/gestures is used; without it the tests skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tinybench.notebook_runner import run_notebook

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


@pytest.mark.parametrize("name", ["02_train.ipynb", "03_optimize.ipynb"])
def test_notebook_is_committed_without_outputs_and_with_one_parameters_cell(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert not any(cell.source.lstrip().startswith(("def ", "class ")) for cell in code)


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


def test_03_sweeps_plots_and_saves_the_chosen_variant(gestures: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    parameters = {
        "DATA_DIR": str(gestures),
        "BUILD_DIR": str(build),
        "CACHE_DIR": str(tmp_path / "cache"),
        "GRID": "ci",
    }
    nb = run_notebook(NOTEBOOKS / "03_optimize.ipynb", parameters, timeout=600)
    text = _outputs(nb)
    for recipe in ("float32", "float16", "dynamic", "int8", "qat", "prune80+int8", "cluster16"):
        assert recipe in text
    figures = sum(
        1 for cell in nb.cells for output in cell.get("outputs", []) if "Figure" in str(output)
    )
    assert figures >= 4  # flash, gzip, arena, confusion
    chosen = json.loads((build / "chosen_variant.json").read_text())
    assert chosen["runnable_on_mcu"] is True
    assert chosen["recipe"] not in ("float32", "float16", "dynamic")
    assert (build / "chosen_variant.tflite").stat().st_size > 1000
