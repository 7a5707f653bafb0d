"""Opt-in tests against a real board: pytest -m hardware --port /dev/ttyACM0.

The board must run arduino_sketches/tinybench_capture (or the inference sketch). The same checks
run against the virtual board in the rest of the suite; here they prove the hardware agrees.
"""

from __future__ import annotations

import time

import pytest

from tinybench.wire import MessageQueue, open_link
from tinybench.wire.protocol import Hello, Sample

pytestmark = pytest.mark.hardware


def test_board_says_hello(hardware_port: str) -> None:
    with open_link(hardware_port) as link:
        hello = link.request_hello(timeout=3.0)
    assert isinstance(hello, Hello)
    assert hello.version == 1
    assert not hello.virtual
    assert hello.fields


def test_board_streams_samples_without_loss(hardware_port: str) -> None:
    with open_link(hardware_port) as link, MessageQueue(link) as sub:
        hello = link.request_hello(timeout=3.0)
        link.send("c")
        samples: list[Sample] = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            samples += [m for m in sub.get(timeout=0.1) if isinstance(m, Sample)]
        link.send("x")
    assert len(samples) > hello.rate_hz  # two seconds of data
    assert all(len(s.values) == len(hello.fields) for s in samples)
    assert link.stats.lost_samples == 0
    assert link.stats.dropped.get("checksum", 0) == 0
    span_s = (samples[-1].t_us - samples[0].t_us) / 1e6
    assert (len(samples) - 1) / span_s == pytest.approx(hello.rate_hz, rel=0.1)
