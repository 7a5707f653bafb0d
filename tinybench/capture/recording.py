"""One session while it records: what the link delivers, what goes to disk, how it ended.

A :class:`Recording` takes batches of messages on the link's reader thread (:meth:`take`)
and hands the accepted samples, as CSV rows, to the recorder's worker thread, which appends
them to the session's partial file (:meth:`write_pending`) several times a second. Only rows
not yet on disk and a short tail for the live plot are held in memory.

At full speed the link delivers runs of sample lines as one
:class:`~tinybench.wire.batch.SampleBlock`; a block that simply continues the session is taken
whole: its rows are the text the device sent, kept as one ``bytes``, with no object per
sample. Anything else (a gap, a restart, a limit reached, a plain stream) goes sample by
sample, and such rows are written with :func:`~tinybench.capture.sessions.csv_rows`.

A blank line ends a session of a plain stream (no hello): the Arduino ``IMU_Capture`` sketch
prints one after each capture. The messages after it are kept for the next session.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinybench.capture.metadata import hello_to_dict, session_meta
from tinybench.capture.partial import PartialSession
from tinybench.capture.sessions import csv_rows
from tinybench.capture.stream_shape import StreamShape
from tinybench.errors import ConfigError
from tinybench.wire.batch import SampleBlock
from tinybench.wire.protocol import DeviceError, Dropped, Header, Hello, Message, Sample

__all__ = ["Limits", "Recording", "require_positive"]

TAIL_SAMPLES = 2048


def require_positive(value: float | None, what: str, *, integer: bool = False) -> None:
    """Refuse a limit, timeout or rate that is not a finite positive number (or a whole one).

    Raises:
        ConfigError: The message names the value and what it must be.
    """
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value > 0
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "a whole number of at least 1" if integer else "a finite number above 0"
        raise ConfigError(f"{what} must be {kind}, got {value!r}.")


@dataclass(frozen=True)
class Limits:
    """When a session ends on its own.

    Attributes:
        seconds: Seconds of signal (board clock when samples carry timestamps, else host).
        samples: Number of samples.
    """

    seconds: float | None = None
    samples: int | None = None


class Recording:
    """The state of one session being recorded.

    Args:
        partial: The reserved session and its partial file.
        draft: What is known at the start (dataset, label, session, started_at, rate_hz).
        hello: The board's hello, or ``None`` for a plain stream.
        limits: When the session ends on its own.
        header: The last CSV header line the stream sent (a sketch prints it once, at boot).
    """

    def __init__(
        self,
        partial: PartialSession,
        draft: dict[str, Any],
        hello: Hello | None,
        limits: Limits,
        header: tuple[str, ...] | None = None,
    ) -> None:
        self.partial, self.draft, self.limits = partial, draft, limits
        self.label: str = draft["label"]
        self.shape = StreamShape(hello)
        self.shape.header = header
        self.plain = hello is None
        self.lock = threading.Lock()
        self.pending: list[bytes] = []  # CSV rows not yet on disk
        self.pending_count = 0  # samples in them
        self._tail: deque[np.ndarray | Sequence[float]] = deque()  # values, newest last
        self._tail_count = 0
        self.drops: Counter[str] = Counter()
        self.device_errors: list[str] = []
        self.t0 = self.last_arrival = time.monotonic()
        self.arrivals: list[tuple[float, int]] = []  # first and latest (time, count)
        self.full = False
        self.ended = "complete"
        self.error: str | None = None
        self.resend = False  # the board must be asked to stream again (late hello, restart)
        self.carry: list[Message] = []  # messages after a blank line: the next session's
        self.dropped_before: Counter[str] = Counter()  # the link's drop counts at the start
        self.dropped: dict[str, int] = {}  # the link's drops during the session, at the end
        partial.write_draft({**draft, "hello": hello_to_dict(hello)})

    # -- the reader thread --------------------------------------------------------------------

    def take(self, batch: list[Message | SampleBlock]) -> None:
        """Take a batch of messages from the link (called on its reader thread)."""
        now = time.monotonic()
        with self.lock:
            before = self.shape.count
            for index, message in enumerate(batch):
                kind = type(message)
                if kind is SampleBlock:
                    if self.full or not self._take_block(message):
                        break
                elif kind is Sample:
                    if self.full or not self._take_sample(message):
                        break
                elif kind is Hello:
                    self._take_hello(message)
                elif kind is Header:
                    self.shape.on_header(message.fields)
                elif kind is DeviceError:
                    self.device_errors.append(message.message)
                elif kind is Dropped and self._ends_capture(message):
                    self.full = True  # a blank line ends an IMU_Capture capture
                    self.carry = batch[index + 1 :]
                    break
            if self.shape.count > before:
                self.arrivals[min(1, len(self.arrivals)) :] = [(now, self.shape.count)]
                self.last_arrival = now

    def _take_block(self, block: SampleBlock) -> bool:
        """Take a block whole if it simply continues the session, else sample by sample."""
        shape, limits = self.shape, self.limits
        whole = shape.block_fits(block) and (
            limits.samples is None or shape.count + len(block) < limits.samples
        )
        if whole and limits.seconds is not None:
            elapsed = shape.elapsed_us_with(block.last)
            whole = elapsed is not None and elapsed < limits.seconds * 1e6
        if whole:
            shape.add_block(block)
            self._keep(block.rows, len(block), block.values)
            return True
        for sample, row in zip(block.samples(), block.row_list(), strict=True):
            if self.full or not self._take_sample(sample, row):
                return False
        return True

    def _keep(self, rows: bytes, count: int, values: np.ndarray | Sequence[float]) -> None:
        """Hold accepted rows for the worker, and their values for the live plot."""
        self.pending.append(rows)
        self.pending_count += count
        self._tail.append(values)
        self._tail_count += count
        while self._tail_count - _rows(self._tail[0]) >= TAIL_SAMPLES:
            self._tail_count -= _rows(self._tail.popleft())

    def latest(self, n: int) -> np.ndarray:
        """The last ``n`` samples' values (at most :data:`TAIL_SAMPLES`), shape ``(≤n, width)``."""
        with self.lock:
            parts, count = [], 0
            for part in reversed(self._tail):
                if count >= n:
                    break
                parts.append(np.atleast_2d(np.asarray(part, dtype=float)))
                count += _rows(part)
        if not parts:
            return np.empty((0, self.shape.width or 0))
        return np.concatenate(parts[::-1])[-n:]

    def _ends_capture(self, dropped: Dropped) -> bool:
        """A blank line after samples of a plain stream ends the capture."""
        return dropped.reason == "empty" and self.plain and self.shape.count > 0

    def _take_sample(self, sample: Sample, row: bytes | None = None) -> bool:
        """Add ``sample`` unless it is invalid; return False once the session is full.

        ``row`` is its CSV row as the device sent it, if known.
        """
        shape, limits = self.shape, self.limits
        if limits.samples is not None and shape.count >= limits.samples:
            self.full = True
            return False
        reason = shape.problem(sample)
        if reason is not None:
            self.drops[reason] += 1
            return True
        if limits.seconds is not None:
            elapsed = shape.elapsed_us_with(sample)
            if elapsed is not None and elapsed >= limits.seconds * 1e6:
                self.full = True
                return False
        shape.add(sample)
        self._keep(row if row is not None else csv_rows([sample]), 1, sample.values)
        if limits.samples is not None and shape.count >= limits.samples:
            self.full = True
            return False
        return True

    def _take_hello(self, hello: Hello) -> None:
        outcome = self.shape.on_hello(hello)
        if outcome == "conflict":
            self.full, self.ended = True, "error"
            self.error = (
                f"the board restarted with {len(hello.fields)} fields {list(hello.fields)} "
                f"instead of {self.shape.width}; record the new shape as a new session"
            )
            return
        self.plain = False
        self.resend = True

    # -- the worker thread --------------------------------------------------------------------

    def write_pending(self) -> None:
        """Append the samples received since the last call to the partial file.

        Raises:
            OSError: The write failed; the samples stay pending for the next call.
        """
        with self.lock:
            pending, count = self.pending, self.pending_count
            self.pending, self.pending_count = [], 0
            fields = self.shape.fields()
        if not count:
            return
        try:
            self.partial.append_rows(fields, b"".join(pending), count)
        except OSError:
            with self.lock:
                self.pending[:0] = pending
                self.pending_count += count
            raise

    def write_draft(self) -> None:
        """Rewrite the draft sidecar (after a late hello changed what is known)."""
        self.partial.write_draft({**self.draft, "hello": hello_to_dict(self.shape.hello)})

    def host_rate_hz(self) -> float | None:
        """Rate from the host's arrival times, or ``None`` before two batches arrived."""
        if len(self.arrivals) < 2:
            return None
        (t_first, n_first), (t_last, n_last) = self.arrivals
        return round((n_last - n_first) / (t_last - t_first), 2) if t_last > t_first else None

    def rate_hz(self) -> float | None:
        """Rate measured so far: from device timestamps when there are any."""
        with self.lock:
            if self.shape.timestamped:
                return self.shape.device_rate_hz()
            return self.host_rate_hz()

    def meta(self, dropped: dict[str, int]) -> dict[str, Any]:
        """The session's sidecar; ``dropped`` are the link's drops during the session."""
        return session_meta(
            self.draft,
            self.shape,
            ended=self.ended,
            host_rate_hz=self.host_rate_hz(),
            dropped={**dropped, **dict(sorted(self.drops.items()))},
            error=self.error,
            device_errors=self.device_errors,
        )


def _rows(values: np.ndarray | Sequence[float]) -> int:
    """Samples in a tail entry: a block's 2-D values, or one sample's values."""
    return len(values) if isinstance(values, np.ndarray) else 1
