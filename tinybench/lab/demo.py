"""The main job: run every notebook in order on the virtual board and summarise.

``make demo`` and ``tinybench demo`` call :func:`run_demo`. Each notebook runs headless in a
fresh kernel with its own defaults, except that every output goes under one build folder, so
the run never touches the bundled data. Executed copies, with their outputs, are kept in
``<build_dir>/executed/`` for a person to read.

A run reports where it is through an optional callback, never by printing: a
:class:`DemoProgress` when each notebook starts, every ``progress_every`` seconds while it runs
(with the cell it is on), and when it is done. ``tinybench demo`` prints each one as a line.
"""

from __future__ import annotations

import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from tinybench.errors import ConfigError, TinybenchError
from tinybench.lab.notebooks import declared_parameters, run_notebook

__all__ = [
    "DemoProgress",
    "DemoReport",
    "NotebookRun",
    "demo_parameters",
    "notebook_paths",
    "run_demo",
]

_NOTEBOOK = re.compile(r"^\d\d[a-z]?_[\w-]+\.ipynb$")  # 03b runs after 03

# Per-notebook overrides, keyed by the two-digit prefix, applied only to parameters the
# notebook declares. "{build}" stands for the absolute build folder.
_OVERRIDES: dict[str, dict[str, Any]] = {
    "*": {"BUILD_DIR": "{build}"},
    "01": {"DATA_DIR": "{build}/data"},
    "03": {"CACHE_DIR": "{build}/sweep-cache", "VARIANT": "{build}/chosen_variant"},  # 03, 03b
    "04": {"VARIANT": "{build}/chosen_variant"},
    "05": {
        "SKETCH_DIR": "{build}/sketches/tinybench_inference",
        "EXPORT_DIR": "{build}/export/gesture",
    },
    "06": {
        "PORT": "sim://nano33ble?seed=1&model={build}/export/gesture",
        "EXPORT_DIR": "{build}/export/gesture",
    },
}
# CI-sized settings for --quick, keyed the same way.
_QUICK: dict[str, dict[str, Any]] = {
    "02": {"EPOCHS": 3, "WIDTH": 0.5},
    "03": {"GRID": "ci"},
    "06": {"SECONDS": 3, "WINDOWS": 5},
}


@dataclass(frozen=True)
class NotebookRun:
    """How one notebook ran.

    Attributes:
        name: File name, for example ``02_train.ipynb``.
        seconds: Wall time of the run.
        status: ``ok``, ``failed`` or ``skipped`` (an earlier notebook failed).
        error: The failure message, with the failing cell's source and traceback.
        highlights: The first lines of the result of the cells tagged ``summary``.
        executed: Path of the executed copy with its outputs, when it ran.
    """

    name: str
    seconds: float
    status: str
    error: str | None = None
    highlights: tuple[str, ...] = ()
    executed: Path | None = None


@dataclass(frozen=True)
class DemoProgress:
    """Where a demo run is: a notebook starting, still running, or done.

    Attributes:
        notebook: File name, for example ``02_train.ipynb``.
        event: ``"start"``, ``"running"`` (every ``progress_every`` seconds) or ``"done"``.
        seconds: Time since the notebook started.
        position: The notebook's place in the run, from 1.
        total: Notebooks in the run.
        cell: The cell running, from 1, in the executed copy (which holds the injected
            parameters cell); 0 while the kernel starts.
        cells: Cells of the executed copy; 0 until the first cell starts.
        run: The outcome, on ``"done"``.
    """

    notebook: str
    event: str
    seconds: float
    position: int
    total: int
    cell: int = 0
    cells: int = 0
    run: NotebookRun | None = None

    def line(self) -> str:
        """Return the event as one line, for example ``02_train: 20 s, cell 7/12``."""
        place = f"[{self.position}/{self.total}] {self.notebook}"
        if self.event == "start":
            return f"{place} started"
        if self.run is not None and self.run.status == "skipped":
            return f"{place} skipped: an earlier notebook failed"
        if self.run is not None:
            return f"{place} {self.run.status} after {self.seconds:.0f} s"
        where = f"cell {self.cell}/{self.cells}" if self.cell else "starting the kernel"
        return f"{Path(self.notebook).stem}: {self.seconds:.0f} s, {where}"


