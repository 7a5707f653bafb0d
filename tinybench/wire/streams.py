"""Byte streams to lines, and sequence numbers to lost samples and restarts.

:class:`LineSplitter` turns the chunks a port returns into lines, dropping a line longer than
:data:`~tinybench.wire.protocol.MAX_LINE_BYTES` whole, however many reads it spans.
:class:`SequenceTracker` counts the samples lost in gaps of the 32-bit sequence numbers and tells
a wrap-around from a board restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.wire.protocol import MAX_LINE_BYTES, SEQ_MODULUS

if TYPE_CHECKING:
    from tinybench.wire.batch import SampleBlock

__all__ = ["LineSplitter", "SequenceTracker"]


class LineSplitter:
    r"""Split a byte stream into lines, keeping a partial line between chunks.

    A line longer than :data:`~tinybench.wire.protocol.MAX_LINE_BYTES` (without its ``\\n``)
    is dropped whole: the splitter stops keeping it as soon as it is too long, discards
    everything up to the next newline, however many chunks that takes, and counts it once in
    :attr:`overflows`. Its tail is never taken for a line of its own, and a device that never
    sends ``\\n`` cannot grow memory without bound.

    Attributes:
        overflows: Over-long lines dropped since the reader last reset this counter.
    """

    def __init__(self) -> None:
        self._partial = b""
        self._discarding = False  # inside an over-long line, until its newline
        self.overflows = 0

    def feed(self, data: bytes) -> list[str]:
        """Add ``data`` and return every complete line, decoded as Latin-1."""
        if self._discarding:
            end = data.find(b"\n")
            if end < 0:
                return []
            self._discarding = False
            data = data[end + 1 :]
        if self._partial:
            data = self._partial + data
        lines = data.decode("latin-1").split("\n")
        last = lines.pop()
        if len(last) > MAX_LINE_BYTES:
            self.overflows += 1
            self._discarding = True
            last = ""
        self._partial = last.encode("latin-1")
        if len(data) > MAX_LINE_BYTES and lines and max(map(len, lines)) > MAX_LINE_BYTES:
            kept = [line for line in lines if len(line) <= MAX_LINE_BYTES]
            self.overflows += len(lines) - len(kept)
            return kept
        return lines


class SequenceTracker:
    """Count samples lost from gaps in 32-bit sequence numbers, and board restarts.

    A jump forward of ``n`` means ``n`` samples were lost. A jump backward by more than half the
    sequence space is a wrap-around. Any other jump backward is counted in :attr:`restarts` and
    never as loss; :meth:`is_restart` tells whether a sample means the board itself restarted
    (its sequence number and its clock both went back, towards 0), so a recorder can close the
    session there and start a new one.

    Attributes:
        last: The last sequence number recorded, or ``None``.
        last_t_us: The device time of the last recorded sample, or ``None``.
        received: Sequence numbers recorded.
        lost: Samples missing from gaps.
        restarts: Jumps backwards that were not a wrap-around.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.last_t_us: int | None = None
        self.received = 0
        self.lost = 0
        self.restarts = 0

    def update(self, seq: int, t_us: int | None = None) -> int:
        """Record ``seq`` (and its device time) and return how many samples were lost before it."""
        self.received += 1
        last, self.last = self.last, seq
        if t_us is not None:
            self.last_t_us = t_us
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

    def update_block(self, block: SampleBlock) -> int:
        """Record every sample of ``block`` in order; return how many were lost before them."""
        seqs, times = block.seqs, block.t_us
        lost = self.update(int(seqs[0]), int(times[0]))
        if len(block) == 1:
            return lost
        if not block.steady:  # a gap, restart or wrap inside the block: one by one
            return lost + sum(map(self.update, seqs[1:].tolist(), times[1:].tolist()))
        self.received += len(block) - 1
        self.last, self.last_t_us = int(seqs[-1]), int(times[-1])
        return lost

    def went_back(self, seq: int) -> bool:
        """True when ``seq`` is behind the last one recorded (and not a wrap-around)."""
        if self.last is None:
            return False
        return (seq - self.last - 1) % SEQ_MODULUS >= SEQ_MODULUS // 2

    def is_restart(self, seq: int, t_us: int | None) -> bool:
        """True when a sample means the board restarted; call it before :meth:`update`.

        A board that resets starts counting again from 0: its sequence number goes back and so
        does its clock (``micros()`` since boot). Both must go back: a sequence number going
        back alone is not a restart of the board, and a clock going back alone is the 32-bit
        ``micros()`` wrapping after 71 minutes. Without device times (``t_us`` is ``None`` for
        this sample or the last one) the sequence number decides.

        Args:
            seq: The new sample's sequence number.
            t_us: The new sample's device time, or ``None``.
        """
        if not self.went_back(seq):
            return False
        if t_us is None or self.last_t_us is None:
            return True
        return t_us < self.last_t_us
