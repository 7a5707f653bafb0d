"""The shape of a stream: which samples belong to a session, their names, restarts and timing.

The hello is the authority. Its field count sets the width of every sample, whatever the first
sample looks like; a stream without a hello takes its width from its first valid sample, and
its names from a CSV header line of that width. A hello that arrives before any sample (a board
that resets when the port opens prints it 1-3 s late) fills in the session's metadata.

A restart is a hello after samples, or a sample whose sequence number and clock both went back
(:meth:`~tinybench.wire.streams.SequenceTracker.is_restart`). The session goes on: the restart
is counted in ``restarts``, and the measured rate and the ``seconds`` limit add up the device
time of each stretch between restarts (or between any jumps back of the counter or the clock,
such as ``micros()`` wrapping), so a reset clock never shows as a rate of 0.01 Hz. Windows in
:mod:`tinybench.dataset` never cross a restart (the sequence number jumps). A hello with a
different field count after samples cannot share the session: :meth:`StreamShape.on_hello`
says ``"conflict"`` and the recorder ends the session with ``ended: "error"``.
"""

from __future__ import annotations

import math

from tinybench.capture.names import safe_field_names
from tinybench.wire.batch import SampleBlock
from tinybench.wire.protocol import SEQ_MODULUS, Hello, Sample, value_problem
from tinybench.wire.streams import SequenceTracker

__all__ = ["StreamShape"]

_UNITS = {"a": "g", "g": "dps", "m": "uT"}


