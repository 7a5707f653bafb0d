"""Checking the environment: which Python, libraries and tools tinybench can use here.

:func:`check_environment` looks at installed package metadata, at ``PATH`` and, for
arduino-cli, at ``TINYBENCH_ARDUINO_CLI`` first (as :class:`~tinybench.deploy.arduino.ArduinoCli`
does);
it imports no heavy library (TensorFlow is not imported), so it answers in well under a second.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tinybench.deploy.arduino_argv import ENV_VAR, find_arduino_cli
from tinybench.errors import CliNotFoundError

__all__ = ["Check", "EnvironmentReport", "check_environment"]

log = logging.getLogger(__name__)

_OPTIONAL_EXTRAS = ("lab", "cluster")
"""Extras whose packages the report lists as optional (``dev`` is for tinybench's own tests)."""

_PURPOSES = {
    "numpy": "arrays",
    "packaging": "checking these version ranges",
    "pandas": "datasets and results",
    "matplotlib": "plots",
    "scikit-learn": "the bundled digits dataset",
    "pyserial": "talking to boards",
    "tqdm": "progress bars",
    "ipywidgets": "capture and live widgets",
    "ipykernel": "the notebook kernel",
    "nbclient": "running notebooks",
    "nbformat": "reading and writing notebooks",
    "papermill": "parameterized notebook runs (make demo, tests)",
    "plotly": "the interactive trade-off explorer",
    "anywidget": "the browser side of plotly's FigureWidget",
    "tensorflow": "training and conversion",
    "tf-keras": "Keras 2, the Keras that tfmot accepts",
    "tensorflow-model-optimization": "QAT, pruning, clustering",
    "ai-edge-litert": "host-side .tflite interpreter",
    "tflite-micro": "the microcontroller interpreter, on the host",
    "jupyterlab": "the notebook UI (make lab)",
    "distributed": "sweeps on a Dask cluster",
}
"""What tinybench uses each dependency for.

The dependencies themselves, and their version ranges, come from tinybench's installed
metadata (``pyproject.toml``); a test keeps this table in step with them.
"""


@dataclass(frozen=True)
class Check:
    """One line of the environment report.

    Attributes:
        name: What was checked.
        found: Whether it is there.
        version: Its version, when found.
        required: Whether tinybench needs it (optional items only add features).
        purpose: What tinybench uses it for.
        hint: What to do when it is missing.
    """

    name: str
    found: bool
    version: str | None
    required: bool
    purpose: str
    hint: str = ""

    @property
    def status(self) -> str:
        """``ok``, ``WRONG``, ``MISSING`` or ``absent``.

        ``WRONG``: installed, but in a version tinybench does not accept. ``MISSING``: a
        required item is not there. ``absent``: an optional one is not.
        """
        if self.found:
            return "ok"
        if self.version is not None:
            return "WRONG"
        return "MISSING" if self.required else "absent"


@dataclass(frozen=True)
class EnvironmentReport:
    """What :func:`check_environment` found; its ``repr`` is a readable table.

    Attributes:
        checks: One :class:`Check` per item.
        platform: Operating system and machine.
    """

    checks: tuple[Check, ...]
    platform: str

    @property
    def ok(self) -> bool:
        """True when everything required is present."""
        return all(check.found or not check.required for check in self.checks)

    @property
    def missing(self) -> list[str]:
        """Names of the required items that are missing or of a version tinybench rejects."""
        return [check.name for check in self.checks if check.required and not check.found]

    def __getitem__(self, name: str) -> Check:
        """Return the check called ``name``.

        Raises:
            KeyError: No check has that name; the message lists the names.
        """
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"{name!r}; checks are: {', '.join(c.name for c in self.checks)}")

    def __repr__(self) -> str:
        width = max(len(check.name) for check in self.checks)
        vwidth = max(len(check.version or "-") for check in self.checks)
        lines = [f"tinybench environment on {self.platform}"]
        for check in self.checks:
            line = (
                f"  {check.status:<7} {check.name:<{width}}  {check.version or '-':<{vwidth}}  "
                f"{check.purpose}"
            )
            if not check.found and check.hint:
                line += f" - {check.hint}"
            lines.append(line)
        if self.ok:
            lines.append("Everything required is installed.")
        else:
            lines.append(
                f"Missing: {', '.join(self.missing)}. Install tinybench with its dependencies "
                "(`make` or `pip install -e .` in the tinybench folder), then restart the kernel."
            )
        return "\n".join(lines)


