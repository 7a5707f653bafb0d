"""The main job behind `make demo`: notebooks in order, outputs under one build folder."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import nbformat
import pytest

from tinybench.errors import ConfigError
from tinybench.lab.demo import demo_parameters, notebook_paths, run_demo
from tinybench.lab.notebooks import declared_parameters

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
    sweep = demo_parameters(NOTEBOOKS / "03_optimize.ipynb", build, quick=False)
    assert sweep["CACHE_DIR"] == str((build / "sweep-cache").resolve())
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


def test_a_progress_bar_in_the_summary_cell_stays_out_of_the_highlights(tmp_path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    bar = (
        "from tqdm.auto import tqdm\n"
        "for _ in tqdm(range(20), desc='validating'):\n"
        "    pass\n"
        "'accuracy 0.95 on 20 windows'"
    )
    write_notebook(folder / "00_bar.ipynb", bar, parameters="BUILD_DIR = 'x'")
    report = run_demo(folder, tmp_path / "build", timeout=120)
    executed = nbformat.read(tmp_path / "build" / "executed" / "00_bar.ipynb", as_version=4)
    outputs = executed.cells[-1].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert report.runs[0].highlights == ("'accuracy 0.95 on 20 windows'",)


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

    from tinybench.lab.notebooks import kernel_name

    installed = "tinybench" in KernelSpecManager().find_kernel_specs()
    assert kernel_name() == ("tinybench" if installed else "python3")


def test_a_dead_kernel_is_reported_with_its_last_output(tmp_path: Path) -> None:
    from tinybench.errors import TinybenchError
    from tinybench.lab.notebooks import run_notebook

    path = tmp_path / "crash.ipynb"
    write_notebook(
        path, "import os, sys\nos.write(2, b'native library says goodbye\\n')\nos._exit(3)"
    )
    with pytest.raises(TinybenchError, match="native library says goodbye"):
        run_notebook(path, timeout=60)


def test_progress_names_each_notebook_and_reports_a_long_cell(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_quick.ipynb", "1 + 1", parameters="BUILD_DIR = 'x'")
    write_notebook(folder / "01_slow.ipynb", "x = 1", "import time\ntime.sleep(3)", "x")
    events: list[tuple[float, object]] = []
    report = run_demo(
        folder,
        tmp_path / "build",
        timeout=120,
        progress=lambda event: events.append((time.monotonic(), event)),
        progress_every=0.5,
    )
    assert report.ok, report.summary()
    lines = [event.line() for _, event in events]
    assert lines[0] == "[1/2] 00_quick.ipynb started"
    assert "[2/2] 01_slow.ipynb started" in lines
    assert lines[-1].startswith("[2/2] 01_slow.ipynb ok after ")
    slow = [(t, e) for t, e in events if e.notebook == "01_slow.ipynb"]
    # the sleeping cell (cell 2 of 3) is reported several times while it runs
    assert sum(e.event == "running" and (e.cell, e.cells) == (2, 3) for _, e in slow) >= 3
    assert any(re.fullmatch(r"01_slow: \d+ s, cell 2/3", line) for line in lines), lines
    # never more than about one interval without a line, even inside the 3 s cell
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(slow)]
    assert max(gaps) < 1.5, gaps
    seconds = [e.seconds for _, e in slow if e.event == "running"]
    assert seconds == sorted(seconds)


def test_progress_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="progress_every=0"):
        run_demo(NOTEBOOKS, tmp_path / "build", progress_every=0)


def test_the_demo_command_prints_each_notebook_as_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinybench.cli import main

    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_ok.ipynb", "'ran'", parameters="BUILD_DIR = 'x'")
    write_notebook(folder / "01_bad.ipynb", "raise ValueError('broken on purpose')")
    write_notebook(folder / "02_after.ipynb", "'never'")
    status = main(["demo", "--notebooks", str(folder), "--build-dir", str(tmp_path / "build")])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0] == "[1/3] 00_ok.ipynb started"
    assert out[1].startswith("[1/3] 00_ok.ipynb ok after ")
    assert out[2] == "[2/3] 01_bad.ipynb started"
    assert out[3].startswith("[2/3] 01_bad.ipynb failed after ")
    assert out[4] == "[3/3] 02_after.ipynb skipped: an earlier notebook failed"
    assert any("did NOT complete" in line for line in out)
