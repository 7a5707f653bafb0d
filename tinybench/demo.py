"""The main job: run every notebook in order on the virtual board and summarise.

``make demo`` and ``tinybench demo`` call :func:`run_demo`. Each notebook runs headless in a
fresh kernel with its own defaults, except that every output goes under one build folder, so
the run never touches the bundled data. Executed copies, with their outputs, are kept in
``<build_dir>/executed/`` for a person to read.
"""

from __future__ import annotations

import ast
import re
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from tinybench.errors import ConfigError, TinybenchError

__all__ = ["DemoReport", "NotebookRun", "notebook_paths", "run_demo"]

_NOTEBOOK = re.compile(r"^\d\d_[\w-]+\.ipynb$")

# Per-notebook overrides, keyed by the two-digit prefix, applied only to parameters the
# notebook declares. "{build}" stands for the absolute build folder.
_OVERRIDES: dict[str, dict[str, Any]] = {
    "*": {"BUILD_DIR": "{build}"},
    "01": {"DATA_DIR": "{build}/data"},
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


def declared_parameters(path: Path) -> set[str]:
    """Return the names assigned in the notebook's cell tagged ``parameters``."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {
                target.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign | ast.AnnAssign)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)
            }
    return set()


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


def _highlights(nb: nbformat.NotebookNode, count: int = 4) -> tuple[str, ...]:
    """Return the result of the cells tagged ``summary`` (or the last result), a few lines."""
    tagged = [c for c in nb.cells if "summary" in c.get("metadata", {}).get("tags", [])]
    for cell in tagged or list(reversed(nb.cells)):
        texts = [
            output["data"]["text/plain"]
            for output in cell.get("outputs", [])
            if "data" in output and "text/plain" in output["data"]
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
) -> DemoReport:
    """Run the numbered notebooks in order, stopping at the first failure.

    Args:
        notebooks_dir: Folder holding ``00_setup.ipynb`` … .
        build_dir: Where every output of the run goes.
        quick: Use CI-sized settings.
        only: Run just the notebooks whose names start with one of these (``"02"``).
        timeout: Seconds allowed per cell.
    """
    from tinybench.notebook_runner import run_notebook

    build = Path(build_dir).resolve()
    executed_dir = build / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    selected = [
        path
        for path in notebook_paths(notebooks_dir)
        if not only or any(path.name.startswith(prefix) for prefix in only)
    ]
    runs: list[NotebookRun] = []
    failed = False
    for path in selected:
        if failed:
            runs.append(NotebookRun(path.name, 0.0, "skipped"))
            continue
        start = time.perf_counter()
        try:
            nb = run_notebook(path, demo_parameters(path, build, quick), timeout=timeout)
        except TinybenchError as exc:
            failed = True
            runs.append(NotebookRun(path.name, time.perf_counter() - start, "failed", str(exc)))
            continue
        executed = executed_dir / path.name
        nbformat.write(nb, executed)
        runs.append(
            NotebookRun(
                path.name,
                time.perf_counter() - start,
                "ok",
                highlights=_highlights(nb),
                executed=executed,
            )
        )
    return DemoReport(tuple(runs), build)
