"""Parsing a batch of lines at once: the link's full-speed path for checksummed sample lines.

:func:`parse_block` checks a whole batch with numpy (checksums by a prefix XOR, the syntax of
sample lines by byte classes) and parses every run of consecutive sample lines that are
checksummed, in plain decimal syntax and of one width as ONE :class:`SampleBlock`: arrays of
sequence numbers, times and values, plus the lines' own text as CSV rows, with no Python
object per sample. Any other line goes through :func:`~tinybench.wire.protocol.parse_line`, so
the results are the same as line by line (:func:`parse_lines` shows it). Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tinybench.wire.protocol import (
    FLOAT32_MAX,
    MAX_LINE_BYTES,
    SEQ_MODULUS,
    Dropped,
    Message,
    Sample,
    parse_line,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SampleBlock", "parse_block", "parse_lines"]

_BODY_BYTES = b"0123456789.,eE+-"  # all a sample line may hold between "s," and "*HH"
_NOT_PLAIN_START = re.compile(r"\n(?!\d{1,10},\d{1,15},)")  # a row without seq,t_us digits
_tables: dict[str, Any] = {}


@dataclass(frozen=True, eq=False)
class SampleBlock:
    r"""Consecutive sample lines parsed together: the samples of a stream at full speed.

    Every line was checksummed and holds a sequence number and a time of digits only and
    ``width`` values in plain decimal syntax, all finite and within float32.

    Attributes:
        seqs: Sequence numbers, int64, shape ``(n,)``.
        t_us: Device times in microseconds, int64, shape ``(n,)``.
        values: The values, float64, shape ``(n, width)``.
        rows: The lines as CSV rows ``seq,t_us,v1,…\n``, ASCII: the text the device sent
            (without ``s,`` and ``*HH``), so every value reads back exactly as received.
    """

    seqs: np.ndarray
    t_us: np.ndarray
    values: np.ndarray
    rows: bytes

    def __len__(self) -> int:
        return len(self.seqs)

    @cached_property
    def steady(self) -> bool:
        """True when each sequence number is the last plus one and time never goes back."""
        import numpy as np

        seqs, times = self.seqs, self.t_us
        return bool((np.diff(seqs) == 1).all() and (np.diff(times) >= 0).all())

    @property
    def last(self) -> Sample:
        """The last sample, as a :class:`~tinybench.wire.protocol.Sample`."""
        return Sample(int(self.seqs[-1]), int(self.t_us[-1]), tuple(self.values[-1].tolist()))

    def samples(self) -> list[Sample]:
        """The samples one by one, equal to what :func:`parse_line` gives for each line."""
        values = map(tuple, self.values.tolist())
        return list(map(Sample, self.seqs.tolist(), self.t_us.tolist(), values))

    def row_list(self) -> list[bytes]:
        r"""The CSV row of each sample, each ending in ``\n``."""
        return self.rows.splitlines(keepends=True)


def parse_lines(lines: list[str]) -> list[Message | Dropped]:
    """Parse many lines at once: the same results as ``[parse_line(l) for l in lines]``."""
    out: list[Message | Dropped] = []
    for message in parse_block(lines):
        if type(message) is SampleBlock:
            out += message.samples()
        else:
            out.append(message)
    return out


def parse_block(lines: list[str]) -> list[Message | Dropped | SampleBlock]:
    """Parse many lines at once, runs of sample lines as :class:`SampleBlock`; never raises.

    Expanding each block into its :meth:`~SampleBlock.samples` gives exactly
    ``[parse_line(l) for l in lines]``: a line is only taken in bulk when the line-by-line
    parser would accept it with the same numbers; anything else (a bad checksum, a non-finite
    value, a stray character) goes to :func:`parse_line`, which says why.
    """
    if not lines:
        return []
    widths = _fast_widths(lines)
    out: list[Message | Dropped | SampleBlock] = []
    for start, end in _runs(widths):
        if widths[start] < 0:
            out += map(parse_line, lines[start:end])
        else:
            out += _parse_run(lines[start:end], widths[start])
    return out


def _runs(keys: list[Any]) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of equal neighbours in ``keys``."""
    cuts = [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]
    return list(zip([0, *cuts], [*cuts, len(keys)], strict=True))


def _hex_values() -> Any:
    """The value of each byte as a hex digit, or -1 (built once)."""
    import numpy as np

    if "hex" not in _tables:
        table = np.full(256, -1, np.int16)
        for digit, char in enumerate(b"0123456789abcdef"):
            table[char] = table[ord(chr(char).upper())] = digit
        _tables["hex"] = table
    return _tables["hex"]


