"""Running a notebook headless, with parameters, the way the tests and ``make demo`` do.

Parameters are injected papermill-style: a code cell tagged ``injected-parameters`` is placed
right after the cell tagged ``parameters``, so the notebook's defaults stay visible and the
injected values win. The notebook on disk is never modified.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from tinybench.errors import ConfigError, TinybenchError

__all__ = ["inject_parameters", "kernel_name", "run_notebook"]

PARAMETERS_TAG = "parameters"
TINYBENCH_KERNEL = "tinybench"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INJECTED_TAG = "injected-parameters"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def inject_parameters(
    nb: nbformat.NotebookNode, parameters: Mapping[str, Any]
) -> nbformat.NotebookNode:
    """Insert a cell assigning ``parameters`` after the cell tagged ``parameters``.

    A previously injected cell is replaced. Values are written with :func:`repr`, so use
    plain Python values (str, int, float, bool, None, lists, dicts of those).

    Args:
        nb: The notebook, changed in place and returned.
        parameters: Variable names and values.

    Raises:
        ConfigError: The notebook has no cell tagged ``parameters``, or a name is not a
            Python identifier.
    """
    for name in parameters:
        if not str(name).isidentifier():
            raise ConfigError(f"Parameter name {name!r} is not a Python identifier.")
    nb.cells = [cell for cell in nb.cells if INJECTED_TAG not in _tags(cell)]
    index = next((i for i, cell in enumerate(nb.cells) if PARAMETERS_TAG in _tags(cell)), None)
    if index is None:
        raise ConfigError(
            f"The notebook has no cell tagged {PARAMETERS_TAG!r}, so parameters "
            f"{sorted(parameters)} cannot be injected. Tag the cell holding the defaults "
            f"with {PARAMETERS_TAG!r}, or run it without parameters."
        )
    source = "# Parameters injected by tinybench.notebook_runner\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(index + 1, cell)
    return nb


def kernel_name() -> str:
    """Return ``tinybench`` when ``make install`` registered that kernel, else ``python3``.

    Both run the interpreter of the environment Jupyter runs in; the named kernel is what the
    committed notebooks ask for, so JupyterLab opens them in the right environment.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    return (
        TINYBENCH_KERNEL
        if TINYBENCH_KERNEL in KernelSpecManager().find_kernel_specs()
        else "python3"
    )


def run_notebook(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    cwd: str | os.PathLike[str] | None = None,
) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel (see :func:`kernel_name`) and return it with outputs.

    Args:
        path: The ``.ipynb`` file; it is read, never written.
        parameters: Values to inject after the cell tagged ``parameters``.
        timeout: Seconds allowed per cell.
        cwd: Working directory of the kernel; by default the notebook's folder, as in Jupyter.

    Raises:
        ConfigError: The file is missing, or parameters were given to a notebook without a
            ``parameters`` cell.
        TinybenchError: A cell failed; the message holds its source and traceback.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No notebook at {path}. Check the path (notebooks/00_setup.ipynb…).")
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    workdir = Path(cwd) if cwd is not None else path.resolve().parent
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    client = NotebookClient(
        nb,
        kernel_name=kernel_name(),
        timeout=timeout,
        resources={"metadata": {"path": str(workdir)}},
    )
    # The kernel's own stderr (TensorFlow's C++ start-up lines, converter chatter) goes to a
    # log file instead of the terminal; its tail is shown when the kernel dies.
    with tempfile.TemporaryFile(mode="w+", prefix="tinybench-kernel-") as kernel_log:
        try:
            client.execute(env=env, stdout=kernel_log, stderr=kernel_log)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            kernel_log.seek(0)
            tail = "".join(kernel_log.readlines()[-20:])
            message = _failure_message(path, nb, exc)
            if isinstance(exc, DeadKernelError) and tail:
                message += f"\n--- the kernel's last output ---\n{tail}"
            raise TinybenchError(message) from exc
    return nb


def _failure_message(path: Path, nb: nbformat.NotebookNode, exc: Exception) -> str:
    number = 0
    for cell in nb.cells:
        injected = INJECTED_TAG in _tags(cell)
        number += not injected
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type == "code" and errors:
            where = "The injected parameters cell" if injected else f"Cell {number}"
            traceback = "\n".join(errors[0].get("traceback", [])) or (
                f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
            )
            return (
                f"{where} of {path} failed:\n"
                f"--- source ---\n{cell.source}\n"
                f"--- traceback ---\n{_ANSI.sub('', traceback)}\n"
                "Fix the cell's inputs (parameters, data, port) and run the notebook again."
            )
    # A timeout or a dead kernel leaves no error output.
    return f"Running {path} failed: {_ANSI.sub('', str(exc))}"
