"""The notebooks as a student sees them: JupyterLab in a real (headless) browser.

JupyterLab starts from ``.venv`` with the environment ``make lab`` gives its kernels, in a temp
folder holding a copy of ``notebooks/`` and the bundled data (see ``tests/browser/``). Debian's
``/usr/bin/chromium`` is driven by PyPI's ``playwright`` (never ``playwright install``). For each
notebook 00→06 (03b included), in order, the test opens ``/lab/tree/NB.ipynb?reset``, runs
Run ▸ Run All Cells and checks what the page shows:

- every code cell ran, with no error output, no traceback and no "Error displaying widget";
- every plot cell (tagged ``plot``, or calling a ``plot_…`` function) shows an ``<img>``;
- no ``console.error`` and no uncaught error in the page.

A test run alone, or in another order, first runs the earlier notebooks headless (papermill),
so it finds the data, model and export they leave behind.

01 then checks the CapturePanel: a clear message when Start meets the link a later cell
closed, a new label highlighted with the reason, a plot that moves while recording in real
time and a session file written by Start then Stop. 06 checks the LiveView: at least 5 updates
in 5 s, at least two different top labels as the virtual board is told to change gesture, and
a stats line that does not wrap.

Screenshots of every notebook go to ``build/browser/``. By default the notebooks get the same
CI-sized parameters as ``tinybench demo --quick`` (3 epochs, the ``ci`` sweep grid);
``TINYBENCH_BROWSER_FULL=1`` runs them with their committed defaults. ``make browser-test``
runs this file alone; ``docs/browser-testing.md`` has the measured times.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from browser.lab_page import CHROMIUM, VIEWPORT, LabPage, launch_chromium
from browser.lab_server import REPO, LabServer, prepare_workdir
from firmware_support import VENDORED_LIBRARY, emulated_board_available

from tinybench.emulate.tflm_library import LIBRARY_ENV
from tinybench.lab.notebooks import run_notebook as run_headless

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

NOTEBOOKS = REPO / "notebooks"
SHOTS = REPO / "build" / "browser"
FULL = os.environ.get("TINYBENCH_BROWSER_FULL") == "1"
# Same sizes as `tinybench demo --quick`; a notebook only gets those it declares.
QUICK: dict[str, dict[str, Any]] = {
    "02": {"EPOCHS": 3, "WIDTH": 0.5},
    "03": {"GRID": "ci"},
    # 03b reads 03's sweep back from its cache; the firmware objects are the repo's shared cache
    "03b": {"GRID": "ci", "TFLM_CACHE": str(REPO / "build" / "tflm-cache")},
    "06": {"SECONDS": 3, "WINDOWS": 5},
}
RUN_TIMEOUT = 900.0
PLOT_CALL = re.compile(r"\bplot_\w+\(")

if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: apt-get install -y --no-install-recommends chromium",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed: pip install -e '.[dev]' (or pip install playwright)",
)


# -- fixtures -------------------------------------------------------------------------------


def _inject(path: Path, values: dict[str, Any]) -> None:
    """Add a cell after the ``parameters`` cell, as papermill does, with ``values``."""
    nb = json.loads(path.read_text())
    for index, cell in enumerate(nb["cells"]):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            declared = "".join(cell["source"])
            lines = [f"{k} = {v!r}\n" for k, v in values.items() if f"{k} = " in declared]
            injected = {
                "cell_type": "code",
                "execution_count": None,
                "id": "injected-parameters",
                "metadata": {"tags": ["injected-parameters"]},
                "outputs": [],
                "source": ["# Parameters injected by the browser test\n", *lines],
            }
            nb["cells"].insert(index + 1, injected)
            path.write_text(json.dumps(nb, indent=1))
            return


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab")
    folder = prepare_workdir(
        root, sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb")), [REPO / "data" / "gestures"]
    )
    if not FULL:
        for prefix, values in QUICK.items():
            for path in folder.glob(f"{prefix}_*.ipynb"):
                _inject(path, values)
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def lab(workdir: Path) -> Any:
    if VENDORED_LIBRARY.is_dir():  # as on a machine with the Arduino library installed
        os.environ.setdefault(LIBRARY_ENV, str(VENDORED_LIBRARY))
    server = LabServer(workdir, workdir.parent / "home")
    (workdir.parent / "home").mkdir(exist_ok=True)
    server.start()
    yield server
    server.stop()
    shutil.copy(server.log_path, SHOTS / "lab.log")


@pytest.fixture(scope="module")
def tab(lab: LabServer) -> Any:
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(30_000)
        yield LabPage(page)
        browser.close()


# -- running one notebook -------------------------------------------------------------------


def _cells(workdir: Path, name: str) -> list[dict[str, Any]]:
    return json.loads((workdir / name).read_text())["cells"]


def _is_plot(cell: dict[str, Any]) -> bool:
    """A cell that draws: tagged ``plot``, or calling a ``plot_…`` function."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell["cell_type"] == "code" and (
        "plot" in tags or bool(PLOT_CALL.search("".join(cell["source"])))
    )


