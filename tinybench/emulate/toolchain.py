"""Find the Cortex-M cross-compiler and QEMU that the emulated board needs.

Both come from Debian packages; nothing here downloads anything. When a tool is missing the
error names the exact ``apt-get`` command that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tinybench.errors import ToolchainMissingError

__all__ = ["APT_INSTALL", "ArmToolchain", "find_arm_toolchain", "find_qemu", "missing_tool"]

APT_INSTALL = (
    "sudo apt-get install -y --no-install-recommends gcc-arm-none-eabi "
    "libstdc++-arm-none-eabi-picolibc picolibc-arm-none-eabi qemu-system-arm"
)
"""The command that installs everything the emulated Cortex-M4 board needs (Debian/Ubuntu)."""

_PICOLIBC_SPECS = Path("/usr/lib/picolibc/arm-none-eabi/picolibcpp.specs")


@dataclass(frozen=True)
class ArmToolchain:
    """The arm-none-eabi tools a firmware build runs.

    Attributes:
        gxx: ``arm-none-eabi-g++``.
        gcc: ``arm-none-eabi-gcc``.
        size: ``arm-none-eabi-size``.
        version: First line of ``arm-none-eabi-g++ --version``; part of every cache key.
    """

    gxx: Path
    gcc: Path
    size: Path
    version: str


def missing_tool(what: str, emulated: str, install: str, verb: str = "is") -> ToolchainMissingError:
    """The error for a missing build or emulation tool, whose message is the install command.

    Args:
        what: The tool or package, e.g. ``"qemu-system-arm"``.
        emulated: What cannot be built or run without it, e.g. ``"the emulated Arduino Uno"``.
        install: The command that installs every tool ``emulated`` needs.
        verb: ``"are"`` when ``what`` names several.
    """
    return ToolchainMissingError(
        f"{what} {verb} not installed, so tinybench cannot build or run {emulated}. Install "
        f"the tools with: {install}"
    )


def _missing(what: str, verb: str = "is") -> ToolchainMissingError:
    return missing_tool(what, "firmware for the emulated Cortex-M4 board", APT_INSTALL, verb)


@lru_cache(maxsize=1)
def find_arm_toolchain() -> ArmToolchain:
    """Return the arm-none-eabi compiler, C compiler and size tool, checking picolibc too.

    Raises:
        ToolchainMissingError: A tool or picolibc's C++ specs file is missing; the message
            holds the install command.
    """
    tools = {name: shutil.which(f"arm-none-eabi-{name}") for name in ("g++", "gcc", "size")}
    absent = [f"arm-none-eabi-{name}" for name, path in tools.items() if path is None]
    if absent:
        raise _missing(" and ".join(absent), "are" if len(absent) > 1 else "is")
    if not _PICOLIBC_SPECS.is_file():
        raise _missing(f"picolibc for C++ ({_PICOLIBC_SPECS})")
    result = subprocess.run(
        [tools["g++"], "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    version = (result.stdout.splitlines() or ["unknown"])[0]
    return ArmToolchain(Path(tools["g++"]), Path(tools["gcc"]), Path(tools["size"]), version)


@lru_cache(maxsize=1)
def find_qemu() -> Path:
    """Return ``qemu-system-arm``.

    Raises:
        ToolchainMissingError: QEMU is not installed; the message holds the install command.
    """
    path = shutil.which("qemu-system-arm")
    if path is None:
        raise _missing("qemu-system-arm")
    return Path(path)
