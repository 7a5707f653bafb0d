"""Notebooks 00 and 01 run headless against the virtual board, and the notebook runner reports
failures with the failing cell's source and traceback."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from notebook_cells import code_cells, text_of

from tinybench.errors import ConfigError, TinybenchError
from tinybench.lab.notebooks import run_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SETUP = NOTEBOOKS / "00_setup.ipynb"
CAPTURE = NOTEBOOKS / "01_capture.ipynb"
LABELS = ["idle", "wave", "punch", "flex", "circle"]


def test_capture_notebook_has_a_parameters_cell_with_the_documented_names() -> None:
    nb = nbformat.read(CAPTURE, as_version=4)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    source = tagged[0].source
    for name in ("PORT", "DATA_DIR", "SESSIONS", "SAMPLES", "DATASET"):
        assert f"{name} = " in source
    assert 'PORT = "sim://nano33ble?seed=1"' in source  # real time: the panel's plot moves


def test_setup_notebook_checks_the_environment_and_falls_back_to_the_virtual_board() -> None:
    nb = run_notebook(SETUP, timeout=120)
    cells = code_cells(nb)
    report, port, hello = (text_of(cell) for cell in cells)
    assert "tinybench environment" in report and "pyserial" in report and "tensorflow" in report
    assert "virtual board (sim://)" in report
    if "sim://" in port:  # no board on this machine: the virtual board stood in
        assert "virtual=True" in hello and "board='nano33ble'" in hello
    assert "Hello(" in hello


def test_capture_notebook_records_a_dataset_into_data_dir(tmp_path: Path) -> None:
    parameters = {
        "PORT": "sim://nano33ble?seed=3&speed=0",
        "DATA_DIR": str(tmp_path),
        "SESSIONS": 2,
        "SAMPLES": 60,
    }
    nb = run_notebook(CAPTURE, parameters, timeout=180)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and str(tmp_path) in injected[0].source
    outputs = "\n".join(text_of(cell) for cell in code_cells(nb))
    assert "application/vnd.jupyter.widget-view+json" in json.dumps(
        [cell.outputs for cell in code_cells(nb)]
    )  # the CapturePanel was displayed
    assert "my_gestures" in outputs

    folder = tmp_path / "my_gestures"
    for label in LABELS:
        names = sorted(p.name for p in (folder / label).iterdir())
        assert names == [f"{label}-000{i}.{ext}" for i in (1, 2) for ext in ("csv", "json")]
        meta = json.loads((folder / label / f"{label}-0001.json").read_text())
        assert meta["samples"] == 60 and meta["virtual"] is True and meta["label"] == label
        assert len((folder / label / f"{label}-0001.csv").read_text().splitlines()) == 61


def test_run_notebook_reports_the_failing_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("RATE = 119", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("half = RATE // 2"),
        nbformat.v4.new_code_cell("assert half == 10, f'half is {half}'"),
    ]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(TinybenchError) as info:
        run_notebook(path, {"RATE": 50}, timeout=60)
    message = str(info.value)
    assert "Cell 3" in message and str(path) in message
    assert "assert half == 10" in message and "half is 25" in message  # injected value used
    assert nbformat.read(path, as_version=4).cells[0].source == "RATE = 119"  # file untouched


def test_parameters_need_a_tagged_cell_and_identifier_names(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "untagged.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ConfigError, match="no cell tagged 'parameters'"):
        run_notebook(path, {"x": 2})
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)
    with pytest.raises(ConfigError, match="not Python identifiers"):
        run_notebook(path, {"not valid": 2})


def test_papermill_injects_after_the_parameters_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A title"),
        nbformat.v4.new_code_cell("x = 1\nname = 'a'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x * 10, name"),
    ]
    path = tmp_path / "params.ipynb"
    nbformat.write(nb, path)
    done = run_notebook(path, {"x": 3, "name": "b, c"}, timeout=60)
    tags = [cell.metadata.get("tags", []) for cell in done.cells]
    assert tags[1:3] == [["parameters"], ["injected-parameters"]]
    assert done.cells[-1].outputs[0]["data"]["text/plain"] == "(30, 'b, c')"
    assert "papermill" in done.metadata


def test_run_notebook_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No notebook at"):
        run_notebook(tmp_path / "nope.ipynb")
