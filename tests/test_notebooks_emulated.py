"""Notebook 06 against the emulated Cortex-M4 board (``qemu://``) instead of the virtual one.

The firmware (real TFLM library, arm-none-eabi-g++, QEMU) has no IMU: the live part must show
the board's error for ``i`` and no predictions, and validation must still be bit-exact, on
windows from the virtual board's sensor. Marked ``firmware``: skipped without the toolchain.
"""

from __future__ import annotations

import re

import pytest
from firmware_support import CACHE, library_or_skip, toolchain_or_skip
from notebook_cells import code_cells, text_of

import tinybench
from tinybench.lab.notebooks import run_notebook
from tinybench.wire.protocol import Hello

pytestmark = [pytest.mark.firmware, pytest.mark.slow]

LIVE = tinybench.__file__.rsplit("/tinybench/", 1)[0] + "/notebooks/06_live.ipynb"


def test_live_notebook_runs_on_the_emulated_board(tmp_path, monkeypatch):
    from model_factories import build_imu_model

    toolchain_or_skip(qemu=True)
    library = library_or_skip()
    monkeypatch.setenv("TINYBENCH_TFLM_LIBRARY", str(library.root))  # the kernel inherits it
    export = tmp_path / "export" / "gesture"
    tinybench.export_model(
        build_imu_model(window=16), export, "gesture", labels=("idle", "wave", "punch"),
        sample_rate_hz=119.0,
    )  # fmt: skip
    params = {"PORT": f"qemu://{export}?cache={CACHE}", "EXPORT_DIR": str(export)}
    nb = run_notebook(LIVE, {**params, "SECONDS": 1, "WINDOWS": 4}, timeout=300)
    cells = code_cells(nb)
    hello = text_of(cells[1])
    assert Hello.__name__ in hello and "qemu-mps2-an386" in hello and "virtual=False" in hello
    live = text_of(cells[4])
    assert re.search(r"\b0 predictions in", live), live
    assert "IMU did not start" in live  # the board's error for `i`, shown, not hidden
    validation = text_of(cells[8])
    assert "4 inputs: bit-exact" in validation, validation
    assert re.search(r"exact match +100\.0%", validation)
