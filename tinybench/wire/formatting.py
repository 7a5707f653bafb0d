"""Formatting the device side of protocol v1: hello, sample, prediction, output and error lines.

:func:`format_samples` formats a whole block of sample lines with numpy, byte-identical to
:func:`format_sample`; the virtual board streams at full speed with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.errors import ProtocolError
from tinybench.wire.checksum import with_checksum
from tinybench.wire.protocol import SEQ_MODULUS, Hello

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "format_error",
    "format_hello",
    "format_output",
    "format_prediction",
    "format_sample",
    "format_samples",
]


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
