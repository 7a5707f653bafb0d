"""Host commands of protocol v1: ``?``, ``c``, ``x``, ``i``, ``v <hex>`` (and ``g <name>``).

The host formats them with :func:`format_command`; a device (the virtual board) parses them
with :func:`parse_command`, which raises :class:`~tinybench.errors.ProtocolError` with a message
fit for an ``!`` error line.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.errors import ProtocolError
from tinybench.wire.checksum import checksum

__all__ = ["COMMANDS", "Command", "format_command", "parse_command"]

COMMANDS = {
    "?": "send the hello line",
    "c": "stream samples",
    "x": "stop streaming or inference",
    "i": "run inference on the live sensor and stream predictions",
    "v": "run the model on the raw input tensor given as hex; answer with an o line",
    "g": "virtual board only: make the synthetic sensor perform the named gesture",
}


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
