"""The virtual board's sensor: checked against the board's rate, fed ``n`` samples at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinybench.errors import ConfigError
from tinybench.sim.synth import GestureSynth

__all__ = ["SensorFeed", "sensor_at_rate"]


def sensor_at_rate(source: Any, seed: int, rate_hz: float, board: str) -> Any:
    """Return ``source``, or a seeded :class:`GestureSynth` when it is ``None``.

    Raises:
        ConfigError: The source samples at another rate than the board's.
    """
    if source is None:
        return GestureSynth(seed, rate_hz=rate_hz)
    rate = getattr(source, "rate_hz", rate_hz)
    if abs(rate - rate_hz) > 1e-6:
        raise ConfigError(
            f"The source samples at {rate:g} Hz but {board} streams at {rate_hz:g} Hz. Make "
            f"the source with rate_hz={rate_hz:g}."
        )
    return source


class SensorFeed:
    """Samples from a source's ``stream(block)``, handed out in any amounts.

    Args:
        source: Anything with ``fields`` and ``stream(block)`` yielding ``(block, fields)``
            arrays (a :class:`~tinybench.sim.synth.GestureSynth`).
        block: Samples the source computes at once.
    """

    def __init__(self, source: Any, block: int) -> None:
        self.source = source
        self.block = block
        self._stream: Iterator[np.ndarray] | None = None
        self._pending = np.zeros((0, len(source.fields)))
        self._fresh = False

    def discard_pending(self) -> None:
        """Forget samples computed but not yet taken (the sensor started something new)."""
        self._fresh = True

    def take(self, n: int) -> np.ndarray:
        """Return the next ``n`` samples.

        Raises:
            StopIteration: A recorded source ran out.
        """
        if self._stream is None:
            self._stream = iter(self.source.stream(self.block))
        if self._fresh:
            self._fresh = False
            self._pending = self._pending[:0]
        parts, have = [], 0
        while have < n:
            if not len(self._pending):
                self._pending = np.asarray(next(self._stream), dtype=np.float64)
            part, self._pending = self._pending[: n - have], self._pending[n - have :]
            parts.append(part)
            have += len(part)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
