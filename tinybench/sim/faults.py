"""Faults the virtual board injects on purpose, to test the host.

``garble`` corrupts lines so their checksum fails, ``drop`` skips samples so sequence numbers
show gaps, and ``unplug_after`` pulls the cable after that many samples. The draws are seeded,
so a test sees the same faults every run.
"""

from __future__ import annotations

import numpy as np

from tinybench.errors import ConfigError

__all__ = ["Faults", "garble_line"]


class Faults:
    """The seeded fault plan of one virtual board.

    Args:
        garble: Probability that a streamed line is corrupted so its checksum fails.
        drop: Probability that a sample is skipped, leaving a gap in sequence numbers.
        unplug_after: Unplug after this many samples (sent or dropped), or ``None``.
        seed: Seed of the garble and drop draws.

    Raises:
        ConfigError: A probability is outside [0, 1] or ``unplug_after`` is negative.
    """

    def __init__(
        self, *, garble: float = 0.0, drop: float = 0.0, unplug_after: int | None = None, seed: int
    ) -> None:
        for name, value in (("garble", garble), ("drop", drop)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} is a probability in [0, 1], got {value!r}.")
        if unplug_after is not None and unplug_after < 0:
            raise ConfigError(f"unplug_after must be >= 0 samples, got {unplug_after!r}.")
        self.garble, self.drop, self.unplug_after = float(garble), float(drop), unplug_after
        self._rng = np.random.default_rng(seed)

    def kept(self, n: int) -> np.ndarray | None:
        """Mask of the next ``n`` samples that are sent, or ``None`` when all are."""
        return self._rng.random(n) >= self.drop if self.drop else None

    def garbled(self, n: int) -> np.ndarray | None:
        """Mask of the next ``n`` lines to corrupt, or ``None`` when none are."""
        return self._rng.random(n) < self.garble if self.garble else None

    def maybe_garble(self, line: str, checksummed: bool) -> str:
        """Return ``line``, corrupted with probability :attr:`garble`."""
        if self.garble and self._rng.random() < self.garble:
            return garble_line(line, checksummed)
        return line

    def allowed(self, produced: int, n: int) -> int:
        """How many of ``n`` more samples may be produced before the planned unplug."""
        return n if self.unplug_after is None else min(n, self.unplug_after - produced)

    def unplug_due(self, produced: int) -> bool:
        """True once ``produced`` samples reach the planned unplug."""
        return self.unplug_after is not None and produced >= self.unplug_after


def garble_line(line: str, checksummed: bool) -> str:
    """Corrupt one digit of ``line`` so its checksum fails (or it no longer parses)."""
    body = line.rstrip("\n")
    cut = body.rfind("*") if checksummed else len(body)
    for i in range(cut - 1, -1, -1):
        if body[i].isdigit():
            swap = str((int(body[i]) + 1) % 10) if checksummed else "x"
            return body[:i] + swap + body[i + 1 :] + "\n"
    return line
