"""An ADXL335-style analog accelerometer as the emulated Uno's ADC sees it.

The Uno capture sketch reads an ADXL335 on A0-A2 against the board's 5 V reference. These
functions turn accelerations (for example the virtual board's gesture synth) into the
millivolts simavr feeds the ADC, into the 10-bit codes the sketch reads, and back to g, so a
test can bound what the sketch reports by the ADC's quantization.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinybench.errors import EmulatorError

__all__ = [
    "ADXL335_MV_PER_G",
    "ADXL335_RANGE_G",
    "ADXL335_ZERO_MV",
    "adxl335_g",
    "adxl335_millivolts",
    "gesture_millivolts",
    "simavr_adc_code",
    "write_adc_feed",
]

ADXL335_ZERO_MV = 1650
"""ADXL335 output at 0 g with a 3.3 V supply (ratiometric: half the supply)."""
ADXL335_MV_PER_G = 330
"""ADXL335 sensitivity with a 3.3 V supply."""
ADXL335_RANGE_G = 3.6
"""The ADXL335's typical full-scale range; the fed signal is clipped to it."""


def adxl335_millivolts(g: np.ndarray) -> np.ndarray:
    """An ADXL335 (3.3 V supply) reading of accelerations ``g``, in whole millivolts.

    Accelerations are clipped to the part's ±3.6 g range first.

    Args:
        g: Accelerations in g, any shape.

    Returns:
        Integer millivolts of the same shape: 1650 mV at 0 g, 330 mV per g.
    """
    clipped = np.clip(np.asarray(g, dtype=float), -ADXL335_RANGE_G, ADXL335_RANGE_G)
    return np.rint(ADXL335_ZERO_MV + ADXL335_MV_PER_G * clipped).astype(np.int64)


def simavr_adc_code(millivolts: np.ndarray, ref_mv: int = 5000) -> np.ndarray:
    """The 10-bit reading simavr gives for ``millivolts``: ``mV * 1023 // Vref``, at most 1023.

    The ATmega328P's datasheet has ``Vin * 1024 / Vref``; simavr's formula reads up to one
    step lower (``mV / Vref`` of a step). :func:`adxl335_g` of this code is what the sketch
    sends for that input.
    """
    mv = np.asarray(millivolts, dtype=np.int64)
    return np.minimum(mv * 1023 // int(ref_mv), 1023)


def adxl335_g(code: np.ndarray, ref_mv: float = 5000.0) -> np.ndarray:
    """What the capture sketch computes from a 10-bit ADC reading, in float32 as on the Uno.

    ``((code + 0.5) * Vref / 1024 - 1650) / 330``: the middle of the reading's voltage step.
    """
    c = np.asarray(code, dtype=np.float32)
    millivolts = (c + np.float32(0.5)) * np.float32(np.float32(ref_mv) / np.float32(1024.0))
    return (millivolts - np.float32(ADXL335_ZERO_MV)) / np.float32(ADXL335_MV_PER_G)


def gesture_millivolts(
    label: str = "wave", seconds: float = 5.0, *, seed: int = 0, rate_hz: float = 1000.0
) -> np.ndarray:
    """ADXL335 millivolts of a gesture from the virtual board's synth, for :func:`run_simavr`.

    Args:
        label: A gesture of :class:`tinybench.GestureSynth`.
        seconds: Length of the signal.
        seed: The synth's seed.
        rate_hz: Rows per second.

    Returns:
        Integer millivolts, shape ``(round(seconds * rate_hz), 3)``, for ax, ay, az.
    """
    import tinybench

    synth = tinybench.GestureSynth(seed=seed, rate_hz=rate_hz)
    accel = synth.session(label, round(seconds * rate_hz))[:, :3]
    return adxl335_millivolts(accel)


def write_adc_feed(path: str | os.PathLike[str], millivolts: np.ndarray) -> Path:
    """Write millivolt rows (one row per time step, one column per ADC channel) for the bridge.

    Raises:
        EmulatorError: The array is not 2-D with 1-8 columns of 0-65535 mV.
    """
    mv = np.asarray(millivolts)
    if mv.ndim != 2 or not 1 <= mv.shape[1] <= 8 or mv.shape[0] == 0:
        raise EmulatorError(
            f"ADC feed must be a (rows, channels) array with 1-8 channels, got shape {mv.shape}."
        )
    ints = np.rint(mv).astype(np.int64)
    if ints.min() < 0 or ints.max() > 65535:
        raise EmulatorError(
            f"ADC feed values must be millivolts in 0..65535, got {ints.min()}..{ints.max()}."
        )
    path = Path(path)
    np.savetxt(path, ints, fmt="%d")
    return path
