"""Opening boards and reading their lines: the link between the host and a device.

Every port is opened with :func:`serial.serial_for_url`, so a device path, ``loop://``,
``spy://…``, ``hwgrep://2341`` and tinybench's own ``sim://nano33ble?seed=1`` all work the same
way. A :class:`Link` owns one reader thread. It reads in chunks (``read(in_waiting)``, never
``readline()``, which costs one system call per byte), splits and parses lines, counts what it
drops, and hands batches of messages to its subscribers.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import serial
from serial.tools import list_ports

from tinybench.boards import Board, board_for_usb_id
from tinybench.errors import PortError, ProtocolError, UnplugError
from tinybench.protocol import (
    DeviceError,
    Dropped,
    Hello,
    LineSplitter,
    Message,
    Sample,
    SequenceTracker,
    format_command,
    parse_lines,
)

__all__ = [
    "VIRTUAL_BOARD_URL",
    "FoundBoard",
    "Link",
    "LinkStats",
    "Subscription",
    "choose_port",
    "find_boards",
    "list_ports_seen",
    "open_link",
]

log = logging.getLogger(__name__)

VIRTUAL_BOARD_URL = "sim://nano33ble?seed=1"
_HANDLER_PACKAGE = "tinybench.urlhandler"
if _HANDLER_PACKAGE not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(_HANDLER_PACKAGE)

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


class Subscription:
    """A queue of message batches from a link, for a consumer in another thread.

    Use it as a context manager so it is removed from the link when done.
    """

    def __init__(self, link: Link) -> None:
        self._link = link
        self._queue: queue.SimpleQueue[Batch | BaseException] = queue.SimpleQueue()

    def _deliver(self, batch: Batch) -> None:
        self._queue.put(batch)

    def _fail(self, error: BaseException) -> None:
        self._queue.put(error)

    def get(self, timeout: float | None = None) -> Batch:
        """Return the next batch, or an empty list after ``timeout`` seconds.

        Raises:
            UnplugError: The link's reader stopped because the device went away.
        """
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if isinstance(item, BaseException):
            self._queue.put(item)  # every later call raises too
            raise item
        return item

    def close(self) -> None:
        """Stop receiving batches."""
        self._link.unsubscribe(self._deliver)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        self._callbacks: list[tuple[Callable[[Batch], None], Callable | None]] = []
        self._lock = threading.Lock()
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
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
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

    def _handle(self, lines: list[str]) -> None:
        stats = self.stats
        stats.lines += len(lines)
        batch: Batch = []
        append = batch.append
        track = self._tracker.update
        for line, message in zip(lines, parse_lines(lines), strict=True):
            kind = type(message)
            if kind is Sample:
                if message.seq is not None:
                    track(message.seq)
                append(message)
            elif kind is Dropped:
                if message.reason != "empty":
                    stats.dropped[message.reason] += 1
                    log.debug("dropped %s line %r: %s", message.reason, line, message.detail)
            else:
                if kind is Hello:
                    self.hello = message
                elif kind is DeviceError:
                    stats.device_errors += 1
                    log.warning("%s says: %s", self.url, message.message)
                append(message)
        if self._splitter.overflows:
            stats.dropped["too-long"] += self._splitter.overflows
            self._splitter.overflows = 0
        stats.samples = self._tracker.received
        stats.lost_samples = self._tracker.lost
        stats.restarts = self._tracker.restarts
        stats.messages += len(batch)
        if batch:
            with self._lock:
                callbacks = [on_batch for on_batch, _ in self._callbacks]
            for on_batch in callbacks:
                on_batch(batch)

    def _fail(self, exc: BaseException) -> None:
        self.error = UnplugError(
            f"The board on {self.url} stopped answering ({exc}). It was probably unplugged or "
            "reset. Everything received before this is kept; plug it back in and open the "
            "port again."
        )
        log.warning("%s", self.error)
        with self._lock:
            failures = [on_error for _, on_error in self._callbacks if on_error is not None]
        for on_error in failures:
            on_error(self.error)

    # -- subscribers ----------------------------------------------------------------------

    def subscribe(
        self,
        on_batch: Callable[[Batch], None],
        on_error: Callable[[UnplugError], None] | None = None,
    ) -> None:
        """Call ``on_batch`` from the reader thread with every batch of messages.

        Callbacks must be quick: they run on the reader thread. If the link has already
        failed, ``on_error`` is called at once.
        """
        with self._lock:
            self._callbacks.append((on_batch, on_error))
        if self.error is not None and on_error is not None:
            on_error(self.error)

    def unsubscribe(self, on_batch: Callable[[Batch], None]) -> None:
        """Stop calling ``on_batch``; unknown callbacks are ignored."""
        with self._lock:
            self._callbacks = [pair for pair in self._callbacks if pair[0] != on_batch]

    def subscription(self) -> Subscription:
        """Return a :class:`Subscription` queue that receives every batch from now on."""
        sub = Subscription(self)
        self.subscribe(sub._deliver, sub._fail)
        return sub

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
                self.port.write(line)
                self.port.flush()
        except (serial.SerialException, OSError) as exc:
            self._fail(exc)
            raise self.error from exc

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
        with self.subscription() as sub:
            self.send(kind, payload)
            while (left := deadline - time.monotonic()) > 0:
                for message in sub.get(timeout=min(left, 0.1)):
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


@dataclass(frozen=True)
class FoundBoard:
    """A serial port and the board tinybench recognised on it.

    Attributes:
        port: Device path, for example ``/dev/ttyACM0``.
        board: The board profile matched from the USB VID/PID, or ``None``.
        description: What the operating system calls the port.
        vid: USB vendor id, if the port is USB.
        pid: USB product id, if the port is USB.
        serial_number: USB serial number, if any.
    """

    port: str
    board: Board | None
    description: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None


def list_ports_seen(ports: Iterable | None = None) -> list[FoundBoard]:
    """Return every serial port the operating system lists, recognised or not.

    Args:
        ports: Port infos to use instead of ``list_ports.comports()`` (for tests).
    """
    infos = list_ports.comports() if ports is None else ports
    return [
        FoundBoard(
            port=info.device,
            board=board_for_usb_id(info.vid, info.pid),
            description=info.description or "",
            vid=info.vid,
            pid=info.pid,
            serial_number=info.serial_number,
        )
        for info in infos
    ]


def find_boards(ports: Iterable | None = None) -> list[FoundBoard]:
    """Return the ports whose USB VID/PID belongs to a known Arduino-family board.

    Pseudo-terminals, such as the one ``tinybench simulate`` prints, are never listed by the
    operating system: pass their path to :func:`open_link` directly.
    """
    return [found for found in list_ports_seen(ports) if found.board is not None]


def choose_port(fallback: str | None = VIRTUAL_BOARD_URL, ports: Iterable | None = None) -> str:
    """Return the port of the first board found, or ``fallback`` when there is none.

    Raises:
        PortError: No board was found and there is no fallback; the message lists the ports
            that were seen and suggests the virtual board.
    """
    seen = list_ports_seen(ports)
    boards = [found for found in seen if found.board is not None]
    if boards:
        return boards[0].port
    if fallback is not None:
        log.info("no board found; using %s", fallback)
        return fallback
    listing = ", ".join(f"{f.port} ({f.description})" for f in seen) or "none"
    raise PortError(
        f"No Arduino-family board found. Ports seen: {listing}. Plug the board in with a data "
        f"(not charge-only) USB cable, or use the virtual board: {VIRTUAL_BOARD_URL}"
    )


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
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=2.0)
    except (serial.SerialException, ValueError, OSError) as exc:
        seen = ", ".join(f.port for f in list_ports_seen()) or "none"
        raise PortError(
            f"Could not open {url!r}: {exc}. Ports seen: {seen}. Check the cable and the path, "
            f"close any serial monitor holding it, or use the virtual board: {VIRTUAL_BOARD_URL}"
        ) from exc
    return Link(port, url=url)
