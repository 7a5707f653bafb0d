"""Running a notebook headless, with parameters, the way the tests and ``make demo`` do.

Notebooks run through papermill: :func:`papermill.execute_notebook` injects the parameters in a
cell tagged ``injected-parameters`` right after the cell tagged ``parameters`` (so the
notebook's defaults stay visible and the injected values win); the notebook on disk is never
modified.

papermill starts the kernel with the environment of this process. tinybench's engine (a
papermill engine, registered as ``tinybench``) only adds what a headless kernel needs: quiet
TensorFlow logs, the ``Agg`` backend, and the kernel's own stderr (TensorFlow's C++ start-up
lines) sent to a log file whose tail is shown when the kernel dies.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import nbformat
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

from tinybench.errors import ConfigError, TinybenchError

__all__ = ["PARAMETERS_TAG", "declared_parameters", "kernel_name", "run_notebook"]

PARAMETERS_TAG = "parameters"
TINYBENCH_KERNEL = "tinybench"
_ENGINE = "tinybench"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# What `make lab` exports to a kernel; no MPLBACKEND, so figures display as they do in JupyterLab.
_KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


class _HeadlessEngine(NBClientEngine):
    """papermill's nbclient engine, starting the kernel with an environment and a log file."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: IO[str] | None = None,
        stderr_file: IO[str] | None = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the notebook as papermill's engine does, with ``kernel_log`` from ``kwargs``."""
        kernel_log = kwargs.pop("kernel_log")
        kwargs.pop("input_path", None)
        client = PapermillNotebookClient(
            nb_man,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        env = {**os.environ, **_KERNEL_ENV}
        return client.execute(env=env, stdout=kernel_log, stderr=kernel_log)


papermill_engines.register(_ENGINE, _HeadlessEngine)


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


def declared_parameters(path: str | os.PathLike[str]) -> set[str]:
    """Return the names assigned in the notebook's cell tagged ``parameters``.

    The names come from Python's own parser, not ``papermill.inspect_notebook``: papermill's
    reader skips every line holding more than one ``=``, such as
    ``PORT = "sim://nano33ble?seed=1"``.
    """
    nb = nbformat.read(Path(path), as_version=4)
    for cell in nb.cells:
        if PARAMETERS_TAG in cell.metadata.get("tags", []):
            return {
                target.id
                for node in ast.walk(ast.parse(cell.source))
                if isinstance(node, ast.Assign | ast.AnnAssign)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)
            }
    return set()


def run_notebook(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    cwd: str | os.PathLike[str] | None = None,
    on_cell_start: Callable[[int, int], None] | None = None,
) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel (see :func:`kernel_name`) and return it with outputs.

    Args:
        path: The ``.ipynb`` file; it is read, never written.
        parameters: Values papermill injects after the cell tagged ``parameters``. Use plain
            Python values (str, int, float, bool, None, lists and dicts of those).
        timeout: Seconds allowed per cell.
        cwd: Working directory of the kernel; by default the notebook's folder, as in Jupyter.
        on_cell_start: Called with (cell number from 1, cell count) as each cell starts,
            counting every cell of the executed copy (the injected parameters cell included).

    Raises:
        ConfigError: The file is missing, or parameters were given to a notebook without a
            ``parameters`` cell, or a parameter name is not a Python identifier.
        TinybenchError: A cell failed; the message holds its number, source and traceback.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No notebook at {path}. Check the path (notebooks/00_setup.ipynb…).")
    nb = nbformat.read(path, as_version=4)
    params_index = _check_parameters(nb, parameters or {})
    workdir = Path(cwd) if cwd is not None else path.resolve().parent
    hooks: dict[str, Any] = {}
    if on_cell_start is not None:
        count = len(nb.cells) + (1 if parameters else 0)  # papermill adds the injected cell
        hooks["on_cell_start"] = lambda cell, cell_index: on_cell_start(cell_index + 1, count)
    with tempfile.TemporaryFile(mode="w+", prefix="tinybench-kernel-") as kernel_log:
        try:
            return papermill.execute_notebook(
                str(path.resolve()),
                None,
                parameters=dict(parameters or {}),
                engine_name=_ENGINE,
                kernel_name=kernel_name(),
                language="python",
                cwd=str(workdir),
                execution_timeout=timeout,
                progress_bar=False,
                request_save_on_cell_execute=False,
                kernel_log=kernel_log,
                **hooks,
            )
        except papermill.PapermillExecutionError as exc:
            raise TinybenchError(_cell_failure(path, exc, params_index, parameters)) from exc
        except (CellTimeoutError, DeadKernelError) as exc:
            kernel_log.seek(0)
            tail = "".join(kernel_log.readlines()[-20:])
            message = f"Running {path} failed: {_ANSI.sub('', str(exc))}"
            if isinstance(exc, DeadKernelError) and tail:
                message += f"\n--- the kernel's last output ---\n{tail}"
            raise TinybenchError(message) from exc


def _check_parameters(nb: nbformat.NotebookNode, parameters: Mapping[str, Any]) -> int | None:
    """Return the index of the ``parameters`` cell; refuse parameters it cannot take."""
    index = next(
        (i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.metadata.get("tags", [])),
        None,
    )
    if not parameters:
        return index
    bad = [name for name in parameters if not str(name).isidentifier()]
    if bad:
        raise ConfigError(f"Parameter names {bad!r} are not Python identifiers.")
    if index is None:
        raise ConfigError(
            f"The notebook has no cell tagged {PARAMETERS_TAG!r}, so parameters "
            f"{sorted(parameters)} cannot be injected. Tag the cell holding the defaults "
            f"with {PARAMETERS_TAG!r}, or run it without parameters."
        )
    return index


def _cell_failure(
    path: Path, exc: Any, params_index: int | None, parameters: Mapping[str, Any] | None
) -> str:
    """Say which cell failed, numbered as in the notebook on disk, with source and traceback."""
    index = exc.cell_index
    injected = params_index + 1 if parameters and params_index is not None else None
    if index == injected:
        where = "The injected parameters cell"
    else:
        where = f"Cell {index if injected is not None and index > injected else index + 1}"
    traceback = "\n".join(exc.traceback) or f"{exc.ename}: {exc.evalue}"
    return (
        f"{where} of {path} failed:\n"
        f"--- source ---\n{exc.source}\n"
        f"--- traceback ---\n{_ANSI.sub('', traceback)}\n"
        "Fix the cell's inputs (parameters, data, port) and run the notebook again."
    )
