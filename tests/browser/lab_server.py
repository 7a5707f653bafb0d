"""Start JupyterLab the way ``make lab`` does, but isolated: a free port, a random token, and a
temporary config, data, runtime, settings and IPython folder, so nothing from ``~`` leaks in.

The notebook folder is a temporary copy of ``notebooks/`` with what the notebooks read beside
it (``../data``, ``../build``, ``../.tinybench-cache``), so a run never touches the checkout.

The kernel gets the environment ``make lab`` gives it: the Makefile's exported variables and
no ``MPLBACKEND`` (``tests/conftest.py`` sets ``MPLBACKEND=Agg`` for the headless tests, which
would switch off the inline backend's display hooks and turn every plot into text).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
# What the Makefile exports to `make lab` (MPLBACKEND is not, and must not be, among them).
MAKE_LAB_ENV = {
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
}
_ISOLATED_DIRS = {
    "JUPYTER_CONFIG_DIR": "config",
    "JUPYTER_DATA_DIR": "data",
    "JUPYTER_RUNTIME_DIR": "runtime",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
}
# The lab's own settings: no "fetch news?" toast over the notebook, no update check.
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(home: Path) -> dict[str, str]:
    """The server's (and so every kernel's) environment: ``make lab``'s, isolated in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    env.pop("MPLBACKEND", None)
    env.update(MAKE_LAB_ENV)
    for name, folder in _ISOLATED_DIRS.items():
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / folder)
    return env


def prepare_workdir(root: Path, notebooks: Iterable[Path], data: Iterable[Path] = ()) -> Path:
    """Copy the notebooks to ``root/notebooks`` and ``data`` folders to ``root/data``.

    Returns:
        The notebook folder, the lab's root.
    """
    folder = root / "notebooks"
    folder.mkdir(parents=True)
    for path in notebooks:
        shutil.copy2(path, folder / path.name)
    for path in data:
        shutil.copytree(path, root / "data" / path.name)
    (root / "build").mkdir(exist_ok=True)
    return folder


class LabServer:
    """A JupyterLab server for one test run.

    Args:
        notebook_dir: The folder the lab serves (its root).
        home: A private folder for config, runtime, settings and logs.
        python: The interpreter whose ``jupyterlab`` runs; default the repo's ``.venv``.

    Attributes:
        url: Base URL, ``http://127.0.0.1:<port>``.
        token: The random token every request carries.
        log_path: The server's stdout and stderr.
    """

    def __init__(self, notebook_dir: Path, home: Path, python: Path | None = None) -> None:
        self.notebook_dir = Path(notebook_dir)
        self.home = Path(home)
        self.python = python or (VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "lab.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    # -- lifetime -------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> LabServer:
        """Start the server and wait until ``/api/status`` answers."""
        env = lab_environment(self.home)
        settings = self.home / "settings"
        for name, values in _SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        argv = [
            str(self.python),
            "-m",
            "jupyterlab",
            f"--ServerApp.root_dir={self.notebook_dir}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-root")
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            argv,
            cwd=self.notebook_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels too: stop() can end the whole group
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer in {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Shut the kernels and the server down cleanly; kill them if they do not go."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.shutdown_kernels()
                self.api("POST", "/api/shutdown")
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST -----------------------------------------------------------------------------

    def api(self, method: str, path: str, timeout: float = 10.0) -> Any:
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in ("POST", "PUT", "PATCH") else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> int:
        """Shut down every running kernel (and its session); return how many there were."""
        kernels = self.api("GET", "/api/kernels")
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")
        return len(kernels)

    def lab_url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` in a fresh workspace (no old tabs or kernels)."""
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log."""
        if self._log is not None:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