class StreamShape:
    """Width, names, loss, restarts and device timing of one session's samples.

    Args:
        hello: The board's hello, if it sent one.
    """

    def __init__(self, hello: Hello | None = None) -> None:
        self.hello: Hello | None = None
        self.header: tuple[str, ...] | None = None
        self.width: int | None = None
        self.count = 0
        self.lost = 0
        self.restarts = 0
        self._tracker = SequenceTracker()
        self.first: Sample | None = None
        self.last: Sample | None = None
        self._segment_first: Sample | None = None
        self._segment_count = 0
        self._closed_span_us = 0
        self._closed_intervals = 0
        if hello is not None:
            self.on_hello(hello)

    # -- what arrives ---------------------------------------------------------------------------

    def on_hello(self, hello: Hello) -> str:
        """Take a hello that arrived in this session.

        Returns:
            ``"adopted"`` before any sample (metadata and width come from it), ``"restart"``
            after samples with the same width (counted), ``"conflict"`` after samples with
            another width (the session cannot go on).
        """
        width = len(hello.fields) or None
        if self.count == 0:
            self.hello, self.width = hello, width
            return "adopted"
        if width is not None and width != self.width:
            return "conflict"
        if self.hello is None:
            self.hello = hello
        self._close_segment()
        self.restarts += 1
        return "restart"

    def on_header(self, fields: tuple[str, ...]) -> None:
        """Take a CSV header line; it names the fields if it comes before the first sample."""
        if self.count == 0:
            self.header = fields

    def problem(self, sample: Sample) -> str | None:
        """Return why ``sample`` cannot join the session, or ``None`` if it can.

        Reasons: ``non-finite`` and ``out-of-range`` (the wire's
        :func:`~tinybench.wire.protocol.value_problem`: the link already drops such lines, this
        guards samples from anywhere else), ``wrong-width`` (another number of values than the
        session's).
        """
        values = sample.values
        reason = value_problem(values)
        if reason is not None:
            return reason
        if self.width is not None and len(values) != self.width:
            return "wrong-width"
        return None

    def add(self, sample: Sample) -> None:
        """Append a sample that passed :meth:`problem`: count loss, restarts and timing."""
        if self.width is None:
            self.width = len(sample.values)
        last, tracker = self.last, self._tracker
        restart = went_back = False
        if sample.seq is not None:
            restart = tracker.is_restart(sample.seq, sample.t_us)
            went_back = tracker.went_back(sample.seq)
            tracker.update(sample.seq, sample.t_us)
            self.lost = tracker.lost
        if last is None:
            self.first = sample
        elif self._segment_first is not None and (
            went_back or (last.t_us is not None and (sample.t_us or 0) < last.t_us)
        ):
            # A new stretch of device time: a restart, or a clock or counter that went back.
            self._close_segment()
            self.restarts += restart
        if self._segment_first is None:
            self._segment_first = sample
        self._segment_count += 1
        self.last = sample
        self.count += 1

    def block_fits(self, block: SampleBlock) -> bool:
        """True when ``block`` simply continues the session, so :meth:`add_block` can take it.

        That is: the session's width, sequence numbers that follow on from the last one without
        a gap or a wrap, and a clock that never goes back. (Its values are finite and within
        float32: the wire's parser makes blocks of such lines only.)
        """
        last = self.last
        if last is None or last.seq is None or last.t_us is None or self.width is None:
            return False
        if block.values.shape[1] != self.width or int(block.seqs[0]) != last.seq + 1:
            return False
        return int(block.t_us[0]) >= last.t_us and block.steady

    def add_block(self, block: SampleBlock) -> None:
        """Append a block that passed :meth:`block_fits`: no loss, no restart."""
        self._tracker.update_block(block)
        self._segment_count += len(block)
        self.count += len(block)
        self.last = block.last

    def _close_segment(self) -> None:
        span, intervals = self._segment()
        self._closed_span_us += span
        self._closed_intervals += intervals
        self._segment_first, self._segment_count = None, 0

    def _segment(self) -> tuple[int, int]:
        """Device microseconds and sample intervals of the stretch since the last restart."""
        first, last = self._segment_first, self.last
        if first is None or last is None or first.t_us is None or last.t_us is None:
            return 0, 0
        if first.seq is not None and last.seq is not None:
            intervals = (last.seq - first.seq) % SEQ_MODULUS
        else:
            intervals = self._segment_count - 1
        return last.t_us - first.t_us, intervals

    # -- what it adds up to ---------------------------------------------------------------------

    @property
    def timestamped(self) -> bool:
        """True when the samples carry device timestamps."""
        return self.first is not None and self.first.t_us is not None

    def elapsed_us_with(self, sample: Sample) -> float | None:
        """Device time from the first sample to ``sample`` (restarts excluded), or ``None``."""
        first = self._segment_first
        if sample.t_us is None or first is None or first.t_us is None:
            return None
        if sample.t_us < first.t_us:  # a restart: ``sample`` starts a stretch of its own
            return float(self._closed_span_us + self._segment()[0])
        return float(self._closed_span_us + sample.t_us - first.t_us)

    def device_rate_hz(self) -> float | None:
        """Rate from device timestamps (lost samples' intervals included), or ``None``."""
        span, intervals = self._segment()
        span += self._closed_span_us
        intervals += self._closed_intervals
        if span <= 0 or intervals <= 0:
            return None
        return round(intervals * 1e6 / span, 2)

    def device_fields(self) -> tuple[str, ...]:
        """Field names as the device gave them (``v0``, ``v1``, … when it gave none)."""
        width = self.width or 0
        hello = self.hello
        if hello is not None and len(hello.fields) == width:
            return hello.fields
        if self.header is not None and len(self.header) == width:
            return self.header
        return tuple(f"v{i}" for i in range(width))

    def fields(self) -> tuple[str, ...]:
        """Field names safe as CSV columns (see :mod:`tinybench.capture.names`)."""
        return safe_field_names(self.device_fields())

    def units(self) -> list[str]:
        """Unit of each field: the hello's, else guessed from IMU-style names (``ax``, ``gY``)."""
        width, hello = self.width or 0, self.hello
        if hello is not None and len(hello.units) == width:
            return list(hello.units)
        names = self.device_fields()
        return [_UNITS.get(f[:1].lower(), "") if len(f) == 2 else "" for f in names]

    def hello_rate_hz(self) -> float | None:
        """The hello's nominal rate, if it gave a finite, positive one."""
        rate = self.hello.rate_hz if self.hello is not None else 0.0
        return float(rate) if math.isfinite(rate) and rate > 0 else None
