"""pyserial URL handler for ``qemu://``: build and boot the emulated board, open its pty.

URL format::

    qemu://<export dir>[?board=cortex-m4&cache=<object cache dir>]

``<export dir>`` is a folder written by ``tinybench.export_model`` (relative paths are relative
to the working directory). Opening builds the firmware (cached), starts QEMU, opens the UART's
pty as an ordinary POSIX serial port and lets the CPU run; closing the port stops QEMU.
"""

from __future__ import annotations

import urllib.parse

from serial.serialposix import Serial as PosixSerial
from serial.serialutil import SerialException

from tinybench.emulate.board import WRITE_TIMEOUT, EmulatedBoard
from tinybench.emulate.command import BOARDS
from tinybench.errors import TinybenchError

__all__ = ["Serial", "parse_qemu_url"]


def parse_qemu_url(url: str) -> tuple[str, str]:
    """Return ``(export dir, object cache dir)`` from a ``qemu://`` URL.

    Raises:
        SerialException: Not a ``qemu://`` URL, an unknown board or an unknown key.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "qemu":
        raise SerialException(f"expected a qemu:// URL, got {url!r}")
    export = urllib.parse.unquote(parts.netloc + parts.path)
    query = dict(urllib.parse.parse_qsl(parts.query))
    unknown = set(query) - {"board", "cache"}
    if unknown or not export:
        raise SerialException(
            f"bad qemu:// URL {url!r}: write qemu://<export dir>?board=cortex-m4 (keys: board, "
            f"cache){'; unknown: ' + ', '.join(sorted(unknown)) if unknown else ''}"
        )
    if query.get("board", BOARDS[0]) not in BOARDS:
        raise SerialException(f"unknown emulated board {query['board']!r}; known: {BOARDS}")
    return export, query.get("cache", "build/tflm-cache")


class Serial(PosixSerial):
    """The emulated board's UART as a pyserial port."""

    _board: EmulatedBoard | None = None

    def open(self) -> None:
        """Build and boot the firmware, open its pty, then let the CPU run."""
        url = self.portstr
        export, cache = parse_qemu_url(url)
        board = EmulatedBoard(export, cache_dir=cache, open_link=False)
        try:
            board.build_and_boot()
            self.portstr = board.pty
            super().open()
            if self.write_timeout is not None and self.write_timeout < WRITE_TIMEOUT:
                self.write_timeout = WRITE_TIMEOUT  # its UART drains about 20-60 kB/s
            board.run()
        except TinybenchError as exc:
            board.close()
            raise SerialException(f"could not start the emulated board for {url}: {exc}") from exc
        except BaseException:
            board.close()
            raise
        finally:
            self.portstr = url
        self._board = board

    def close(self) -> None:
        """Close the pty and stop QEMU."""
        super().close()
        if self._board is not None:
            self._board.close()
            self._board = None
