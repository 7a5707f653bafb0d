"""Polling until a condition holds, for tests that watch work done on background threads."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 5.0,
    message: str = "condition not met in time",
) -> None:
    """Call ``predicate`` every 10 ms until it is true.

    Raises:
        AssertionError: ``message``, when ``predicate`` is still false after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)
