"""The link between the host and a device: one open port and its reader thread.

Every port is opened with :func:`serial.serial_for_url`, so a device path, ``loop://``,
``spy://…``, ``hwgrep://2341`` and tinybench's own ``sim://nano33ble?seed=1`` all work the same
way. A :class:`Link` owns one reader thread. It reads in chunks (``read(in_waiting)``, never
``readline()``, which costs one system call per byte), splits and parses lines, counts what it
drops, and hands batches of messages to its subscribers (``subscribe(callback) ->
Subscription``, ``unsubscribe(subscription)``). Every message reaches them, a hello arriving at
any time included: a board that resets prints a new one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from tinybench.errors import PortError, ProtocolError, UnplugError
from tinybench.wire.batch import SampleBlock, parse_block
from tinybench.wire.commands import format_command
from tinybench.wire.message_queue import MessageQueue
from tinybench.wire.observers import Observers, Subscription
from tinybench.wire.ports import VIRTUAL_BOARD_URL, list_ports_seen
from tinybench.wire.protocol import TOO_LONG, DeviceError, Dropped, Hello, Message, Sample
from tinybench.wire.streams import LineSplitter, SequenceTracker

__all__ = ["Link", "LinkStats", "open_link"]

log = logging.getLogger(__name__)

# The sim:// handler lives in the sim layer; pyserial imports it by name when a sim:// URL is
# opened, so the wire never imports the virtual board.
# sim:// (the virtual board) and qemu:// (the emulated Cortex-M4), registered by name so that
# the wire layer imports neither.
_HANDLER_PACKAGES = ("tinybench.sim.urlhandler", "tinybench.emulate.urlhandler")
for _package in _HANDLER_PACKAGES:
    if _package not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(_package)
_WRITE_TIMEOUT_S = 2.0
# From a fast stream (a read came back with at least _FAST_READ bytes) the reader gathers up
# to _BATCH_BYTES per batch (~1000 sample lines), waiting at most the port's read timeout, and
# only if that is at most _GATHER_TIMEOUT_S.
_FAST_READ = 2048
_BATCH_BYTES = 1 << 16
_GATHER_TIMEOUT_S = 0.1
_READ_ERRORS = (serial.SerialException, OSError, TypeError, AttributeError)

Batch = list[Message]


@dataclass
class LinkStats:
    """Counters kept by a link's reader thread.

    Attributes:
        bytes: Bytes read from the port.
        lines: Complete lines received.
        messages: Lines parsed into messages.
        samples: Sample lines received.
        lost_samples: Samples missing from gaps in sequence numbers.
        restarts: Times the device's sequence numbers jumped backwards (a reset).
        dropped: Dropped lines by reason (``checksum``, ``bad-sample``, …).
        device_errors: ``!`` lines received.
    """

    bytes: int = 0
    lines: int = 0
    messages: int = 0
    samples: int = 0
    lost_samples: int = 0
    restarts: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    device_errors: int = 0

    @property
    def dropped_lines(self) -> int:
        """Total number of dropped lines, over all reasons."""
        return sum(self.dropped.values())


class Link:
    """An open connection to a board (real or virtual) with a background reader.

    Args:
        port: An open pyserial port. The link takes ownership and closes it.
        url: The URL or path it was opened with, for messages.
    """

    def __init__(self, port: serial.SerialBase, url: str | None = None) -> None:
        self.port = port
        self.url = url or getattr(port, "portstr", None) or str(port.port)
        self.stats = LinkStats()
        self.hello: Hello | None = None
        self.error: UnplugError | None = None
        self._tracker = SequenceTracker()
        self._splitter = LineSplitter()
        self._observers = Observers(self)
        self._block_subscriptions: set[Subscription] = set()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read_loop, name=f"link {self.url}", daemon=True
        )
        self._thread.start()

    # -- reading --------------------------------------------------------------------------

    def _read_loop(self) -> None:
        port, stats = self.port, self.stats
        while not self._stop.is_set():
            try:
                data = self._read_available(port)
            except _READ_ERRORS as exc:
                if self._stop.is_set():
                    break
                self._fail(exc)
                return
            if data:
                stats.bytes += len(data)
                try:
                    self._handle(self._splitter.feed(data))
                except Exception as exc:  # a bug must not silently kill the reader
                    log.exception("reader of %s failed", self.url)
                    self._fail(exc)
                    return

    @staticmethod
    def _read_available(port: serial.SerialBase) -> bytes:
        """Read what the port holds; from a fast stream, up to :data:`_BATCH_BYTES` of it.

        A pty or a USB serial port hands out at most 4 KiB per read, about 60 sample lines.
        When a read comes back that large, the stream is fast: the reader reads on until it
        has :data:`_BATCH_BYTES` (a few milliseconds at full speed) or the port's read timeout
        (50 ms from :func:`open_link`) passes, so the batch is parsed in bulk and per-batch
        costs do not hold the reader back. A slow stream (a board at 119 Hz) is handed on as
        soon as it is read, and so is everything from a port with a long or no timeout.
        """
        data = port.read(max(1, port.in_waiting))
        timeout = getattr(port, "timeout", None)
        if len(data) < _FAST_READ or timeout is None or timeout > _GATHER_TIMEOUT_S:
            return data
        try:
            return data + port.read(_BATCH_BYTES - len(data))
        except _READ_ERRORS:
            return data  # kept: the next read fails again and stops the reader

    # Long because it is the reader's one pass over a batch: counting, tracking and delivery.
    def _handle(self, lines: list[str]) -> None:
        stats = self.stats
        stats.lines += len(lines)
        batch: list[Message | SampleBlock] = []
        append = batch.append
        tracker = self._tracker
        samples = blocks = 0
        for message in parse_block(lines):
            kind = type(message)
            if kind is SampleBlock:
                tracker.update_block(message)
                samples += len(message)
                blocks += 1
                append(message)
            elif kind is Sample:
                if message.seq is not None:
                    tracker.update(message.seq)
                append(message)
            elif kind is Dropped:
                if message.reason != "empty":
                    stats.dropped[message.reason] += 1
                    log.debug(
                        "dropped %s line %r: %s", message.reason, message.line, message.detail
                    )
                else:
                    append(message)  # a blank line ends a capture in Arduino's IMU_Capture
            else:
                if kind is Hello:
                    self.hello = message
                elif kind is DeviceError:
                    stats.device_errors += 1
                    log.warning("%s says: %s", self.url, message.message)
                append(message)
        if self._splitter.overflows:
            stats.dropped[TOO_LONG] += self._splitter.overflows
            self._splitter.overflows = 0
        stats.samples = tracker.received
        stats.lost_samples = tracker.lost
        stats.restarts = tracker.restarts
        stats.messages += len(batch) - blocks + samples
        if batch:
            self._deliver(batch)

    def _deliver(self, batch: list[Message | SampleBlock]) -> None:
        """Hand ``batch`` to each subscriber: as it is, or with blocks cut into samples."""
        samples: Batch | None = None
        for subscription in self._observers:
            if subscription in self._block_subscriptions:
                subscription.callback(batch)
                continue
            if samples is None:
                samples = []
                for message in batch:
                    if type(message) is SampleBlock:
                        samples += message.samples()
                    else:
                        samples.append(message)
            subscription.callback(samples)

    def _fail(self, exc: BaseException) -> None:
        self.error = UnplugError(
            f"The board on {self.url} stopped answering ({exc}). It was probably unplugged or "
            "reset. Everything received before this is kept; plug it back in and open the "
            "port again."
        )
        log.warning("%s", self.error)
        for subscription in self._observers:
            if subscription.on_error is not None:
                subscription.on_error(self.error)

    # -- subscribers ----------------------------------------------------------------------

    def subscribe(
        self,
        on_batch: Callable[[Batch], None],
        on_error: Callable[[UnplugError], None] | None = None,
        *,
        blocks: bool = False,
    ) -> Subscription:
        """Call ``on_batch`` from the reader thread with every batch of messages.

        Every message the link parses is delivered, whenever it comes: a :class:`Hello` that
        arrives mid-stream (a board that reset, or a late boot hello) is in the batch like any
        sample, and a blank line comes as a :class:`Dropped` with reason ``empty`` (it ends a
        capture of Arduino's IMU_Capture sketch). Callbacks run on the reader thread, in the
        order they subscribed, so they must be quick. If the link has already failed,
        ``on_error`` is called at once.

        Args:
            on_batch: Called with each non-empty list of messages.
            on_error: Called once with the :class:`~tinybench.errors.UnplugError` that stopped
                the reader.
            blocks: Deliver runs of checksummed sample lines as one
                :class:`~tinybench.wire.batch.SampleBlock` each (arrays and the lines' text,
                no object per sample) instead of one :class:`Sample` per line: the
                recorder's full-speed path.

        Returns:
            The subscription; pass it to :meth:`unsubscribe` (or close it) to stop.
        """
        subscription = self._observers.add(on_batch, on_error)
        if blocks:
            self._block_subscriptions.add(subscription)
        if self.error is not None and on_error is not None:
            on_error(self.error)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop calling the subscription's callbacks; one already removed is ignored."""
        self._observers.remove(subscription)
        self._block_subscriptions.discard(subscription)

    # -- writing --------------------------------------------------------------------------

    def send(self, kind: str, payload: bytes = b"") -> None:
        """Send a host command (``?``, ``c``, ``x``, ``i`` or ``v`` with a payload).

        Raises:
            ProtocolError: ``kind`` is not a command.
            UnplugError: The board is gone.
        """
        line = format_command(kind, payload).encode("ascii")
        self._check_alive()
        try:
            with self._write_lock:
                self._allow_time_for(len(line))
                self.port.write(line)
                self.port.flush()
        except (serial.SerialException, OSError) as exc:
            self._fail(exc)
            raise self.error from exc

    def _allow_time_for(self, length: int) -> None:
        """Give a write of ``length`` bytes twice its time on the wire, plus the base timeout.

        A ``v`` line with a large input (55 KB for VWW) takes 4.8 s at 115200 baud, far past the
        base timeout; small commands keep the base, so the port is reconfigured only for those.
        """
        baudrate = getattr(self.port, "baudrate", None) or 115200
        needed = _WRITE_TIMEOUT_S + 2 * length * 10 / baudrate
        target = _WRITE_TIMEOUT_S if needed < 1.5 * _WRITE_TIMEOUT_S else round(needed, 1)
        if self.port.write_timeout != target:
            self.port.write_timeout = target

    def request(
        self,
        kind: str,
        expect: type | tuple[type, ...],
        *,
        payload: bytes = b"",
        timeout: float = 2.0,
        match: Callable[[Message], bool] | None = None,
    ) -> Message:
        """Send a command and wait for the first message of the ``expect`` type.

        Raises:
            PortError: No such message arrived within ``timeout`` seconds.
            UnplugError: The board went away while waiting.
        """
        deadline = time.monotonic() + timeout
        with MessageQueue(self) as messages:
            self.send(kind, payload)
            while (left := deadline - time.monotonic()) > 0:
                for message in messages.get(timeout=min(left, 0.1)):
                    if isinstance(message, expect) and (match is None or match(message)):
                        return message
        names = (
            expect.__name__ if isinstance(expect, type) else "/".join(e.__name__ for e in expect)
        )
        raise PortError(
            f"No {names} from {self.url} within {timeout:g} s after sending {kind!r}. Is a "
            "tinybench sketch running on the board, at 115200 baud? Try the virtual board: "
            f"{VIRTUAL_BOARD_URL}"
        )

    def request_hello(self, timeout: float = 2.0) -> Hello:
        """Ask the board to describe itself with ``?`` and return its hello."""
        hello = self.request("?", Hello, timeout=timeout)
        assert isinstance(hello, Hello)
        return hello

    def _check_alive(self) -> None:
        if self.error is not None:
            raise self.error
        if not self.port.is_open:
            raise PortError(f"The link to {self.url} is closed. Open it again with open_link().")

    # -- lifetime -------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True while the port is open and the reader has not seen an unplug."""
        return self.error is None and self.port.is_open and self._thread.is_alive()

    def close(self) -> None:
        """Stop the reader thread and close the port. Safe to call twice."""
        self._stop.set()
        try:
            if self.port.is_open and self.error is None:
                with self._write_lock:
                    self.port.write(format_command("x").encode("ascii"))
        except (serial.SerialException, OSError, ProtocolError):
            pass
        with contextlib.suppress(
            AttributeError, NotImplementedError, serial.SerialException, OSError
        ):
            self.port.cancel_read()
        self._thread.join(timeout=2.0)
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Link {self.url} {'open' if self.alive else 'closed'}>"


def open_link(url: str, *, baudrate: int = 115200, timeout: float = 0.05) -> Link:
    """Open a board by device path or pyserial URL and start reading it.

    Args:
        url: ``/dev/ttyACM0``, ``COM3``, ``sim://nano33ble?seed=1``, ``loop://``, ``spy://…``,
            ``hwgrep://2341`` or any other pyserial URL.
        baudrate: Line speed; the tinybench sketches use 115200.
        timeout: Read timeout of the reader loop, in seconds.

    Raises:
        PortError: The port cannot be opened; the message lists the ports that were seen and
            suggests the virtual board.
    """
    if not url or not isinstance(url, str):
        raise PortError(f"Not a port or URL: {url!r}. Try {VIRTUAL_BOARD_URL}")
    try:
        port = serial.serial_for_url(
            url, baudrate=baudrate, timeout=timeout, write_timeout=_WRITE_TIMEOUT_S
        )
    except (serial.SerialException, ValueError, OSError) as exc:
        seen = ", ".join(f.port for f in list_ports_seen()) or "none"
        raise PortError(
            f"Could not open {url!r}: {exc}. Ports seen: {seen}. Check the cable and the path, "
            f"close any serial monitor holding it, or use the virtual board: {VIRTUAL_BOARD_URL}"
        ) from exc
    return Link(port, url=url)
