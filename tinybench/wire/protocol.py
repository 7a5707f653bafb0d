r"""tinybench serial protocol v1: the messages and how one line is parsed.

One message per ``\\n``-terminated ASCII line, readable in any serial monitor. The full
specification is ``docs/protocol.md``. In short:

- hello: ``#tinybench v=1 board=nano33ble sensor=imu rate_hz=119 fields=ax,ay,az,gx,gy,gz``
- sample: ``s,<seq>,<t_us>,<v1>,<v2>,…``
- prediction: ``p,<seq>,<latency_us>,<score_0>,…``
- raw output (validation): ``o,<seq>,<hex>``
- error: ``!<message>``
- any line may end in ``*HH``, an NMEA-style XOR checksum of the bytes before ``*``
  (:mod:`tinybench.wire.checksum`).

The parser also takes plain CSV (with or without a header line, as the classic Arduino
``IMU_Capture`` sketch prints) and Edge Impulse data-forwarder lines (numbers separated by
commas, tabs or spaces). :func:`parse_line` never raises: anything it cannot use comes back as
:class:`Dropped` with a short reason, so a reader loop can count it and carry on. The host
commands are in :mod:`tinybench.wire.commands`, formatting in :mod:`tinybench.wire.formatting`,
the batch parser in :mod:`tinybench.wire.batch` and the stream helpers in
:mod:`tinybench.wire.streams`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tinybench.wire.checksum import checksum

__all__ = [
    "BAD_HELLO",
    "BAD_OUTPUT",
    "BAD_PREDICTION",
    "BAD_SAMPLE",
    "CHECKSUM",
    "COMMENT",
    "EMPTY",
    "ENCODING",
    "FLOAT32_MAX",
    "MAX_LINE_BYTES",
    "NON_FINITE",
    "OUT_OF_RANGE",
    "PROTOCOL_VERSION",
    "SEQ_MODULUS",
    "TOO_LONG",
    "UNPARSEABLE",
    "DeviceError",
    "Dropped",
    "Header",
    "Hello",
    "Message",
    "Prediction",
    "RawOutput",
    "Sample",
    "parse_line",
    "value_problem",
]

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 65536
SEQ_MODULUS = 2**32
FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32 (what training uses): a value beyond it is ``out-of-range``."""

# Drop reasons, stable strings used as counter keys.
EMPTY = "empty"
ENCODING = "encoding"
TOO_LONG = "too-long"
CHECKSUM = "checksum"
BAD_HELLO = "bad-hello"
BAD_SAMPLE = "bad-sample"
BAD_PREDICTION = "bad-prediction"
BAD_OUTPUT = "bad-output"
COMMENT = "comment"
UNPARSEABLE = "unparseable"
NON_FINITE = "non-finite"  # a value is NaN or infinite
OUT_OF_RANGE = "out-of-range"  # a value is beyond float32 (1e39, or 1e999, which reads as inf)


class Sample(NamedTuple):
    """One sensor sample.

    Attributes:
        seq: 32-bit sequence number, or ``None`` for plain CSV and forwarder lines.
        t_us: Device timestamp in microseconds, or ``None`` when the line has none.
        values: The sensor values, in the order of the hello's ``fields``.
    """

    seq: int | None
    t_us: int | None
    values: tuple[float, ...]


class Prediction(NamedTuple):
    """One on-device inference result.

    Attributes:
        seq: Sequence number of the prediction.
        latency_us: Time the device spent in ``Invoke()``, in microseconds.
        scores: One score per label, in label order.
    """

    seq: int
    latency_us: int
    scores: tuple[float, ...]


@dataclass(frozen=True)
class Hello:
    """The device's self-description, sent at boot and in answer to ``?``.

    Attributes:
        version: Protocol version the device speaks.
        board: Board name, as in :mod:`tinybench.boards`.
        sensor: Sensor kind, for example ``imu``.
        rate_hz: Nominal sample rate.
        fields: Names of the values in each sample line.
        labels: Model labels, in score order, when the device runs a model.
        virtual: True when the device is tinybench's virtual board.
        units: Unit of each field, when the device says.
        extra: Any other ``key=value`` pairs, kept as text.
    """

    version: int = PROTOCOL_VERSION
    board: str = "unknown"
    sensor: str = ""
    rate_hz: float = 0.0
    fields: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    virtual: bool = False
    units: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RawOutput:
    """The raw output tensor the device computed for a ``v`` command."""

    seq: int
    data: bytes


@dataclass(frozen=True)
class DeviceError:
    """An error line (``!message``) from the device."""

    message: str


@dataclass(frozen=True)
class Header:
    """A CSV header line such as ``aX,aY,aZ,gX,gY,gZ``."""

    fields: tuple[str, ...]


@dataclass(frozen=True)
class Dropped:
    """A line that was not used, with a short reason and a human-readable detail.

    Attributes:
        line: The line as received (decoded as Latin-1, so nothing is lost).
        reason: A stable key such as ``checksum`` or ``bad-sample``, used for counting.
        detail: What exactly was wrong, for logs and error messages.
    """

    line: str
    reason: str
    detail: str = ""


Message = Hello | Sample | Prediction | RawOutput | DeviceError | Header


# --- parsing -----------------------------------------------------------------------------

_SPLIT = re.compile(r"[,\t ]+")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/\[\]()]*$")


def parse_line(line: str | bytes) -> Message | Dropped:
    """Parse one line from a device. Never raises.

    Args:
        line: One line, with or without its trailing newline. Bytes are decoded as ASCII.

    Returns:
        The message, or :class:`Dropped` with the reason it was not used.
    """
    if isinstance(line, bytes):
        line = line.decode("latin-1")
    text = _unframe(line)
    if isinstance(text, Dropped):
        return text
    return _parse_body(text, line)


