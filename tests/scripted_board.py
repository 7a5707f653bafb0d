"""A scripted board on loop://, for capture tests: it answers commands as a real board would."""

from __future__ import annotations

import serial

from tinybench.wire import Hello, format_hello, format_sample

FIELDS = ("ax", "ay", "az")
HELLO = Hello(board="nano33ble", sensor="imu", rate_hz=119, fields=FIELDS, units=("g",) * 3)
PERIOD_US = 8403  # 119 Hz


def sample_line(seq: int, **kwargs) -> str:
    return format_sample(seq, seq * PERIOD_US, [seq / 100, -1.5, 0.0625], **kwargs)


class LoopBoard:
    """A scripted board on loop://: it consumes commands and writes its answers into the loop."""

    def __init__(self, link, hello: Hello | str | None = HELLO, stream: str = "", gestures=()):
        self.link, self.hello, self.stream, self.gestures = link, hello, stream, gestures
        self.sent: list[tuple[str, bytes]] = []
        link.send = self.send

    def write(self, text: str) -> None:
        self.link.port.write(text.encode("ascii"))

    def send(self, kind: str, payload: bytes = b"") -> None:
        if self.link.error is not None:
            raise self.link.error
        self.sent.append((kind, payload))
        if kind == "?" and self.hello is not None:
            hello = self.hello  # a Hello, or a line as a device with odd names would print it
            self.write(hello if isinstance(hello, str) else format_hello(hello))
        elif kind == "g" and payload.decode() not in self.gestures:
            self.write(f"!unknown gesture {payload.decode()!r}; known: {','.join(self.gestures)}\n")
        elif kind == "c" and self.stream:
            self.write(self.stream)


def stream_of(seqs, garbled=()) -> str:
    lines = []
    for seq in seqs:
        lines.append(sample_line(seq))
        if seq in garbled:
            lines.append("s,999,1,1,2,3*00\n")  # checksum does not match: dropped, not parsed
    return "".join(lines)


def unplug(link) -> None:
    """Make the next read fail as a closed pty does."""

    def read(_size: int = 1) -> bytes:
        raise serial.SerialException("device reports readiness to read but returned no data")

    link.port.read = read
