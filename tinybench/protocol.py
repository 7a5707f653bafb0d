r"""tinybench serial protocol v1: parsing and formatting lines.

One message per ``\\n``-terminated ASCII line, readable in any serial monitor. The full
specification is ``docs/protocol.md``. In short:

- hello: ``#tinybench v=1 board=nano33ble sensor=imu rate_hz=119 fields=ax,ay,az,gx,gy,gz``
- sample: ``s,<seq>,<t_us>,<v1>,<v2>,…``
- prediction: ``p,<seq>,<latency_us>,<score_0>,…``
- raw output (validation): ``o,<seq>,<hex>``
- error: ``!<message>``
- host commands: ``?``, ``c``, ``x``, ``i``, ``v <hex>``
- any line may end in ``*HH``, an NMEA-style XOR checksum of the bytes before ``*``.

The parser also takes plain CSV (with or without a header line, as the classic Arduino
``IMU_Capture`` sketch prints) and Edge Impulse data-forwarder lines (numbers separated by
commas, tabs or spaces). :func:`parse_line` never raises: anything it cannot use comes back as
:class:`Dropped` with a short reason, so a reader loop can count it and carry on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from tinybench.errors import ProtocolError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "COMMANDS",
    "MAX_LINE_BYTES",
    "PROTOCOL_VERSION",
    "Command",
    "DeviceError",
    "Dropped",
    "Header",
    "Hello",
    "LineSplitter",
    "Message",
    "Prediction",
    "RawOutput",
    "Sample",
    "SequenceTracker",
    "checksum",
    "format_command",
    "format_error",
    "format_hello",
    "format_output",
    "format_prediction",
    "format_sample",
    "format_samples",
    "parse_command",
    "parse_line",
    "parse_lines",
    "with_checksum",
]

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 65536
SEQ_MODULUS = 2**32
COMMANDS = {
    "?": "send the hello line",
    "c": "stream samples",
    "x": "stop streaming or inference",
    "i": "run inference on the live sensor and stream predictions",
    "v": "run the model on the raw input tensor given as hex; answer with an o line",
    "g": "virtual board only: make the synthetic sensor perform the named gesture",
}

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


@dataclass(frozen=True)
class Command:
    """A command from the host to the device.

    Attributes:
        kind: One of the keys of :data:`COMMANDS`.
        payload: Raw input tensor bytes for ``v``, the ASCII gesture name for ``g``; empty
            otherwise.
    """

    kind: str
    payload: bytes = b""


# --- checksums ---------------------------------------------------------------------------


def checksum(body: str | bytes) -> int:
    """Return the NMEA-style XOR of every byte of ``body``.

    Args:
        body: The line without the ``*HH`` suffix and without the newline.
    """
    data = body.encode("latin-1") if isinstance(body, str) else body
    if not data:
        return 0
    # XOR all bytes at C speed: fold the number made of the bytes onto itself.
    value = int.from_bytes(data, "little")
    width = len(data)
    while width > 1:
        half = (width + 1) // 2
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        width = half
    return value


def with_checksum(body: str) -> str:
    """Return ``body`` with its ``*HH`` checksum appended."""
    return f"{body}*{checksum(body):02X}"


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
        text = body
        if not text:
            return Dropped(line, EMPTY, "nothing before the checksum")
    head = text[0]
    try:
        if head == "s" and text.startswith("s,"):
            parts = text.split(",")
            if len(parts) < 4:
                return Dropped(line, BAD_SAMPLE, "sample line without values")
            seq = int(parts[1])
            if not 0 <= seq < SEQ_MODULUS:
                return Dropped(line, BAD_SAMPLE, f"sequence number {seq} is not 32-bit")
            return Sample(seq, int(parts[2]), _floats(parts[3:]))
        if head == "p" and text.startswith("p,"):
            parts = text.split(",")
            if len(parts) < 4:
                return Dropped(line, BAD_PREDICTION, "prediction line without scores")
            return Prediction(int(parts[1]), int(parts[2]), _floats(parts[3:]))
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


def parse_lines(lines: list[str]) -> list[Message | Dropped]:
    """Parse many lines at once: the same results as ``[parse_line(l) for l in lines]``.

    Checksums of the whole batch are computed together (a prefix XOR over the joined bytes),
    and checksummed sample lines take a fast path; any other line goes through
    :func:`parse_line`. Never raises.
    """
    if not lines:
        return []
    import numpy as np

    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    joined = np.frombuffer("".join(lines).encode("latin-1", "replace"), dtype=np.uint8)
    prefix = np.bitwise_xor.accumulate(joined) if joined.size else joined
    ends = np.cumsum(lengths)  # line i is joined[ends[i] - lengths[i] : ends[i]]
    starts = ends - lengths
    body_last = np.maximum(ends - 4, 0)  # the byte before "*HH"
    before = np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], 0) if joined.size else starts
    sums = (prefix[body_last] ^ before).tolist() if joined.size else [0] * len(lines)
    out: list[Message | Dropped] = []
    append = out.append
    isfinite = math.isfinite
    for line, computed in zip(lines, sums, strict=True):
        if (
            line[:2] == "s,"
            and 7 < len(line) <= MAX_LINE_BYTES
            and line[-3] == "*"
            and line.isascii()
            and not line[-1].isspace()
        ):
            try:
                expected = int(line[-2:], 16)
            except ValueError:
                append(parse_line(line))
                continue
            if expected != computed:
                detail = f"checksum {expected:02X} != computed {computed:02X}"
                append(Dropped(line, CHECKSUM, detail))
                continue
            parts = line[:-3].split(",")
            try:
                seq = int(parts[1])
                values = tuple(map(float, parts[3:]))
                if len(parts) >= 4 and 0 <= seq < SEQ_MODULUS and all(map(isfinite, values)):
                    append(Sample(seq, int(parts[2]), values))
                    continue
            except ValueError:
                pass
        append(parse_line(line))
    return out


def _floats(tokens: list[str]) -> tuple[float, ...]:
    values = tuple(map(float, tokens))
    if not all(map(math.isfinite, values)):
        raise ValueError("value is not finite")
    return values


def _parse_plain(text: str, line: str) -> Sample | Header | Dropped:
    """Parse a plain CSV or Edge Impulse forwarder line."""
    tokens = [token for token in _SPLIT.split(text) if token]
    try:
        return Sample(None, None, _floats(tokens))
    except ValueError:
        pass
    if tokens and all(_IDENT.match(token) for token in tokens):
        return Header(tuple(tokens))
    return Dropped(line, UNPARSEABLE, "neither a protocol message nor numbers nor a header")


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


def parse_command(line: str | bytes) -> Command:
    """Parse one command line sent by the host (the device side of the protocol).

    Args:
        line: The command line, with or without newline and checksum.

    Raises:
        ProtocolError: The command is unknown or its payload is malformed; the message is
            suitable for an ``!`` error line.
    """
    if isinstance(line, bytes):
        line = line.decode("latin-1")
    text = line.strip()
    if len(text) >= 3 and text[-3] == "*":
        body = text[:-3]
        if text[-2:].upper() != f"{checksum(body):02X}":
            raise ProtocolError(f"bad checksum on command {text!r}")
        text = body
    kind, _, rest = text.partition(" ")
    if kind not in COMMANDS:
        known = " ".join(COMMANDS)
        raise ProtocolError(f"unknown command {text[:32]!r}; known commands: {known}")
    if kind == "g":
        name = rest.strip()
        if not name or not name.isascii() or any(ch in name for ch in " ,=*"):
            raise ProtocolError(f"command 'g' needs a gesture name: g <name>, got {name[:32]!r}")
        return Command("g", name.encode("ascii"))
    if kind != "v":
        if rest.strip():
            raise ProtocolError(f"command {kind!r} takes no argument, got {rest.strip()[:32]!r}")
        return Command(kind)
    hexdata = rest.strip()
    if not hexdata:
        raise ProtocolError("command 'v' needs the input tensor as hex: v <hex>")
    try:
        return Command("v", bytes.fromhex(hexdata))
    except ValueError:
        raise ProtocolError(f"command 'v' payload is not hex: {hexdata[:32]!r}") from None


# --- formatting --------------------------------------------------------------------------


def _finish(body: str, add_checksum: bool) -> str:
    return (with_checksum(body) if add_checksum else body) + "\n"


def format_hello(hello: Hello, *, add_checksum: bool = True) -> str:
    """Format a hello line.

    Raises:
        ProtocolError: A value contains a space, comma or ``=`` that would break the line.
    """
    pairs: list[tuple[str, str]] = [
        ("v", str(hello.version)),
        ("board", hello.board),
        ("sensor", hello.sensor),
        ("rate_hz", f"{hello.rate_hz:g}"),
        ("fields", ",".join(hello.fields)),
        ("labels", ",".join(hello.labels)),
        ("units", ",".join(hello.units)),
        *sorted(hello.extra.items()),
    ]
    if hello.virtual:
        pairs.append(("virtual", "1"))
    for name in (*hello.fields, *hello.labels, *hello.units):
        if not name or any(ch in name for ch in " ,=*\n\r"):
            raise ProtocolError(f"name {name!r} cannot go on a hello line (no spaces, ',', '=')")
    body = "#tinybench " + " ".join(f"{key}={value}" for key, value in pairs if value != "")
    return _finish(body, add_checksum)


def format_sample(
    seq: int, t_us: int, values: tuple[float, ...] | list[float], *, add_checksum: bool = True
) -> str:
    """Format a sample line, with values to 4 decimals."""
    body = f"s,{seq % SEQ_MODULUS},{t_us}," + ",".join(f"{v:.4f}" for v in values)
    return _finish(body, add_checksum)


def format_samples(
    seqs: np.ndarray,
    t_us: np.ndarray,
    values: np.ndarray,
    *,
    add_checksum: bool = True,
    garble: np.ndarray | None = None,
) -> bytes:
    r"""Format many sample lines at once, byte-identical to :func:`format_sample`.

    Values are rounded with ``np.rint(v * 1e4)``; a value already on the 4-decimal grid comes
    out exactly as :func:`format_sample` writes it (a tie beyond the 4th decimal may round the
    other way). The virtual board streams at full speed with this.

    Args:
        seqs: Sequence numbers (already below 2**32), shape ``(n,)``.
        t_us: Device timestamps, shape ``(n,)``.
        values: Sample values, shape ``(n, k)``; written with 4 decimals.
        add_checksum: Append ``*HH`` to every line.
        garble: Boolean mask of lines to corrupt after their checksum is computed (one digit
            changes, so the checksum fails; without checksums the digit becomes ``x``).

    Returns:
        The lines, each ending in ``\n``, as ASCII bytes.
    """
    import numpy as np  # here, so that parsing lines needs no numpy

    n = len(seqs)
    if n == 0:
        return b""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 1e4).astype(np.int64)
    magnitude = np.abs(scaled)
    whole, frac = magnitude // 10_000, magnitude % 10_000
    k = scaled.shape[1]
    wi = _width(whole)
    cells = np.zeros((n, k, 7 + wi), np.uint8)
    cells[:, :, 0] = ord(",")
    cells[:, :, 1] = np.where(scaled < 0, ord("-"), 0)
    cells[:, :, 2 : 2 + wi] = _digits(whole.ravel(), wi).reshape(n, k, wi)
    cells[:, :, 2 + wi] = ord(".")
    cells[:, :, 3 + wi :] = _digits(frac.ravel(), 4, pad=True).reshape(n, k, 4)
    seqs = np.asarray(seqs, dtype=np.int64)
    t_us = np.asarray(t_us, dtype=np.int64)
    ws, wt = _width(seqs), _width(t_us)
    head = np.zeros((n, 3 + ws + wt), np.uint8)
    head[:, 0], head[:, 1], head[:, 2 + ws] = ord("s"), ord(","), ord(",")
    head[:, 2 : 2 + ws] = _digits(seqs, ws)
    head[:, 3 + ws :] = _digits(t_us, wt)
    body = np.concatenate([head, cells.reshape(n, -1)], axis=1)
    parts = [body]
    if add_checksum:
        hexdigits = np.frombuffer(b"0123456789ABCDEF", np.uint8)
        xor = np.bitwise_xor.reduce(body, axis=1)
        tail = np.empty((n, 3), np.uint8)
        tail[:, 0], tail[:, 1], tail[:, 2] = ord("*"), hexdigits[xor >> 4], hexdigits[xor & 15]
        parts.append(tail)
    if garble is not None and garble.any():
        column = head.shape[1] + 6 + wi  # last decimal of the first value: always present
        hit = body[garble, column]
        body[garble, column] = (hit - 47) % 10 + 48 if add_checksum else ord("x")
    parts.append(np.full((n, 1), ord("\n"), np.uint8))
    flat = np.concatenate(parts, axis=1).ravel()
    return flat[flat != 0].tobytes()


def _digits(values: np.ndarray, width: int, *, pad: bool = False) -> np.ndarray:
    """ASCII digits of non-negative integers in ``width`` columns.

    Leading zeros become NUL bytes (removed later, and neutral in an XOR checksum) unless
    ``pad`` keeps them.
    """
    import numpy as np

    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    out = ((values[:, None] // powers) % 10 + 48).astype(np.uint8)
    if not pad:
        blank = values[:, None] < powers
        blank[:, -1] = False
        out[blank] = 0
    return out


def _width(values: np.ndarray) -> int:
    return len(str(int(values.max()))) if values.size else 1


def format_prediction(
    seq: int, latency_us: int, scores: tuple[float, ...] | list[float], *, add_checksum: bool = True
) -> str:
    """Format a prediction line, with scores to 4 decimals."""
    body = f"p,{seq % SEQ_MODULUS},{latency_us}," + ",".join(f"{s:.4f}" for s in scores)
    return _finish(body, add_checksum)


def format_output(seq: int, data: bytes, *, add_checksum: bool = True) -> str:
    """Format a raw-output line for validation."""
    return _finish(f"o,{seq % SEQ_MODULUS},{data.hex()}", add_checksum)


def format_error(message: str, *, add_checksum: bool = True) -> str:
    """Format an error line; newlines in ``message`` are folded into spaces."""
    text = " ".join(message.split())
    return _finish("!" + text.encode("ascii", "replace").decode("ascii"), add_checksum)


def format_command(kind: str, payload: bytes = b"") -> str:
    """Format a host command line.

    Raises:
        ProtocolError: ``kind`` is not a known command.
    """
    if kind not in COMMANDS:
        raise ProtocolError(f"unknown command {kind!r}; known commands: {' '.join(COMMANDS)}")
    if kind == "v":
        return f"v {payload.hex()}\n"
    if kind == "g":
        return f"g {payload.decode('ascii')}\n"
    return f"{kind}\n"


# --- streams -----------------------------------------------------------------------------


class LineSplitter:
    r"""Split a byte stream into lines, keeping a partial line between chunks.

    A line longer than :data:`MAX_LINE_BYTES` without a newline is cut off and reported as
    too long, so a device that never sends ``\\n`` cannot grow memory without bound.
    """

    def __init__(self) -> None:
        self._partial = b""
        self.overflows = 0

    def feed(self, data: bytes) -> list[str]:
        """Add ``data`` and return every complete line, decoded as Latin-1."""
        if self._partial:
            data = self._partial + data
        lines = data.decode("latin-1").split("\n")
        last = lines.pop()
        if len(last) > MAX_LINE_BYTES:
            self.overflows += 1
            last = ""
        self._partial = last.encode("latin-1")
        return lines


class SequenceTracker:
    """Count samples lost from gaps in 32-bit sequence numbers.

    A jump forward of ``n`` means ``n`` samples were lost. A jump backward by more than half the
    sequence space is a wrap-around; any other jump backward means the device restarted, which
    is counted in :attr:`restarts` and does not count as loss.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.received = 0
        self.lost = 0
        self.restarts = 0

    def update(self, seq: int) -> int:
        """Record ``seq`` and return how many samples were lost just before it."""
        self.received += 1
        last, self.last = self.last, seq
        if last is None:
            return 0
        gap = (seq - last - 1) % SEQ_MODULUS
        if gap == 0:
            return 0
        if gap >= SEQ_MODULUS // 2:
            self.restarts += 1
            return 0
        self.lost += gap
        return gap