def _fast_widths(lines: list[str]) -> list[int]:
    """For each line, its number of ``,`` when it is a sample line with a right checksum, or -1.

    Framing and checksums are checked with numpy over the whole batch (the XOR of each line's
    bytes before ``*`` by one ``reduceat``); :func:`_parse_run` checks the rest.
    """
    import numpy as np

    n = len(lines)
    # Two bytes of padding: every index below is in range (short lines' negative ones wrap
    # round to the padding), and such lines fail the length check anyway.
    buf = np.frombuffer(("".join(lines) + "\n\n").encode("latin-1", "replace"), np.uint8)
    lengths = np.fromiter(map(len, lines), np.int64, n)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    stop = ends - ((buf[ends - 1] == ord("\r")) & (lengths > 0))  # a \r before \n is ignored
    star = np.maximum(stop - 3, starts)  # the "*" of "*HH"
    high, low = _hex_values()[buf[stop - 2]], _hex_values()[buf[stop - 1]]
    ok = (stop - starts >= 8) & (stop - starts <= MAX_LINE_BYTES) & (high >= 0) & (low >= 0)
    ok &= (buf[starts] == ord("s")) & (buf[starts + 1] == ord(",")) & (buf[star] == ord("*"))
    if not ok.any():
        return [-1] * n
    bounds = np.empty(2 * n, np.int64)
    bounds[0::2], bounds[1::2] = starts, star
    computed = np.bitwise_xor.reduceat(buf, bounds)[0::2]  # XOR of [start, star) of each line
    ok &= high * 16 + low == computed
    return [line.count(",") if fine else -1 for line, fine in zip(lines, ok.tolist(), strict=True)]


def _parse_run(lines: list[str], width: int) -> list[Message | Dropped | SampleBlock]:
    """Parse checksummed sample lines with ``width`` commas each, in bulk where they are plain.

    Plain means: a sequence number of at most 10 digits, a time of at most 15 digits, values
    of digits, ``.``, ``e``, ``E``, ``+`` and ``-`` that ``float()`` reads, nothing else. Then
    the text of each line is also a CSV row that reads back as the same numbers.
    """
    import numpy as np

    rows = [line[2:-4] if line[-1] == "\r" else line[2:-3] for line in lines]
    text = "\n".join(rows) + "\n"
    try:
        if not _plain(text):
            raise ValueError("not plain")
        # numpy reads numbers as float() does, and refuses any other token
        numbers = np.fromstring(text.replace("\n", ","), sep=",").reshape(len(rows), width)
    except ValueError:  # a token such as "1e" or "1.2.3", or a stray byte
        return _parse_mixed(lines, rows, width)
    values = numbers[:, 2:]
    good = (np.abs(values) <= FLOAT32_MAX).all(axis=1) & (numbers[:, 0] < SEQ_MODULUS)
    if good.all():
        return [_block(numbers, text)]
    out: list[Message | Dropped | SampleBlock] = []
    start = 0
    for bad in np.flatnonzero(~good).tolist():  # non-finite, beyond float32, seq beyond 32 bits
        if bad > start:
            out.append(_block(numbers[start:bad], "".join(f"{r}\n" for r in rows[start:bad])))
        out.append(parse_line(lines[bad]))
        start = bad + 1
    if start < len(rows):
        out.append(_block(numbers[start:], "".join(f"{r}\n" for r in rows[start:])))
    return out


def _plain(text: str) -> bool:
    r"""True when ``text`` holds rows of plain number bytes starting ``<digits>,<digits>,``.

    Each row ends in ``\n``; the sequence number has at most 10 digits, the time 15.
    """
    if text.encode("latin-1", "replace").translate(None, _BODY_BYTES + b"\n"):
        return False
    return _NOT_PLAIN_START.search("\n" + text[:-1]) is None


def _parse_mixed(lines: list[str], rows: list[str], width: int) -> list[Any]:
    """Parse a run with some lines that are not plain: those line by line, the rest in bulk."""
    plain = []
    for row in rows:
        try:
            plain.append(_plain(row + "\n") and len(list(map(float, row.split(",")))) == width)
        except ValueError:
            plain.append(False)
    if all(plain):  # numpy refused what float() reads: never expected, but never loop
        return list(map(parse_line, lines))
    out: list[Message | Dropped | SampleBlock] = []
    for start, end in _runs(plain):
        if plain[start]:
            out += _parse_run(lines[start:end], width)
        else:
            out += map(parse_line, lines[start:end])
    return out


def _block(numbers: np.ndarray, text: str) -> SampleBlock:
    import numpy as np

    seqs, times = numbers[:, 0].astype(np.int64), numbers[:, 1].astype(np.int64)
    values = np.ascontiguousarray(numbers[:, 2:])
    return SampleBlock(seqs, times, values, text.encode("ascii"))
