"""Pacing the virtual board: how many samples are due now, at the board's rate times a speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["Pacer"]

_MAX_BEHIND_S = 1.0  # a board this far behind its clock (host not reading) does not burst


class Pacer:
    """The sample clock of a streaming board.

    Args:
        rate_hz: The board's nominal sample rate.
        speed: A multiple of that rate; 0 means as fast as possible.
        max_block: The most samples handed out at once.
    """

    def __init__(self, rate_hz: float, speed: float, max_block: int) -> None:
        self.rate_hz, self.speed, self.max_block = rate_hz, speed, max_block
        self._clock0 = 0.0  # monotonic time when streaming started
        self._clocked = 0  # samples produced since then

    def start(self) -> float:
        """Start the clock now (streaming begins) and return the monotonic start time."""
        self._clock0 = time.monotonic()
        self._clocked = 0
        return self._clock0

    def advance(self, n: int) -> None:
        """Count ``n`` samples as produced."""
        self._clocked += n

    def due(self, wait: Callable[[float], Any]) -> int:
        """Return the samples due now; when none are, ``wait`` until the next one and return 0.

        Args:
            wait: Sleeps for up to the given seconds, waking early on news (the board's
                ``Condition.wait``).
        """
        if self.speed == 0:
            return self.max_block
        rate = self.rate_hz * self.speed
        now = time.monotonic()
        due = int((now - self._clock0) * rate) - self._clocked
        if due > rate * _MAX_BEHIND_S:  # the sink blocked (nobody reading): no burst
            self._clock0 = now - self._clocked / rate
            due = 1
        if due <= 0:
            wait(max(0.0, (self._clocked + 1) / rate - (now - self._clock0)))
            return 0
        return min(due, self.max_block)
