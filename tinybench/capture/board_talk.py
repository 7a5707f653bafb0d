"""Talking to the board before a session: asking for its hello, telling the virtual board a gesture.

A board that resets when its port opens (an Uno, a Nano Every, many ESP32s) is deaf for 1-3 s
while it boots, so :func:`ask_hello` asks again every :data:`HELLO_RETRY_SECONDS` and takes its
boot hello too, until the timeout.
"""

from __future__ import annotations

import time

from tinybench.errors import CaptureError
from tinybench.wire.link import Link
from tinybench.wire.message_queue import MessageQueue
from tinybench.wire.protocol import DeviceError, Hello

__all__ = ["HELLO_RETRY_SECONDS", "ask_hello", "perform_gesture"]

HELLO_RETRY_SECONDS = 0.5


def ask_hello(link: Link, timeout: float) -> Hello | None:
    """Ask with ``?`` until a hello arrives; ``None`` after ``timeout`` seconds (a plain stream).

    Raises:
        PortError: The board went away or the link is closed.
    """
    with MessageQueue(link) as messages:
        now = time.monotonic()
        deadline, ask = now + timeout, now
        while (left := deadline - now) > 0:
            if now >= ask:
                link.send("?")
                ask = now + HELLO_RETRY_SECONDS
            batch = messages.get(timeout=min(left, 0.1))
            hello = next((m for m in batch if isinstance(m, Hello)), None)
            if hello is not None:
                return hello
            now = time.monotonic()
    return None


def perform_gesture(link: Link, label: str, hello: Hello, timeout: float) -> None:
    """Ask the virtual board to perform ``label``; ``?`` after ``g`` marks its answer.

    Raises:
        CaptureError: The virtual board does not know the gesture; the message lists those it
            knows.
    """
    errors: list[str] = []
    with MessageQueue(link) as messages:
        link.send("g", label.encode("ascii"))
        link.send("?")
        deadline = time.monotonic() + timeout
        answered = False
        while not answered and time.monotonic() < deadline:
            for message in messages.get(timeout=0.1):
                if isinstance(message, DeviceError):
                    errors.append(message.message)
                answered = answered or isinstance(message, Hello)
    unknown = [e for e in errors if "gesture" in e]
    if unknown:
        known = hello.extra.get("gestures", "")
        said_known = "known" in unknown[0]
        hint = f" It knows: {known.replace(',', ', ')}." if known and not said_known else ""
        raise CaptureError(
            f"The virtual board cannot perform the gesture {label!r}: it answered "
            f"{unknown[0]!r}.{hint} Pick one of the gestures it knows as the label; "
            "nothing was recorded."
        )
