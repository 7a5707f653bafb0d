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

from tinybench.deploy.arduino_argv import ENV_VAR, find_arduino_cli
from tinybench.errors import CliNotFoundError

__all__ = ["Check", "EnvironmentReport", "check_environment"]

log = logging.getLogger(__name__)

# (what, distribution, required, why)
_PACKAGES: tuple[tuple[str, str, bool, str], ...] = (
    ("tinybench", "tinybench", True, "this workbench"),
    ("TensorFlow", "tensorflow", True, "training and conversion"),
    ("tf_keras (Keras 2)", "tf-keras", True, "the Keras that tfmot accepts"),
    ("TF Model Optimization", "tensorflow-model-optimization", True, "QAT, pruning, clustering"),
    ("LiteRT", "ai-edge-litert", True, "host-side .tflite interpreter"),
    ("TFLite Micro", "tflite-micro", True, "the microcontroller interpreter, on the host"),
    ("pyserial", "pyserial", True, "talking to boards"),
    ("numpy", "numpy", True, "arrays"),
    ("pandas", "pandas", True, "datasets and results"),
    ("matplotlib", "matplotlib", True, "plots"),
    ("ipywidgets", "ipywidgets", True, "capture and live widgets"),
    ("JupyterLab", "jupyterlab", False, "the notebook UI (make lab)"),
)


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
        """``ok``, ``MISSING`` (required) or ``absent`` (optional)."""
        if self.found:
            return "ok"
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
        """Names of the required items that are missing."""
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


def _package(name: str, dist: str, required: bool, purpose: str) -> Check:
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return Check(name, False, None, required, purpose, f"pip install {dist}")
    return Check(name, True, version, required, purpose)


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

    Nothing is imported or downloaded; versions come from installed package metadata.
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
        *(_package(*spec) for spec in _PACKAGES),
        _virtual_board(),
        _arduino_cli(),
    ]
    return EnvironmentReport(
        checks=tuple(checks), platform=f"{platform.system()} {platform.machine()}"
    )
