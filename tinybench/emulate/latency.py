"""Milliseconds from instruction counts: a cycles-per-instruction factor with a stated basis.

QEMU counts instructions, not cycles (``-icount shift=0``; DWT CYCCNT reads 0). A real
Cortex-M4 spends more than one cycle on many of them: loads, multiplies with accumulate,
branches, and flash wait states at high clocks. One factor, calibrated on published
measurements of the same models with the same CMSIS-NN kernels, turns the count into time:

    ms = instructions * CPI / clock_hz * 1000

The anchors are the MLPerf Tiny v0.5 reference submission on a Cortex-M4 at 120 MHz
(STM32L4R5, NUCLEO-L4R5ZI): KWS DS-CNN about 182 ms and VWW MobileNet about 600 ms per
inference. The counts are this project's emulated runs of the same ``kws_ref_model`` and
``vww_96_int8``. :data:`CPI` is the geometric mean of the two anchors' factors, so each
anchor is reproduced within :data:`ANCHOR_ERROR`. docs/firmware.md has the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ANCHORS", "ANCHOR_ERROR", "CPI", "Anchor", "estimate_ms"]


@dataclass(frozen=True)
class Anchor:
    """A published latency of a reference model beside the instructions counted here.

    Attributes:
        model: Reference model file stem.
        published_ms: Published milliseconds per inference.
        clock_hz: Clock of the published measurement.
        instructions: Instructions per ``Invoke()`` counted on the emulated Cortex-M4.
        source: Where the published figure comes from.
    """

    model: str
    published_ms: float
    clock_hz: int
    instructions: int
    source: str

    @property
    def cpi(self) -> float:
        """Cycles per instruction that reproduce the published figure exactly."""
        return self.published_ms / 1000 * self.clock_hz / self.instructions


_MLPERF = "MLPerf Tiny v0.5 reference, Cortex-M4 @ 120 MHz (NUCLEO-L4R5ZI)"
ANCHORS = (
    Anchor("kws_ref_model", 182.0, 120_000_000, 7_940_600, _MLPERF),
    Anchor("vww_96_int8", 600.0, 120_000_000, 24_953_480, _MLPERF),
)
"""The calibration points."""

CPI = math.exp(sum(math.log(anchor.cpi) for anchor in ANCHORS) / len(ANCHORS))
"""Cortex-M4 cycles per emulated instruction, calibrated on :data:`ANCHORS` (about 2.82)."""

ANCHOR_ERROR = max(abs(CPI / anchor.cpi - 1) for anchor in ANCHORS)
"""Largest relative error of the calibrated estimate on the anchors (about 2.4%)."""


def estimate_ms(instructions: int, clock_hz: float, cpi: float = CPI) -> float:
    """Estimate milliseconds per inference on a Cortex-M4 at ``clock_hz``.

    Args:
        instructions: Instructions per ``Invoke()`` from the emulated board.
        clock_hz: The board's CPU clock (64 MHz on a Nano 33 BLE).
        cpi: Cycles per instruction; the calibrated :data:`CPI` by default.

    Returns:
        The estimate. It carries the calibration's error on the anchors (:data:`ANCHOR_ERROR`)
        and more on boards whose memory system differs from the anchors' (flash wait states,
        caches).
    """
    return instructions * cpi / clock_hz * 1000.0