class _Heartbeat:
    """Reports one notebook's start, a ``running`` event every ``every`` seconds, and its end.

    The ``running`` events come from a background thread, so a long cell is reported too.
    """

    def __init__(
        self,
        report: Callable[[DemoProgress], None] | None,
        notebook: str,
        place: tuple[int, int],
        every: float,
    ) -> None:
        self._report = report
        self._notebook = notebook
        self._place = place
        self._every = every
        self._cell = (0, 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="demo-progress", daemon=True)
        self._started = time.perf_counter()

    def cell_started(self, cell: int, cells: int) -> None:
        """Note the cell the notebook is on (the notebook runner's ``on_cell_start``)."""
        with self._lock:
            self._cell = (cell, cells)

    def __enter__(self) -> _Heartbeat:
        self._started = time.perf_counter()
        if self._report is not None:
            self._report(self._event("start"))
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def done(self, run: NotebookRun) -> None:
        """Report the notebook's outcome."""
        if self._report is not None:
            self._report(self._event("done", run))

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            self._report(self._event("running"))  # type: ignore[misc]

    def _event(self, kind: str, run: NotebookRun | None = None) -> DemoProgress:
        with self._lock:
            cell, cells = self._cell
        seconds = run.seconds if run is not None else time.perf_counter() - self._started
        position, total = self._place
        return DemoProgress(self._notebook, kind, seconds, position, total, cell, cells, run)


@dataclass(frozen=True)
class DemoReport:
    """The outcome of a demo run."""

    runs: tuple[NotebookRun, ...]
    build_dir: Path

    @property
    def ok(self) -> bool:
        """True when every notebook ran."""
        return bool(self.runs) and all(run.status == "ok" for run in self.runs)

    def summary(self) -> str:
        """Return a short, readable summary: one line per notebook and its highlights."""
        lines = [f"tinybench demo on the virtual board (outputs in {self.build_dir})", ""]
        for run in self.runs:
            lines.append(f"  {run.status:<7} {run.seconds:7.1f} s  {run.name}")
            lines.extend(f"           {text}" for text in run.highlights)
            if run.error:
                lines.extend(f"           {text}" for text in run.error.splitlines()[-12:])
        total = sum(run.seconds for run in self.runs)
        verdict = "all notebooks ran" if self.ok else "the demo did NOT complete"
        lines += ["", f"{verdict}; {total:.0f} s in all."]
        if self.runs:
            lines.append(f"Executed notebooks with their outputs: {self.build_dir / 'executed'}")
        return "\n".join(lines)


def notebook_paths(notebooks_dir: str | Path = "notebooks") -> list[Path]:
    """Return the numbered notebooks (``NN_name.ipynb``) in order.

    Raises:
        ConfigError: The folder does not exist or holds no numbered notebook.
    """
    folder = Path(notebooks_dir)
    paths = sorted(p for p in folder.glob("*.ipynb") if _NOTEBOOK.match(p.name))
    if not paths:
        raise ConfigError(
            f"No numbered notebooks (00_setup.ipynb …) in {folder.resolve()}. Run the demo "
            "from the repository root, or pass --notebooks."
        )
    return paths


def demo_parameters(path: Path, build_dir: Path, quick: bool) -> dict[str, Any]:
    """Return the parameters the demo injects into one notebook."""
    declared = declared_parameters(path)
    prefix = path.name[:2]
    wanted: dict[str, Any] = {**_OVERRIDES["*"], **_OVERRIDES.get(prefix, {})}
    if quick:
        wanted.update(_QUICK.get(prefix, {}))
    build = str(build_dir.resolve())
    return {
        name: value.replace("{build}", build) if isinstance(value, str) else value
        for name, value in wanted.items()
        if name in declared
    }


