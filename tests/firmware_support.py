"""Shared pieces of the firmware tests: skips, the library, the object cache under build/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.emulate.tflm_library import LIBRARY_ENV, TflmLibrary, find_tflm_library
from tinybench.emulate.toolchain import APT_INSTALL, find_arm_toolchain, find_qemu
from tinybench.errors import LibraryMissingError, ToolchainMissingError

REPO = Path(__file__).resolve().parents[1]
VENDORED_LIBRARY = REPO.parent / "shared" / "vendor" / "Chirale_TensorFlowLite"
CACHE = REPO / "build" / "tflm-cache"
"""Compiled library objects, keyed by content: CI keeps build/ between steps of one run."""


def library_or_skip() -> TflmLibrary:
    """The TFLM library from TINYBENCH_TFLM_LIBRARY, the vendored copy or arduino-cli's folder."""
    for env in (None, {LIBRARY_ENV: str(VENDORED_LIBRARY)}):
        try:
            return find_tflm_library(env)
        except LibraryMissingError:
            continue
    pytest.skip(
        f"the TFLM library is missing: arduino-cli lib install Chirale_TensorFLowLite, or set "
        f"{LIBRARY_ENV} to a copy (CI: {VENDORED_LIBRARY})"
    )


def toolchain_or_skip(qemu: bool = False) -> None:
    """Skip, with the install command as the reason, when the cross tools are missing."""
    try:
        find_arm_toolchain()
        if qemu:
            find_qemu()
    except ToolchainMissingError:
        pytest.skip(f"Cortex-M toolchain or QEMU missing: {APT_INSTALL}")


def emulated_board_available() -> bool:
    """Whether the toolchain, QEMU and the TFLM library (found or vendored) are all here."""
    try:
        find_arm_toolchain()
        find_qemu()
    except ToolchainMissingError:
        return False
    return VENDORED_LIBRARY.is_dir() or _library_found()


def _library_found() -> bool:
    try:
        find_tflm_library()
    except LibraryMissingError:
        return False
    return True
