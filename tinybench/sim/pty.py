"""The virtual board behind a pseudo-terminal, for programs that open a serial device.

:func:`serve_pty` starts a :class:`~tinybench.sim.board.VirtualBoard` behind a new pty and returns
the :class:`PtyServer`; its ``path`` (e.g. ``/dev/pts/7``) opens like a real board's port, with
``open_link(path)``, any serial monitor, or another process. ``tinybench simulate`` runs
:func:`run_simulator` and prints the path. In-process, ``sim://nano33ble?seed=1`` (the pyserial
URL handler in :mod:`tinybench.sim.urlhandler.protocol_sim`) needs no pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from typing import Any

from tinybench.boards import Board
from tinybench.errors import PortError
from tinybench.sim.board import VirtualBoard

__all__ = ["PtyServer", "run_simulator", "serve_pty"]


class PtyServer:
    """A virtual board behind a pseudo-terminal, for programs that open a serial device.

    The pty is in raw mode (no echo, no CR/LF translation). Stopping the server, or
    unplugging its board, closes the master side, so a host reading the device sees an
    unplug (pyserial: "device reports readiness to read but returned no data" or an I/O
    error).

    Args:
        board: The virtual board to serve.

    Attributes:
        path: The device path to open, e.g. ``/dev/pts/7``.
        board: The :class:`VirtualBoard`.
    """

    def __init__(self, board: VirtualBoard) -> None:
        if not hasattr(os, "openpty"):
            raise PortError(
                "Pseudo-terminals need Linux or macOS. On this system open the virtual board "
                "in-process instead: open_link('sim://nano33ble?seed=1')."
            )
        import tty  # POSIX only

        self.board = board
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._io = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        board.attach(self._write, self._on_unplug)
        self._thread = threading.Thread(target=self._serve, name=f"pty {self.path}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<PtyServer {self.path} {'serving' if self.alive else 'stopped'}>"

    @property
    def alive(self) -> bool:
        """True while the pty is open and the board plugged in."""
        return not self._closed and not self.board.unplugged

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            with self._io:
                if self._closed:
                    return
                try:
                    sent = os.write(self._master, view)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    return
            view = view[sent:]
            if view:
                with contextlib.suppress(OSError, ValueError):
                    select.select([], [self._master], [], 0.05)

    def _serve(self) -> None:
        partial = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            with self._io:
                if self._closed:
                    return
                try:
                    data = os.read(self._master, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
            if not data:
                time.sleep(0.05)  # no process has the device open
                continue
            *lines, partial = (partial + data).split(b"\n")
            for line in lines:
                replies = self.board.handle(line)
                if replies:
                    self._write("".join(replies).encode("ascii"))

    def _on_unplug(self) -> None:
        threading.Thread(target=self._shutdown, name=f"unplug {self.path}", daemon=True).start()

    def _shutdown(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        with self._io:
            if self._closed:
                return
            self._closed = True
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def stop(self) -> None:
        """Stop the board and close the pty (a host sees an unplug). Safe to call twice."""
        self._stop.set()
        self.board.close()
        self._shutdown()

    def __enter__(self) -> PtyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_pty(board: str | Board = "nano33ble", **kwargs: Any) -> PtyServer:
    """Start a :class:`VirtualBoard` behind a new pseudo-terminal and return the server.

    Args:
        board: Board profile name.
        **kwargs: :class:`VirtualBoard` keyword arguments (``seed``, ``model``, ``speed``,
            ``garble``, ``drop``, ``unplug_after``, ``checksum``…).

    Example:
        >>> with serve_pty(seed=1) as server:  # doctest: +SKIP
        ...     link = open_link(server.path)
    """
    return PtyServer(VirtualBoard(board, **kwargs))


def run_simulator(
    board: str = "nano33ble",
    seed: int = 1,
    model: str | os.PathLike[str] | None = None,
    speed: float = 1.0,
    **kwargs: Any,
) -> PtyServer:
    """Start the virtual board on a pty for ``tinybench simulate``; the caller prints ``.path``.

    Args:
        board: Board profile name.
        seed: Seed of the synthetic sensor.
        model: Export folder of a model to run in inference mode, or ``None``.
        speed: Pace as a multiple of the board's rate; 0 streams as fast as possible.
        **kwargs: Further :class:`VirtualBoard` keyword arguments.
    """
    return serve_pty(board, seed=seed, model=model, speed=speed, **kwargs)