_RAN: dict[Path, set[str]] = {}
"""The notebooks of each work folder that have run, in the browser or headless."""


def _run_earlier_notebooks(workdir: Path, name: str) -> None:
    """Run headless (papermill) the notebooks before ``name`` that have not run yet.

    In file order every notebook already ran in the browser; a test run alone or in another
    order gets the data, model and export the earlier notebooks leave behind.
    """
    ran = _RAN.setdefault(workdir, set())
    for path in sorted(workdir.glob("[0-9][0-9]*_*.ipynb")):
        if path.name >= name:
            break
        if path.name not in ran:
            run_headless(path, timeout=RUN_TIMEOUT, cwd=workdir)
            ran.add(path.name)


def run_notebook(lab: LabServer, tab: LabPage, workdir: Path, name: str) -> list:
    """Open ``name`` on a fresh workspace, Run All, check every cell; return the cell views."""
    _run_earlier_notebooks(workdir, name)
    lab.shutdown_kernels()  # the previous notebook's kernel: one TensorFlow at a time
    tab.console_errors.clear()
    tab.open(lab.lab_url(name))
    seconds = tab.run_all(RUN_TIMEOUT)
    notebook = _cells(workdir, name)
    cells = tab.cells(["".join(cell["source"]) for cell in notebook])
    tab.screenshot(SHOTS / f"{Path(name).stem}.png")
    print(f"{name}: Run All took {seconds:.1f} s")
    problems = [p for cell in cells for p in cell.problems()]
    problems += [
        f"cell {c.index} did not run (prompt {c.prompt!r})"
        for c in cells
        if c.code and not c.executed
    ]
    for cell, stored in zip(cells, notebook, strict=True):
        if _is_plot(stored) and not cell.images:
            shown = [o["mime"] or o["text"][:80] for o in cell.outputs]
            problems.append(f"plot cell {cell.index} shows no <img>: {shown}")
    assert not problems, f"{name}:\n" + "\n".join(problems)
    _RAN.setdefault(workdir, set()).add(name)
    assert not tab.console_errors, f"{name}: console errors:\n" + "\n".join(tab.console_errors)
    return cells


def _index(cells: list, needle: str, start: int = 0) -> int:
    for cell in cells[start:]:
        if cell.code and needle in cell.source:
            return cell.index
    raise AssertionError(f"no code cell contains {needle!r}")


def _wait_text(locator: Any, pattern: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = locator.text_content() or ""
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} did not appear within {timeout} s; text: {text[:500]!r}")


# -- the notebooks, in order ----------------------------------------------------------------


