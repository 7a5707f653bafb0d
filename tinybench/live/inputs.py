"""Inputs for host-vs-device validation, from whichever sensor there is.

A board running the inference sketch streams its own sensor (``c``), and
:func:`~tinybench.live.validation.record_windows` turns that into model inputs. The emulated
Cortex-M4 board has no sensor: its hello says ``sensor=none`` and it answers only ``v <hex>``.
:func:`validation_windows` then records the same windows from the virtual board's synthetic
sensor, so validation works on either board; the log says which sensor was used.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tinybench.live.validation import record_windows
from tinybench.wire.link import Link, open_link

__all__ = ["validation_windows"]

log = logging.getLogger(__name__)

_NO_SENSOR = ("", "none")


def validation_windows(
    link: Link, exported: Any, count: int = 16, *, board: str = "nano33ble", seed: int = 1
) -> np.ndarray:
    """Record ``count`` model inputs for :func:`~tinybench.live.validation.validate`.

    Args:
        link: An open link to the board under test.
        exported: The :class:`~tinybench.deploy.exported.ExportedModel` the board runs.
        count: Number of windows.
        board: Virtual board whose sensor stands in when ``link``'s board has none.
        seed: Seed of that virtual board's synthetic sensor.

    Returns:
        Float32 inputs of shape ``(count, *example_shape)``, normalized as the sketch does.

    Raises:
        ConfigError: ``count`` is not positive or the model takes no window of samples.
        PortError: The sensor did not send enough samples in time.
    """
    hello = link.hello or link.request_hello()
    if hello.sensor not in _NO_SENSOR:
        return record_windows(link, exported, count)
    log.info(
        "The board on %s has no sensor (sensor=%s): recording the validation windows from "
        "the virtual %s's synthetic sensor (seed %d) instead.",
        link.url, hello.sensor or "none", board, seed,
    )  # fmt: skip
    with open_link(f"sim://{board}?seed={seed}&speed=0") as virtual:
        return record_windows(virtual, exported, count)