_WIDGET = "application/vnd.jupyter.widget-view+json"


def _highlights(nb: nbformat.NotebookNode, count: int = 4) -> tuple[str, ...]:
    """Return the result of the cells tagged ``summary`` (or the last result), a few lines.

    Widgets (a progress bar, the live view) are left out: their ``text/plain`` is only the
    fallback a console shows in their place.
    """
    tagged = [c for c in nb.cells if "summary" in c.get("metadata", {}).get("tags", [])]
    for cell in tagged or list(reversed(nb.cells)):
        texts = [
            output["data"]["text/plain"]
            for output in cell.get("outputs", [])
            if "text/plain" in output.get("data", {}) and _WIDGET not in output["data"]
        ]
        lines = [
            piece
            for text in texts
            for line in text.splitlines()
            if line.strip()
            for piece in textwrap.wrap(line.rstrip(), 100, subsequent_indent="  ")
        ]
        if lines:
            return tuple(lines[:count])
    return ()


def run_demo(
    notebooks_dir: str | Path = "notebooks",
    build_dir: str | Path = "build/demo",
    *,
    quick: bool = False,
    only: Iterable[str] | None = None,
    timeout: float = 1800,
    progress: Callable[[DemoProgress], None] | None = None,
    progress_every: float = 10.0,
) -> DemoReport:
    """Run the numbered notebooks in order, stopping at the first failure.

    Args:
        notebooks_dir: Folder holding ``00_setup.ipynb`` … .
        build_dir: Where every output of the run goes.
        quick: Use CI-sized settings.
        only: Run just the notebooks whose names start with one of these (``"02"``).
        timeout: Seconds allowed per cell.
        progress: Called with a :class:`DemoProgress` when each notebook starts, every
            ``progress_every`` seconds while it runs (from a background thread), and when it
            is done or skipped.
        progress_every: Seconds between two ``running`` reports.

    Raises:
        ConfigError: No numbered notebooks, or ``progress_every`` is not positive.
    """
    if not progress_every > 0:
        raise ConfigError(
            f"progress_every={progress_every!r} must be a positive number of seconds, such as 10."
        )
    build = Path(build_dir).resolve()
    (build / "executed").mkdir(parents=True, exist_ok=True)
    selected = [
        path
        for path in notebook_paths(notebooks_dir)
        if not only or any(path.name.startswith(prefix) for prefix in only)
    ]
    runs: list[NotebookRun] = []
    for position, path in enumerate(selected, start=1):
        heartbeat = _Heartbeat(progress, path.name, (position, len(selected)), progress_every)
        if runs and runs[-1].status != "ok":
            runs.append(NotebookRun(path.name, 0.0, "skipped"))
        else:
            with heartbeat:
                runs.append(_run_one(path, build, quick, timeout, heartbeat))
        heartbeat.done(runs[-1])
    return DemoReport(tuple(runs), build)


def _run_one(
    path: Path, build: Path, quick: bool, timeout: float, heartbeat: _Heartbeat
) -> NotebookRun:
    """Run one notebook with the demo's parameters; keep an executed copy when it ran."""
    start = time.perf_counter()
    try:
        nb = run_notebook(
            path,
            demo_parameters(path, build, quick),
            timeout=timeout,
            on_cell_start=heartbeat.cell_started,
        )
    except TinybenchError as exc:
        return NotebookRun(path.name, time.perf_counter() - start, "failed", str(exc))
    executed = build / "executed" / path.name
    nbformat.write(nb, executed)
    return NotebookRun(
        path.name,
        time.perf_counter() - start,
        "ok",
        highlights=_highlights(nb),
        executed=executed,
    )
