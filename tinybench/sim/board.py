"""The virtual board: a board profile, a synthetic sensor and TFLM, speaking protocol v1.

:class:`VirtualBoard` answers every host command the way the tinybench sketches do. It streams
samples from a :class:`~tinybench.sim.synth.GestureSynth` (or any source with the same shape) at
the board's IMU rate, or as fast as possible with ``speed=0``. Given an exported model, it runs
inference with the TensorFlow Lite Micro interpreter, the same kernels as on the device, and
answers ``v`` with the raw output tensor, bit for bit what TFLM computes on the host.

It can misbehave on purpose, to test the host (:mod:`tinybench.sim.faults`): ``garble``
corrupts lines so their checksum fails, ``drop`` skips samples so sequence numbers show gaps,
and ``unplug_after`` (or :meth:`VirtualBoard.unplug`) pulls the cable. :meth:`VirtualBoard.reset`
presses its reset button: it boots again, prints its hello and counts from 0.

The board is transport-agnostic. Two transports carry it:

- ``sim://nano33ble?seed=1``, the pyserial URL handler in
  :mod:`tinybench.sim.urlhandler.protocol_sim`, in-process;
- a pseudo-terminal from :func:`~tinybench.sim.pty.serve_pty` (``tinybench simulate``
  prints its path), for any program that opens a serial device.

The model side (loading the export, normalizing, quantizing, TFLM, the sliding window) is in
:mod:`tinybench.sim.model_runner`. Full-speed streaming formats whole blocks of sample lines with
:func:`~tinybench.wire.formatting.format_samples` (numpy, checksums included), so the board produces
far more than 100,000 lines/s and the host's reader is what is measured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinybench.boards import Board, get_board
from tinybench.errors import ConfigError, ProtocolError, TinybenchError
from tinybench.sim.faults import Faults
from tinybench.sim.model_runner import SimModel, SlidingWindows
from tinybench.sim.pacing import Pacer
from tinybench.sim.sensor_feed import SensorFeed, sensor_at_rate
from tinybench.wire.commands import parse_command
from tinybench.wire.formatting import (
    format_error,
    format_hello,
    format_output,
    format_prediction,
    format_samples,
)
from tinybench.wire.protocol import SEQ_MODULUS, Hello

__all__ = ["NO_MODEL_MESSAGE", "VirtualBoard"]

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = "no model loaded; export one and open sim://nano33ble?model=build/export/<name>"
_FULL_SPEED_BLOCK = 2048  # samples per formatted block at speed=0
_PACED_BLOCK = 32  # samples computed at once by the source when paced

Sink = Callable[[bytes], None]


class VirtualBoard:
    """A board that answers protocol v1 from a synthetic sensor and, optionally, a model.

    Connect a transport with :meth:`attach`, then give it every command line with
    :meth:`handle` (it returns the reply lines); streamed lines go to the attached sink from
    a background thread.

    Args:
        board: Board profile name (or :class:`~tinybench.boards.Board`); sets the sample rate.
        source: The sensor: anything with ``fields``, ``units``, ``rate_hz`` and
            ``stream(block)``, and for ``g`` ``labels`` and ``perform(label)``. Default:
            ``GestureSynth(seed, rate_hz=board.imu_rate_hz)``.
        model: An export folder (read with ``tinybench.deploy.exported.load_exported``) or an
            ``ExportedModel``; enables ``i`` and ``v``.
        seed: Seed of the default source.
        speed: Pace as a multiple of the board's rate; 0 streams as fast as possible.
            Timestamps ``t_us`` always follow the nominal rate.
        checksum: Append ``*HH`` checksums to every line.
        garble: Probability that a streamed line is corrupted so its checksum fails.
        drop: Probability that a sample is skipped, leaving a gap in sequence numbers.
        unplug_after: Unplug after this many samples (sent or dropped).
        fault_seed: Seed of the garble/drop draws; default ``seed``.

    Raises:
        ConfigError: An argument is out of range, the board is unknown, or the model does
            not fit the board or the sensor.
    """

    def __init__(
        self,
        board: str | Board = "nano33ble",
        source: Any = None,
        model: Any = None,
        *,
        seed: int = 0,
        speed: float = 1.0,
        checksum: bool = True,
        garble: float = 0.0,
        drop: float = 0.0,
        unplug_after: int | None = None,
        fault_seed: int | None = None,
    ) -> None:
        self.board = get_board(board)
        if not speed >= 0:
            raise ConfigError(f"speed must be >= 0 (0 = as fast as possible), got {speed!r}.")
        fault_seed = seed if fault_seed is None else fault_seed
        self.faults = Faults(garble=garble, drop=drop, unplug_after=unplug_after, seed=fault_seed)
        self.rate_hz = self.board.imu_rate_hz
        self.source = sensor_at_rate(source, seed, self.rate_hz, self.board.name)
        self.seed, self.speed, self.checksum = seed, float(speed), bool(checksum)
        self.model = SimModel(model, self.board) if model is not None else None
        if self.model is not None:
            self.model.check_sensor(tuple(self.source.fields), self.rate_hz, self.board.name)
        self._sink: Sink | None = None
        self._on_unplug: Callable[[], None] | None = None
        self._cond = threading.Condition()
        self._mode: str | None = None  # "c" streaming samples, "i" inference, None idle
        self._epoch = 0  # bumped by every mode change, so inference restarts its window
        self._stopping = False
        self._unplugged = False
        self._thread: threading.Thread | None = None
        self._boot()
        self._pacer = Pacer(self.rate_hz, self.speed, _FULL_SPEED_BLOCK)
        block = _FULL_SPEED_BLOCK if self.speed == 0 else _PACED_BLOCK
        self._feed = SensorFeed(self.source, block)
        self._windows: SlidingWindows | None = None
        if self.model is not None and self.model.window is not None:
            fields = len(self.source.fields)
            self._windows = SlidingWindows(self.model.window, self.model.stride, fields)

    def _boot(self) -> None:
        """Start the board's counters and clock from 0, as at power-on."""
        self._boot_time = time.monotonic()
        self._produced = 0  # samples taken from the sensor (sent or dropped)
        self._next_t_us = 0
        self._pred_seq = 0
        self._out_seq = 0

    def __repr__(self) -> str:
        return (
            f"VirtualBoard({self.board.name!r}, seed={self.seed}, speed={self.speed:g}, "
            f"model={'yes' if self.model else 'no'})"
        )

    # -- transport side -------------------------------------------------------------------

    def attach(self, sink: Sink, on_unplug: Callable[[], None] | None = None) -> None:
        """Send streamed lines to ``sink`` and report an unplug to ``on_unplug``.

        ``sink`` is called from the board's thread with ASCII bytes; it may block to apply
        back-pressure and must not raise.
        """
        self._sink, self._on_unplug = sink, on_unplug

    @property
    def hello(self) -> Hello:
        """The board's self-description, with ``virtual=1``."""
        extra = {"seed": str(self.seed)}
        if self.board.imu:
            extra["imu"] = self.board.imu
        gestures = getattr(self.source, "labels", ())
        if gestures and hasattr(self.source, "perform"):
            extra["gestures"] = ",".join(gestures)
        if self.model is not None:
            extra["latency"] = "host"  # latency_us is the host's TFLM Invoke time
        return Hello(
            board=self.board.name,
            sensor="imu",
            rate_hz=self.rate_hz,
            fields=tuple(self.source.fields),
            labels=self.model.labels if self.model is not None else (),
            virtual=True,
            units=tuple(getattr(self.source, "units", ())),
            extra=extra,
        )

    @property
    def unplugged(self) -> bool:
        """True once the board has been unplugged."""
        return self._unplugged

    @property
    def mode(self) -> str | None:
        """``"c"`` while streaming samples, ``"i"`` during inference, ``None`` when idle."""
        return self._mode

    def handle(self, line: str | bytes) -> list[str]:
        """Execute one command line from the host and return the reply lines.

        Never raises for bad input: errors are answered with ``!`` lines, as a sketch would.
        """
        if self._unplugged:
            return []
        text = line.decode("latin-1") if isinstance(line, bytes) else line
        if not text.strip():
            return []
        try:
            command = parse_command(text)
        except ProtocolError as exc:
            return [self._error(str(exc))]
        kind = command.kind
        if kind == "?":
            return [format_hello(self.hello, add_checksum=self.checksum)]
        if kind == "x":
            self._set_mode(None)
            return []
        if kind == "c":
            self._set_mode("c")
            return []
        if kind == "g":
            return self._perform(command.payload.decode("ascii"))
        if self.model is None:
            return [self._error(NO_MODEL_MESSAGE)]
        if kind == "i":
            if self.model.window is None:
                return [self._error("the model takes no window of samples; only 'v' works")]
            self._set_mode("i")
            return []
        return [self._validate(command.payload)]

    def unplug(self) -> None:
        """Pull the cable: stop at once and tell the transport, which reports it to the host."""
        with self._cond:
            if self._unplugged:
                return
            self._unplugged = self._stopping = True
            self._mode = None
            self._epoch += 1
            self._cond.notify_all()
        log.info("virtual %s unplugged after %d samples", self.board.name, self._produced)
        if self._on_unplug is not None:
            self._on_unplug()

    def reset(self, *, stream: bool = True) -> None:
        """Press the reset button: boot again, print the hello, count from 0.

        The sequence numbers of samples, predictions and outputs start again at 0 and the
        device clock ``t_us`` at the boot, as on a board that resets mid-session.

        Args:
            stream: Go on streaming (or inferring) after the boot hello, as a sketch that starts
                streaming in ``setup()`` does; ``False`` comes back idle, as the tinybench
                capture sketch does until the host sends ``c`` again.
        """
        with self._cond:
            if self._unplugged:
                return
            mode = self._mode if stream else None
            self._boot()
            self._mode = None
            self._epoch += 1
            self._feed.discard_pending()
            if self._sink is not None:
                self._sink(format_hello(self.hello, add_checksum=self.checksum).encode("ascii"))
            self._cond.notify_all()
        log.info("virtual %s reset", self.board.name)
        if mode is not None:
            self._set_mode(mode)

    def close(self) -> None:
        """Stop the board's thread (the transport is closing). Safe to call twice."""
        with self._cond:
            self._stopping = True
            self._mode = None
            self._epoch += 1
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    # -- commands -------------------------------------------------------------------------

    def _error(self, message: str) -> str:
        return format_error(message, add_checksum=self.checksum)

    def _set_mode(self, mode: str | None) -> None:
        with self._cond:
            if mode == self._mode:
                return
            if self._mode is None:  # starting: the clock starts now
                now_us = int((self._pacer.start() - self._boot_time) * 1e6)
                self._next_t_us = max(self._next_t_us, now_us)
            self._mode = mode
            self._epoch += 1
            if mode is not None and self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name=f"virtual {self.board.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _perform(self, gesture: str) -> list[str]:
        known = tuple(getattr(self.source, "labels", ()))
        if not hasattr(self.source, "perform"):
            return [self._error("this sensor cannot perform gestures; 'g' needs GestureSynth")]
        if gesture not in known:
            return [self._error(f"unknown gesture {gesture!r}; known: {', '.join(known)}")]
        with self._cond:
            # Between recordings nobody sees the arm move: start the new gesture clean.
            self.source.perform(gesture, fade=self._mode is not None)
        with self._cond:
            self._feed.discard_pending()
        return []

    def _validate(self, payload: bytes) -> str:
        assert self.model is not None
        spec = self.model.runner.input
        if len(payload) != self.model.input_bytes:
            return self._error(
                f"v needs {self.model.input_bytes} bytes, the input tensor {spec.shape} "
                f"{spec.dtype}; got {len(payload)}"
            )
        data = self.model.run_raw(payload)
        with self._cond:
            seq, self._out_seq = self._out_seq, self._out_seq + 1
        return format_output(seq, data, add_checksum=self.checksum)

    # -- streaming ------------------------------------------------------------------------

    def _run(self) -> None:
        seen = -1
        while True:
            # Produce and hand over each block under the board's lock, so a block of an old
            # mode or gesture can never arrive after the answer to a later command.
            with self._cond:
                while self._mode is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                mode, epoch = self._mode, self._epoch
                n = self._pacer.due(self._cond.wait)
                if n == 0:
                    continue
                n = self.faults.allowed(self._produced, n)
                first, t0 = self._produced, self._next_t_us
                self._produced += max(n, 0)
                self._pacer.advance(max(n, 0))
                self._next_t_us = t0 + round(max(n, 0) * 1e6 / self.rate_hz)
                if epoch != seen:  # a new mode: inference starts with an empty window
                    seen = epoch
                    if self._windows is not None:
                        self._windows.restart()
                if n > 0:
                    try:
                        values = self._feed.take(n)
                    except StopIteration:  # a recorded source ran out: the board goes away
                        self.unplug()
                        return
                    try:
                        data = (
                            self._samples(first, t0, values) if mode == "c" else self._infer(values)
                        )
                    except TinybenchError as exc:  # the interpreter failed: say so, stop
                        log.warning("virtual %s: %s", self.board.name, exc)
                        data = self._error(f"inference failed: {exc}").encode("ascii")
                        self._set_mode(None)
                    if data and self._sink is not None:
                        self._sink(data)
                if self.faults.unplug_due(self._produced):
                    self.unplug()
                    return

    def _samples(self, first: int, t0: int, values: np.ndarray) -> bytes:
        n = len(values)
        index = np.arange(first, first + n, dtype=np.int64)
        t_us = t0 + np.rint((index - first) * (1e6 / self.rate_hz)).astype(np.int64)
        keep = self.faults.kept(n)
        if keep is not None:
            index, t_us, values = index[keep], t_us[keep], values[keep]
        garble = self.faults.garbled(len(index))
        return format_samples(
            index % SEQ_MODULUS, t_us, values, add_checksum=self.checksum, garble=garble
        )

    def _infer(self, values: np.ndarray) -> bytes:
        model = self.model
        assert model is not None and self._windows is not None
        lines = []
        for window in self._windows.push(values):
            scores, latency = model.predict(window)
            line = format_prediction(self._pred_seq, latency, scores, add_checksum=self.checksum)
            self._pred_seq += 1
            lines.append(self.faults.maybe_garble(line, self.checksum))
        return "".join(lines).encode("ascii")
