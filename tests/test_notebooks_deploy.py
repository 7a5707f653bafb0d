"""Notebooks 04, 05 and 06 run headless against the virtual board, on a variant built here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from notebook_cells import code_cells, text_of

from tinybench.errors import TinybenchError
from tinybench.lab.notebooks import run_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXPORT, DEPLOY, LIVE = (
    NOTEBOOKS / name for name in ("04_export.ipynb", "05_compile_upload.ipynb", "06_live.ipynb")
)
FAKE_CLI = REPO / "tests" / "fake_arduino_cli" / "arduino-cli"
LABELS = ["idle", "wave", "punch"]
WINDOW = 48


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    """A build folder holding a chosen variant, as notebook 03 would leave it.

    A tiny conv1d model trained for one epoch on a small dataset recorded from the virtual
    board, converted to int8 and saved where notebook 04 looks for it.
    """
    from tinybench.capture import record_dataset
    from tinybench.dataset.loading import prepare
    from tinybench.optimize import make_variant
    from tinybench.train.fit import fit
    from tinybench.train.models import conv1d_classifier
    from tinybench.wire.link import open_link

    root = tmp_path_factory.mktemp("deploy")
    data_dir = root / "data"
    with open_link("sim://nano33ble?seed=3&speed=0") as link:
        record_dataset(link, "tiny", LABELS, 4, 3 * WINDOW, data_dir, progress=False)
    data = prepare("tiny", WINDOW, WINDOW // 2, data_dir=data_dir)
    model = conv1d_classifier(
        data.input_shape, len(data.labels), 0.25, filters=(8, 8), dense=8, kernel_size=5
    )
    fit(model, data.train, data.val, epochs=1, progress=False)
    variant = make_variant(model, "int8", data, progress=False)
    build = root / "build"
    variant.save(build / "chosen_variant")
    return build


def test_export_notebook_says_to_run_03_first_when_there_is_no_chosen_variant(tmp_path) -> None:
    build = tmp_path / "build"
    with pytest.raises(TinybenchError, match=r"Run notebooks/03_optimize\.ipynb first"):
        run_notebook(EXPORT, {"BUILD_DIR": str(build), "VARIANT": str(build / "chosen_variant")})


@pytest.mark.slow
def test_export_compile_and_live_notebooks_run_on_the_virtual_board(
    build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = sorted(LABELS)  # datasets order their labels

    # 04: export the chosen variant and render the sketch.
    nb = run_notebook(
        EXPORT,
        {"BUILD_DIR": str(build_dir), "VARIANT": str(build_dir / "chosen_variant")},
        timeout=180,
    )
    export_dir = build_dir / "export" / "gesture"
    sketch_dir = build_dir / "sketches" / "tinybench_inference"
    settings = json.loads((export_dir / "model_settings.json").read_text())
    assert settings["labels"] == labels and settings["window"] == WINDOW
    assert (sketch_dir / "tinybench_inference.ino").is_file()
    assert (sketch_dir / "model_data.cpp").is_file()
    cells = code_cells(nb)
    summary = text_of(cells[3])
    assert "model_data.cpp" in summary and "kTensorArenaSize" in summary
    assert f"model array (flash): {settings['model_bytes']:,} B" in summary
    assert "On nano33ble (fits)" in summary
    assert sketch_dir.name in text_of(cells[4])

    # 05 without arduino-cli: says so and shows the commands it would run.
    monkeypatch.setenv("TINYBENCH_ARDUINO_CLI", str(tmp_path / "no-arduino-cli-here"))
    params = {"SKETCH_DIR": str(sketch_dir), "EXPORT_DIR": str(export_dir)}
    nb = run_notebook(DEPLOY, {**params, "BOARD": "nano33ble"})
    plan = text_of(code_cells(nb)[2])
    assert "The model fits the board" in plan
    assert "arduino-cli is not installed here" in plan
    assert "arduino-cli core install arduino:mbed_nano --format json" in plan
    assert "arduino-cli compile --fqbn arduino:mbed_nano:nano33ble --format json" in plan
    assert str(sketch_dir) in plan and "arduino-cli upload" not in plan

    # 05 with the stand-in arduino-cli: installs the core, compiles, uploads, shows the sizes.
    state = tmp_path / "cli-state.json"
    # The stand-in scans every #include, even in inactive #if branches (real arduino-cli runs
    # the preprocessor), so it also wants the rev2 IMU library the sketch does not use here.
    libraries = {"Arduino_BMI270_BMM150": "1.2.1"}
    state.write_text(json.dumps({"ports": [{"address": "/dev/ttyACM0"}], "libraries": libraries}))
    monkeypatch.setenv("TINYBENCH_ARDUINO_CLI", str(FAKE_CLI))
    monkeypatch.setenv("FAKE_ARDUINO_CLI_STATE", str(state))
    nb = run_notebook(DEPLOY, {**params, "PORT": "/dev/ttyACM0"})
    result = text_of(code_cells(nb)[2])
    assert "Compiled tinybench_inference for arduino:mbed_nano:nano33ble: flash" in result
    assert "Uploaded to /dev/ttyACM0." in result
    assert "arduino:mbed_nano" in json.loads(state.read_text())["cores"]

    # 06: live view, a headless run and validation on the virtual board.
    url = f"sim://nano33ble?seed=1&speed=4&model={export_dir}"
    nb = run_notebook(
        LIVE,
        {"PORT": url, "EXPORT_DIR": str(export_dir), "SECONDS": 2, "WINDOWS": 6},
        timeout=180,
    )
    cells = code_cells(nb)
    hello = text_of(cells[1])
    assert "virtual=True" in hello and f"labels={tuple(labels)!r}" in hello
    assert "application/vnd.jupyter.widget-view+json" in cells[3].outputs[0]["data"]
    live = text_of(cells[4])
    assert "Live inference on the virtual board" in live and ", 0 lost" in live
    # 2 s at 4x speed with a prediction every 12 samples: about 80 predictions.
    assert int(re.search(r"(\d+) predictions in", live).group(1)) >= 10
    assert "top_label" in text_of(cells[5])
    validation = text_of(cells[8])
    assert "6 inputs: bit-exact" in validation
    assert re.search(r"exact match +100\.0%", validation)
    assert re.search(r"top-1 agreement +100\.0%", validation)
    assert text_of(cells[9]).count("True") >= 12  # exact and top1_agrees on every row
    widgets = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in widgets.values() if m["model_name"] == "FloatProgressModel"]
    bars = [bar for bar in bars if bar["description"]]  # not validate()'s tqdm bar
    assert [bar["description"] for bar in bars] == labels
    assert any(bar["value"] > 0 for bar in bars)  # updates reached the front end