def _declared_requirements() -> list[tuple[Requirement, bool]]:
    """Tinybench's declared requirements with whether each is required.

    The base dependencies are required; those of the :data:`_OPTIONAL_EXTRAS` are optional.
    Nothing is listed when tinybench itself is not installed (its own check says so).
    """
    try:
        declared = metadata.requires("tinybench") or []
    except metadata.PackageNotFoundError:
        return []
    chosen = []
    for text in declared:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or marker.evaluate({"extra": ""}):
            chosen.append((requirement, True))
        elif any(marker.evaluate({"extra": extra}) for extra in _OPTIONAL_EXTRAS):
            chosen.append((requirement, False))
    return chosen


def _package(requirement: Requirement, required: bool) -> Check:
    """Check that ``requirement`` is installed in a version it accepts."""
    name = canonicalize_name(requirement.name)
    purpose = _PURPOSES.get(name, "a dependency of tinybench")
    wanted = f"{name}{requirement.specifier}"
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return Check(name, False, None, required, purpose, f"pip install '{wanted}'")
    if not requirement.specifier.contains(version, prereleases=True):
        hint = f"tinybench needs {wanted}: pip install '{wanted}'"
        return Check(name, False, version, required, purpose, hint)
    return Check(name, True, version, required, purpose)


def _tinybench() -> Check:
    purpose = "this workbench"
    try:
        return Check("tinybench", True, metadata.version("tinybench"), True, purpose)
    except metadata.PackageNotFoundError:
        hint = "run `make install`, or `pip install -e .` in the tinybench folder"
        return Check("tinybench", False, None, True, purpose, hint)


def _arduino_cli() -> Check:
    purpose = "compiling and uploading sketches (optional: the virtual board needs none)"
    hint = "install it from arduino.github.io/arduino-cli to compile for real boards"
    try:
        path = find_arduino_cli()
    except CliNotFoundError as exc:
        log.info("%s", exc)
        if os.environ.get(ENV_VAR):
            hint = f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not an executable: fix or unset it"
        return Check("arduino-cli", False, None, False, purpose, hint)
    try:
        done = subprocess.run(
            [path, "version", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        version = json.loads(done.stdout).get("VersionString") or "unknown"
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError, AttributeError) as exc:
        log.info("arduino-cli at %s did not report its version: %s", path, exc)
        version = "unknown"
    return Check("arduino-cli", True, version, False, purpose)


def _virtual_board() -> Check:
    found = importlib.util.find_spec("tinybench.sim.urlhandler.protocol_sim") is not None
    return Check(
        "virtual board (sim://)",
        found,
        "built in" if found else None,
        True,
        "recording and testing without hardware",
        "reinstall tinybench",
    )


def check_environment() -> EnvironmentReport:
    """Report the Python version, the libraries tinybench needs and the optional tools.

    The libraries are tinybench's own declared dependencies, each checked against the version
    range ``pyproject.toml`` gives it. Nothing is imported or downloaded; versions come from
    installed package metadata.
    """
    python_ok = (3, 11) <= sys.version_info[:2] < (3, 13)
    checks = [
        Check(
            "Python",
            python_ok,
            platform.python_version(),
            True,
            "3.11 or 3.12",
            "" if python_ok else "use Python 3.11 or 3.12 (TensorFlow 2.21 wheels)",
        ),
        _tinybench(),
        *(_package(*declared) for declared in _declared_requirements()),
        _virtual_board(),
        _arduino_cli(),
    ]
    return EnvironmentReport(
        checks=tuple(checks), platform=f"{platform.system()} {platform.machine()}"
    )