def _unframe(line: str) -> str | Dropped:
    """Return the line's text without whitespace and checksum, or why it cannot be used."""
    text = line.strip()
    if not text:
        return Dropped(line, EMPTY, "empty line")
    if len(text) > MAX_LINE_BYTES:
        return Dropped(line, TOO_LONG, f"line of {len(text)} characters")
    if not text.isascii():
        return Dropped(line, ENCODING, "line contains non-ASCII bytes")
    if len(text) >= 3 and text[-3] == "*":
        body = text[:-3]
        try:
            expected = int(text[-2:], 16)
        except ValueError:
            return Dropped(line, CHECKSUM, f"checksum {text[-2:]!r} is not hex")
        actual = checksum(body)
        if actual != expected:
            return Dropped(line, CHECKSUM, f"checksum {expected:02X} != computed {actual:02X}")
        if not body:
            return Dropped(line, EMPTY, "nothing before the checksum")
        return body
    return text


def _parse_body(text: str, line: str) -> Message | Dropped:
    """Parse a line's text (checked and without checksum) into a message."""
    head = text[0]
    try:
        if head == "s" and text.startswith("s,"):
            parts = text.split(",")
            if len(parts) < 4:
                return Dropped(line, BAD_SAMPLE, "sample line without values")
            seq = int(parts[1])
            if not 0 <= seq < SEQ_MODULUS:
                return Dropped(line, BAD_SAMPLE, f"sequence number {seq} is not 32-bit")
            t_us = int(parts[2])
            values = tuple(map(float, parts[3:]))
            return _value_drop(line, parts[3:], values) or Sample(seq, t_us, values)
        if head == "p" and text.startswith("p,"):
            parts = text.split(",")
            if len(parts) < 4:
                return Dropped(line, BAD_PREDICTION, "prediction line without scores")
            seq, latency = int(parts[1]), int(parts[2])
            scores = tuple(map(float, parts[3:]))
            return _value_drop(line, parts[3:], scores) or Prediction(seq, latency, scores)
        if head == "o" and text.startswith("o,"):
            _, seq, hexdata = text.split(",", 2)
            return RawOutput(int(seq), bytes.fromhex(hexdata.strip()))
        if head == "!":
            return DeviceError(text[1:].strip())
        if head == "#":
            if text.startswith("#tinybench"):
                return _parse_hello(text, line)
            return Dropped(line, COMMENT, "comment line")
    except ValueError as exc:
        reason = {"s": BAD_SAMPLE, "p": BAD_PREDICTION, "o": BAD_OUTPUT}.get(head, UNPARSEABLE)
        return Dropped(line, reason, str(exc))
    return _parse_plain(text, line)


def value_problem(values: Sequence[float]) -> str | None:
    """Why these values cannot be used: :data:`NON_FINITE`, :data:`OUT_OF_RANGE` or ``None``.

    The one rule for every value a device sends: NaN and infinities are ``non-finite``; a
    magnitude beyond :data:`FLOAT32_MAX` (what training uses) is ``out-of-range``.
    """
    if not all(map(math.isfinite, values)):
        return NON_FINITE
    if values and max(map(abs, values)) > FLOAT32_MAX:
        return OUT_OF_RANGE
    return None


def _value_drop(line: str, tokens: list[str], values: tuple[float, ...]) -> Dropped | None:
    """The drop for a line whose values break :func:`value_problem`, naming the first bad one.

    A number too large even for float64 (``1e999``) reads as infinity; it is counted as
    ``out-of-range``, since the device did send a number, not ``inf`` or ``nan``.
    """
    if value_problem(values) is None:
        return None
    for token, value in zip(tokens, values, strict=True):
        if not math.isfinite(value):
            if any(map(str.isdigit, token)):
                return Dropped(line, OUT_OF_RANGE, f"value {token!r} overflows even float64")
            return Dropped(line, NON_FINITE, f"value {token!r} is not finite")
    token = next(t for t, v in zip(tokens, values, strict=True) if abs(v) > FLOAT32_MAX)
    return Dropped(line, OUT_OF_RANGE, f"value {token!r} is beyond float32 (3.4e38)")


def _parse_plain(text: str, line: str) -> Sample | Header | Dropped:
    """Parse a plain CSV or Edge Impulse forwarder line."""
    tokens = [token for token in _SPLIT.split(text) if token]
    try:
        values = tuple(map(float, tokens))
    except ValueError:
        if tokens and all(_IDENT.match(token) for token in tokens):
            return Header(tuple(tokens))
        return Dropped(line, UNPARSEABLE, "neither a protocol message nor numbers nor a header")
    return _value_drop(line, tokens, values) or Sample(None, None, values)


def _parse_hello(text: str, line: str) -> Hello | Dropped:
    pairs: dict[str, str] = {}
    for token in text.split()[1:]:
        key, sep, value = token.partition("=")
        if not sep or not key:
            return Dropped(line, BAD_HELLO, f"hello token {token!r} is not key=value")
        pairs[key] = value
    try:
        version = int(pairs.pop("v", str(PROTOCOL_VERSION)))
        rate_hz = float(pairs.pop("rate_hz", "0"))
    except ValueError as exc:
        return Dropped(line, BAD_HELLO, str(exc))

    def items(key: str) -> tuple[str, ...]:
        value = pairs.pop(key, "")
        return tuple(value.split(",")) if value else ()

    return Hello(
        version=version,
        board=pairs.pop("board", "unknown"),
        sensor=pairs.pop("sensor", ""),
        rate_hz=rate_hz,
        fields=items("fields"),
        labels=items("labels"),
        virtual=pairs.pop("virtual", "0") == "1",
        units=items("units"),
        extra=pairs,
    )
