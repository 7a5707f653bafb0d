"""pyserial URL handler for ``sim://``: the virtual board, in-process.

URL format::

    sim://<board>[?seed=1&speed=1&model=<export dir>&garble=0.01&drop=0.01
                   &unplug_after=500&checksum=1&fault_seed=7]

``<board>`` is a board name from :mod:`tinybench.boards` (default ``nano33ble``). The query
keys are :class:`~tinybench.sim.board.VirtualBoard` arguments. Written like pyserial's
``protocol_loop.py``: ``read`` honours ``timeout``, and after an unplug, once what was
received has been read, ``read`` raises the same :class:`~serial.SerialException` as pyserial's
POSIX backend when a device disappears.
"""

from __future__ import annotations

import threading
import urllib.parse

from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    Timeout,
    to_bytes,
)

from tinybench.boards import list_boards
from tinybench.errors import TinybenchError

__all__ = ["UNPLUG_MESSAGE", "URL_KEYS", "Serial", "parse_sim_url"]

UNPLUG_MESSAGE = (
    "device reports readiness to read but returned no data "
    "(device disconnected or multiple access on port?)"
)
_MAX_BUFFERED = 64 << 10  # bytes the board may get ahead of the reader before it waits


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1 or 0")


def _optional_int(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


URL_KEYS = {
    "seed": int,
    "speed": float,
    "model": str,
    "garble": float,
    "drop": float,
    "unplug_after": _optional_int,
    "checksum": _flag,
    "fault_seed": int,
}


def parse_sim_url(url: str) -> tuple[str, dict[str, object]]:
    """Split a ``sim://`` URL into the board name and :class:`VirtualBoard` keyword arguments.

    Raises:
        SerialException: The URL is not ``sim://``, names an unknown board, or has an unknown
            key or a bad value; the message lists the valid choices.
    """
    parts = urllib.parse.urlsplit(url)
    form = "sim://<board>?seed=1&speed=1&model=<export dir>&garble=0&drop=0&unplug_after=500"
    if parts.scheme.lower() != "sim":
        raise SerialException(f"expected a URL of the form {form!r}, got {url!r}")
    board = parts.netloc or "nano33ble"
    known = [b.name for b in list_boards()]
    if board not in known or parts.path not in ("", "/"):
        raise SerialException(
            f"unknown virtual board {board + parts.path.rstrip('/')!r} in {url!r}; known "
            f"boards: {', '.join(known)}. Example: sim://nano33ble?seed=1"
        )
    kwargs: dict[str, object] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key not in URL_KEYS:
            raise SerialException(
                f"unknown option {key!r} in {url!r}; valid options: {', '.join(URL_KEYS)}"
            )
        try:
            if not value:
                raise ValueError("no value")
            kwargs[key] = URL_KEYS[key](value)
        except ValueError as exc:
            raise SerialException(
                f"bad value {value!r} for {key!r} in {url!r} ({exc}); expected "
                f"{getattr(URL_KEYS[key], '__name__', 'a value').lstrip('_')}, e.g. {form}"
            ) from None
    return board, kwargs


class Serial(SerialBase):
    """A pyserial port whose other end is a :class:`~tinybench.sim.board.VirtualBoard`.

    Attributes:
        board: The virtual board, once open (``link.port.board.unplug()`` pulls the cable).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.board = None
        self._buffer = bytearray()
        self._cond = threading.Condition()
        self._partial = b""
        self._unplugged = False
        self._cancelled = False
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        """Create the virtual board described by the URL in :attr:`port`.

        Raises:
            SerialException: The URL is invalid, or the board or its model cannot be set up.
        """
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        name, kwargs = parse_sim_url(self._port)
        from tinybench.sim.board import VirtualBoard

        try:
            board = VirtualBoard(name, **kwargs)
        except (TinybenchError, OSError) as exc:
            raise SerialException(f"cannot start the virtual board {self._port!r}: {exc}") from exc
        with self._cond:
            self._buffer.clear()
            self._partial = b""
            self._unplugged = self._cancelled = False
        self.board = board
        board.attach(self._push, self._on_unplug)
        self.is_open = True

    def close(self) -> None:
        """Stop the virtual board and close the port."""
        with self._cond:
            was_open, self.is_open = self.is_open, False
            self._cond.notify_all()
        if was_open and self.board is not None:
            self.board.close()

    def _reconfigure_port(self) -> None:
        """Nothing to configure: the virtual board ignores the baud rate, as USB CDC does."""

    def _update_rts_state(self) -> None:
        """RTS means nothing to the virtual board."""

    def _update_dtr_state(self) -> None:
        """DTR means nothing to the virtual board."""

    def _update_break_state(self) -> None:
        """A break means nothing to the virtual board."""

    # -- the board's side -----------------------------------------------------------------

    def _push(self, data: bytes, *, force: bool = False) -> None:
        """Queue bytes from the board; wait while the reader is far behind (unless forced)."""
        with self._cond:
            while (
                not force
                and len(self._buffer) >= _MAX_BUFFERED
                and self.is_open
                and not self._unplugged
            ):
                self._cond.wait(0.1)
            if self.is_open:
                self._buffer += data
                self._cond.notify_all()

    def _on_unplug(self) -> None:
        with self._cond:
            self._unplugged = True
            self._cond.notify_all()

    # -- the host's side ------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        """Bytes received and not read yet."""
        if not self.is_open:
            raise PortNotOpenError()
        return len(self._buffer)

    @property
    def out_waiting(self) -> int:
        """Always 0: the board takes every write at once."""
        if not self.is_open:
            raise PortNotOpenError()
        return 0

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes, waiting at most ``timeout`` seconds.

        Raises:
            SerialException: The board was unplugged and everything it sent has been read.
        """
        if not self.is_open:
            raise PortNotOpenError()
        timeout = Timeout(self._timeout)
        data = bytearray()
        with self._cond:
            while len(data) < size:
                if self._buffer:
                    take = size - len(data)
                    data += self._buffer[:take]
                    del self._buffer[:take]
                    self._cond.notify_all()
                    continue
                if self._unplugged:
                    if data:
                        break
                    raise SerialException(UNPLUG_MESSAGE)
                if self._cancelled or not self.is_open:
                    self._cancelled = False
                    break
                if timeout.expired():
                    break
                self._cond.wait(None if timeout.is_infinite else timeout.time_left())
        return bytes(data)

    def write(self, data: bytes) -> int:
        """Send bytes to the board; each complete line is a command, answered at once.

        Raises:
            SerialException: The board was unplugged.
        """
        if not self.is_open:
            raise PortNotOpenError()
        if self._unplugged:
            raise SerialException("write failed: [Errno 5] Input/output error (unplugged)")
        data = to_bytes(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            replies = self.board.handle(line)
            if replies:
                self._push("".join(replies).encode("ascii"), force=True)
        return len(data)

    def reset_input_buffer(self) -> None:
        """Discard everything received and not read yet."""
        if not self.is_open:
            raise PortNotOpenError()
        with self._cond:
            self._buffer.clear()
            self._cond.notify_all()

    def reset_output_buffer(self) -> None:
        """Nothing to discard: writes reach the board at once."""
        if not self.is_open:
            raise PortNotOpenError()

    def cancel_read(self) -> None:
        """Make a blocked :meth:`read` return what it has now."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def cancel_write(self) -> None:
        """Nothing to cancel: writes never block."""

    def _plugged_in(self) -> bool:
        return not self._unplugged

    dsr = property(_plugged_in, doc="Data Set Ready: true while plugged in.")
    cd = property(_plugged_in, doc="Carrier Detect: true while plugged in.")

    @property
    def cts(self) -> bool:
        """Clear To Send: always true."""
        return True

    @property
    def ri(self) -> bool:
        """Ring Indicator: always false."""
        return False
