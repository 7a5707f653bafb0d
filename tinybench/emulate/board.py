"""The emulated Cortex-M4 board as one object: build the firmware, boot it, open its port.

>>> with EmulatedBoard("build/export/gesture") as board:       # doctest: +SKIP
...     report = tinybench.validate(board.link, "build/export/gesture/model.tflite", x)

The board speaks tinybench serial protocol v1 like a Nano 33 BLE running the inference sketch;
its hello says ``emulated=qemu-mps2-an386``. After each inference it also sends a
``#profile`` comment line with the instructions ``Invoke()`` took (see docs/protocol.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import serial

from tinybench.emulate.firmware import FirmwareBuild, build_firmware
from tinybench.emulate.qemu import QemuBoard
from tinybench.emulate.tflm_library import TflmLibrary, object_cache_dir
from tinybench.errors import EmulatorError, ProtocolError

__all__ = ["EmulatedBoard", "InvokeProfile", "parse_profile"]

WRITE_TIMEOUT = 60.0
"""Seconds a write to the emulated board's pty may block (its UART drains slowly)."""

_PROFILE = re.compile(r"^#profile instructions=(\d+) ops=(\S*?)(?:\*[0-9A-Fa-f]{2})?$")


@dataclass(frozen=True)
class InvokeProfile:
    """Instructions one ``Invoke()`` took on the emulated Cortex-M4 (``-icount shift=0``).

    Attributes:
        instructions: The whole ``Invoke()``, to within 40 instructions (one TIMER0 tick).
        ops: ``(op name, instructions)`` per op, in execution order.
    """

    instructions: int
    ops: tuple[tuple[str, int], ...]

    def by_op(self) -> dict[str, int]:
        """Instructions summed per op type, largest first."""
        totals: dict[str, int] = {}
        for name, count in self.ops:
            totals[name] = totals.get(name, 0) + count
        return dict(sorted(totals.items(), key=lambda item: -item[1]))


def parse_profile(line: str) -> InvokeProfile | None:
    """Parse a ``#profile instructions=N ops=NAME:N,…`` line; ``None`` for any other line."""
    match = _PROFILE.match(line.strip())
    if match is None:
        return None
    ops = []
    for item in filter(None, match.group(2).split(",")):
        name, _, count = item.rpartition(":")
        ops.append((name, int(count)))
    return InvokeProfile(int(match.group(1)), tuple(ops))


class EmulatedBoard:
    """Firmware for an exported model, running in QEMU, with an open :class:`Link` to it.

    Args:
        export_dir: Folder written by ``tinybench.export_model``.
        build_dir: Where the firmware goes; by default beside the export
            (:func:`~tinybench.emulate.firmware.default_build_dir`).
        cache_dir: Object cache for the TFLM library (default: see
            :func:`~tinybench.emulate.tflm_library.object_cache_dir`).
        open_link: Open a :class:`tinybench.Link` on the pty (``link``); with ``False`` only
            ``pty`` is served, for another program to open (``tinybench emulate``), or read
            with :meth:`invoke`.
        library: The TFLM library; found with ``find_tflm_library()`` when ``None``.

    Attributes:
        build: The firmware build (sizes, split, build time).
        qemu: The running emulator (``qemu.pty``, ``qemu.boot_seconds``).
        link: The open link, or ``None`` with ``open_link=False``.
    """

    def __init__(
        self,
        export_dir: str | os.PathLike[str],
        build_dir: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        open_link: bool = True,
        library: TflmLibrary | None = None,
    ) -> None:
        self.export_dir = Path(export_dir)
        self._build_dir = build_dir
        self._cache_dir = object_cache_dir(cache_dir)
        self._open_link = open_link
        self._library = library
        self.build: FirmwareBuild | None = None
        self.qemu: QemuBoard | None = None
        self.link = None
        self._port: serial.SerialBase | None = None
        self._resources = contextlib.ExitStack()  # QEMU, then the link or port: close() undoes

    @property
    def pty(self) -> str:
        """The pseudo-terminal the board's UART is on."""
        return self.qemu.pty if self.qemu is not None else ""

    def start(self) -> EmulatedBoard:
        """Build (or reuse) the firmware, boot it halted, open the port, let it run.

        Raises:
            TinybenchError: Any error of :func:`build_firmware` or :class:`QemuBoard`.
        """
        import tinybench

        if self.qemu is not None and self.qemu.running:
            return self
        self.build_and_boot()
        try:
            if self._open_link:
                self.link = self._resources.enter_context(tinybench.open_link(self.qemu.pty))
                # QEMU's CMSDK UART takes one byte at a time, about 20-60 kB/s: the 55 kB
                # `v` line of a 96x96x3 input needs longer than a link's usual write timeout.
                self.link.port.write_timeout = WRITE_TIMEOUT
            self.run()
        except BaseException:
            self.close()
            raise
        return self

    def build_and_boot(self) -> QemuBoard:
        """Build the firmware and start QEMU halted; :meth:`run` lets the CPU go.

        Between the two, open :attr:`pty`: what the firmware sends before that is lost.
        """
        self.build = build_firmware(
            self.export_dir, self._build_dir, cache_dir=self._cache_dir, library=self._library
        )
        self.qemu = self._resources.enter_context(QemuBoard(self.build.elf))
        return self.qemu

    def run(self) -> None:
        """Let the emulated CPU run (QEMU's ``cont``)."""
        if self.qemu is None:
            raise EmulatorError("The emulated board is not booted; call start() first.")
        self.qemu.run()

    def invoke(self, payload: bytes, timeout: float = 60.0) -> tuple[bytes, InvokeProfile]:
        """Run the model once on a raw input tensor (``v``) and return output and profile.

        Only on a board started with ``open_link=False``: it reads the port itself, because
        the ``#profile`` line is a comment that a :class:`tinybench.Link` drops.

        Raises:
            EmulatorError: A link is open, or the board did not answer within ``timeout``.
            ProtocolError: The board answered with an error line.
        """
        if self.link is not None or self.qemu is None:
            raise EmulatorError(
                "invoke() reads the port itself: start the board with open_link=False."
            )
        if self._port is None:
            port = serial.serial_for_url(self.qemu.pty, baudrate=115200, timeout=0.05)
            self._port = self._resources.enter_context(port)
        self._port.write(b"v " + payload.hex().encode() + b"\n")
        profile, buffer, deadline = None, b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            buffer += self._port.read(max(1, self._port.in_waiting))
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.decode("ascii", errors="replace").strip()
                profile = parse_profile(line) or profile
                if line.startswith("!"):
                    raise ProtocolError(f"The emulated board refused the input: {line[1:]}")
                if line.startswith("o,") and profile is not None:
                    return bytes.fromhex(line.split(",")[2].split("*")[0]), profile
        raise EmulatorError(f"The emulated board did not answer v within {timeout:g} s.")

    def close(self) -> None:
        """Close the link and stop QEMU."""
        self._resources.close()
        self.link = self._port = None

    def __enter__(self) -> EmulatedBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