def test_00_setup(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    cells = run_notebook(lab, tab, workdir, "00_setup.ipynb")
    assert "virtual" in cells[_index(cells, "request_hello")].text


def test_01_capture(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    cells = run_notebook(lab, tab, workdir, "01_capture.ipynb")
    panel_index = _index(cells, "CapturePanel(")
    assert cells[panel_index].widgets, "the CapturePanel did not render"

    # The notebook's last cell closed the link: Start says so and what to do.
    output = tab.cell(panel_index).locator(".jp-OutputArea")
    output.get_by_role("button", name="Start").click()
    _wait_text(output, r"board connection was closed; re-run the cell that opens it")

    # Open the board again and make a new recorder and panel, as the message says.
    for needle in ("open_link(PORT)", "Recorder(", "CapturePanel("):
        tab.run_cell(_index(cells, needle))
    output = tab.cell(panel_index).locator(".jp-OutputArea")
    output.get_by_role("button", name="Start").wait_for()
    _wait_text(output, r"plot of the signal appears here")  # a placeholder, not a broken image
    assert output.locator("img").count() == 0 or not output.locator("img").first.is_visible()

    # An invalid new label is highlighted with the reason.
    output.get_by_placeholder("new label").fill("../escape")
    _wait_text(output, r"path separator|'\.\.'")
    assert output.get_by_role("button", name="Add").is_disabled()
    output.get_by_placeholder("new label").fill("")

    # Record "wave" for up to 10 s: the plot moves while recording, then Stop saves it.
    folder = workdir.parent / "data" / "my_gestures" / "wave"
    before = set(folder.glob("*.csv")) if folder.exists() else set()
    output.locator("select").first.select_option("wave")
    readout = output.locator(".widget-readout").first
    readout.click()
    readout.press("Control+a")
    readout.press_sequentially("10")
    readout.press("Enter")
    output.get_by_role("button", name="Start").click()
    plot = output.locator("img").first
    plot.wait_for(state="visible", timeout=10_000)
    tab.page.wait_for_timeout(800)
    first = plot.screenshot()
    tab.page.wait_for_timeout(1000)
    second = plot.screenshot(path=str(SHOTS / "01_capture_panel_plot.png"))
    assert first != second, "the CapturePanel's plot did not change while recording"
    tab.cell(panel_index).screenshot(path=str(SHOTS / "01_capture_panel.png"))
    output.get_by_role("button", name="Stop").click()
    status = _wait_text(output, r"Saved \d+ samples of 'wave'")
    after = set(folder.glob("*.csv"))
    new = after - before
    assert len(new) == 1, f"Start/Stop should write one session, found {sorted(new)}"
    (path,) = new
    assert path.with_suffix(".json").exists() and path.name in status
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["label"] == "wave" and meta["ended"] == "stopped" and meta["samples"] > 100
    assert not tab.console_errors, "\n".join(tab.console_errors)


def test_02_train(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    run_notebook(lab, tab, workdir, "02_train.ipynb")


def test_03_optimize(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    run_notebook(lab, tab, workdir, "03_optimize.ipynb")


def test_03b_inside_int8(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    cells = run_notebook(lab, tab, workdir, "03b_inside_int8.ipynb")
    plan = next(cell for cell in cells if "show_memory_plan(" in cell.source)
    if emulated_board_available():  # TFLM's own memory plan, from the emulated firmware
        assert plan.images, [o["mime"] or o["text"][:80] for o in plan.outputs]


def test_04_export(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    run_notebook(lab, tab, workdir, "04_export.ipynb")


def test_05_compile_upload(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    run_notebook(lab, tab, workdir, "05_compile_upload.ipynb")


# Counts the LiveView's updates (its stats line carries the prediction's seq) and top labels.
_WATCH_LIVE = """
(root) => {
  window.__tb = {seqs: [], tops: []};
  new MutationObserver(() => {
    const el = root.querySelector('.tb-live-stats');
    const top = root.querySelector('.tb-live-top');
    if (!el) return;
    const seq = el.getAttribute('data-seq');
    if (window.__tb.seqs[window.__tb.seqs.length - 1] !== seq) {
      window.__tb.seqs.push(seq);
      window.__tb.tops.push(top ? top.textContent : '');
    }
  }).observe(root, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def test_06_live(lab: LabServer, tab: LabPage, workdir: Path) -> None:
    cells = run_notebook(lab, tab, workdir, "06_live.ipynb")
    view_index = _index(cells, "LiveView(")
    assert cells[view_index].widgets, "the LiveView did not render"
    assert "seq" in cells[view_index].text, "the LiveView showed no prediction during run_for"

    # The last cell closed the link; open it again, make a session and a view, and watch.
    for needle in ("open_link(PORT)", "LiveSession(", "LiveView("):
        tab.run_cell(_index(cells, needle))
    output = tab.cell(view_index).locator(".jp-OutputArea")
    output.get_by_role("button", name="idle", exact=True).wait_for()  # the gesture selector
    root = output.element_handle()
    root.evaluate(_WATCH_LIVE)
    output.get_by_role("button", name="Watch").click()
    tab.page.wait_for_timeout(5000)
    seqs = tab.page.evaluate("() => window.__tb.seqs.length")
    assert seqs >= 5, f"the LiveView updated {seqs} times in 5 s"

    tops = set()
    for gesture in ("punch", "wave", "circle"):
        output.get_by_role("button", name=gesture, exact=True).click()
        tab.page.wait_for_timeout(3000)
        tops |= set(tab.page.evaluate("() => window.__tb.tops"))
        if len({t for t in tops if t}) >= 2:
            break
    labels = {t for t in tops if t}
    assert len(labels) >= 2, f"the top label never changed with the gesture: {labels}"

    # Measured in one synchronous step from the output area: the view replaces its stats line
    # ~30 times a second, so a handle to the line itself can be detached before it is read.
    box = output.evaluate(
        "(o) => { const e = o.querySelector('.tb-live-stats');"
        " return {w: e.scrollWidth, cw: e.parentElement.clientWidth, h: e.clientHeight,"
        " lh: parseFloat(getComputedStyle(e).lineHeight) || 20}; }"
    )
    assert box["w"] <= box["cw"] and box["h"] < 1.6 * box["lh"], f"the stats line wraps: {box}"
    tab.cell(view_index).screenshot(path=str(SHOTS / "06_live_view.png"))
    output.get_by_role("button", name="Stop").click()
    _wait_text(output, r"stopped")
    assert not tab.console_errors, "\n".join(tab.console_errors)
    tab.page.goto("about:blank")
    lab.shutdown_kernels()
