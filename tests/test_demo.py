"""The main job behind `make demo`: notebooks in order, outputs under one build folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tinybench.demo import declared_parameters, demo_parameters, notebook_paths, run_demo
from tinybench.errors import ConfigError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def write_notebook(path: Path, *sources: str, parameters: str | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)


def test_notebooks_run_in_numbered_order() -> None:
    names = [path.name for path in notebook_paths(NOTEBOOKS)]
    assert names == sorted(names)
    assert names[0] == "00_setup.ipynb"
    assert {"01_capture.ipynb", "04_export.ipynb", "06_live.ipynb"} <= set(names)


def test_no_notebooks_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No numbered notebooks"):
        notebook_paths(tmp_path)


def test_demo_sends_every_output_to_the_build_folder(tmp_path: Path) -> None:
    build = tmp_path / "build"
    for path in notebook_paths(NOTEBOOKS):
        params = demo_parameters(path, build, quick=False)
        assert set(params) <= declared_parameters(path)
        for value in params.values():
            if isinstance(value, str) and ("/" in value):
                assert str(build.resolve()) in value, (path.name, value)
    capture = demo_parameters(NOTEBOOKS / "01_capture.ipynb", build, quick=False)
    assert capture["DATA_DIR"] == str((build / "data").resolve())
    live = demo_parameters(NOTEBOOKS / "06_live.ipynb", build, quick=False)
    assert live["PORT"].startswith("sim://") and live["PORT"].endswith("/export/gesture")


def test_a_failing_notebook_stops_the_demo_and_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_ok.ipynb", "'first notebook ran'", parameters="BUILD_DIR = 'x'")
    write_notebook(folder / "01_bad.ipynb", "raise ValueError('broken on purpose')")
    write_notebook(folder / "02_after.ipynb", "print('never')")
    report = run_demo(folder, tmp_path / "build", timeout=120)
    assert [run.status for run in report.runs] == ["ok", "failed", "skipped"]
    assert not report.ok
    assert report.runs[0].highlights == ("'first notebook ran'",)
    assert "broken on purpose" in report.runs[1].error
    summary = report.summary()
    assert "did NOT complete" in summary and "01_bad.ipynb" in summary
    assert (tmp_path / "build" / "executed" / "00_ok.ipynb").is_file()


def test_setup_notebook_runs_in_the_demo(tmp_path: Path) -> None:
    report = run_demo(NOTEBOOKS, tmp_path / "build", only=["00"], timeout=300)
    assert report.ok, report.summary()
    assert [run.name for run in report.runs] == ["00_setup.ipynb"]
    assert "all notebooks ran" in report.summary()
    assert "virtual=True" in " ".join(report.runs[0].highlights)


def test_quick_demo_uses_ci_sized_settings(tmp_path: Path) -> None:
    build = tmp_path / "build"
    assert demo_parameters(NOTEBOOKS / "03_optimize.ipynb", build, quick=True)["GRID"] == "ci"
    assert "GRID" not in demo_parameters(NOTEBOOKS / "03_optimize.ipynb", build, quick=False)
    train = demo_parameters(NOTEBOOKS / "02_train.ipynb", build, quick=True)
    assert train["EPOCHS"] < 10


def test_committed_notebooks_ask_for_the_tinybench_kernel_and_tag_one_summary() -> None:
    for path in notebook_paths(NOTEBOOKS):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "tinybench", path.name
        tagged = [c for c in nb.cells if "summary" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name


def test_runner_uses_the_tinybench_kernel_when_it_is_installed() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    from tinybench.notebook_runner import kernel_name

    installed = "tinybench" in KernelSpecManager().find_kernel_specs()
    assert kernel_name() == ("tinybench" if installed else "python3")


def test_a_dead_kernel_is_reported_with_its_last_output(tmp_path: Path) -> None:
    from tinybench.errors import TinybenchError
    from tinybench.notebook_runner import run_notebook

    path = tmp_path / "crash.ipynb"
    write_notebook(
        path, "import os, sys\nos.write(2, b'native library says goodbye\\n')\nos._exit(3)"
    )
    with pytest.raises(TinybenchError, match="native library says goodbye"):
        run_notebook(path, timeout=60)
