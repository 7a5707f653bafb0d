"""Compiling and running C++ on the host with g++, for the tests of generated and sketch code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")


def gxx(
    *args: str | Path, std: str = "c++17", cwd: Path | None = None, timeout: float = 300
) -> None:
    """Run ``g++ -std=<std> -Wall -Werror <args>``; fail the test with g++'s errors if it fails."""
    argv = [GXX, f"-std={std}", "-Wall", "-Werror", *map(str, args)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(argv)}\n{result.stderr}"


def run_program(program: Path, *args: str | Path, stdin: str | None = None) -> str:
    """Run a compiled program and return what it printed; fail the test if it exits non-zero."""
    result = subprocess.run(
        [str(program), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
