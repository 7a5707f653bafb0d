"""Run firmware in QEMU's mps2-an386 (a Cortex-M4F) and serve its UART on a pty.

QEMU starts halted (``-S``) with the UART on a fresh pseudo-terminal and its monitor on a Unix
socket. :class:`QemuBoard` reads the pty's path from the monitor, lets the caller open the
port, and only then lets the CPU run (``cont``), because anything the firmware sends before
the pty is open is lost. ``-icount shift=0`` makes every run byte-identical and every guest
instruction 1 ns of emulated time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinybench.emulate.toolchain import find_qemu
from tinybench.errors import EmulatorError
from tinybench.processes import stop_process

__all__ = ["MACHINE", "QemuBoard", "qemu_argv"]

MACHINE = "mps2-an386"
"""The QEMU machine: ARM's MPS2 FPGA image AN386, a Cortex-M4F with CMSDK peripherals."""

_PTY = re.compile(r"serial0: filename=pty:(\S+)")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM QEMU when its parent process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def qemu_argv(qemu: Path, elf: Path, monitor: Path) -> list[str]:
    """Return the QEMU command line for ``elf``, halted, UART on a pty, monitor on a socket."""
    return [
        str(qemu), "-M", MACHINE, "-icount", "shift=0", "-nographic", "-serial", "pty",
        "-monitor", f"unix:{monitor},server,nowait",
        "-semihosting-config", "enable=on,target=native", "-kernel", str(elf), "-S",
    ]  # fmt: skip


class QemuBoard:
    """One QEMU process running a firmware ELF; a context manager that always stops it.

    Example:
        >>> with QemuBoard(build.elf) as board:          # doctest: +SKIP
        ...     link = tinybench.open_link(board.pty)
        ...     board.run()                               # the CPU starts now
        ...     link.request_hello()

    Attributes:
        elf: The firmware.
        pty: Path of the pseudo-terminal the UART is on (after :meth:`start`).
        boot_seconds: Time from starting QEMU to the pty being known.
    """

    def __init__(self, elf: str | os.PathLike[str], *, start_timeout: float = 20.0) -> None:
        self.elf = Path(elf)
        self.pty = ""
        self.boot_seconds = 0.0
        self._timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._monitor: socket.socket | None = None
        self._resources = contextlib.ExitStack()  # what close() undoes, last in first out

    def start(self) -> QemuBoard:
        """Start QEMU halted and learn the pty's path.

        Raises:
            ToolchainMissingError: qemu-system-arm is not installed.
            EmulatorError: QEMU exited or did not answer on its monitor in time.
        """
        if self.running:
            return self
        if not self.elf.is_file():
            raise EmulatorError(f"No firmware at {self.elf}; build it with build_firmware().")
        qemu = find_qemu()
        begin = time.perf_counter()
        with contextlib.ExitStack() as starting:  # undone at once if starting fails half-way
            folder = starting.enter_context(tempfile.TemporaryDirectory(prefix="tinybench-qemu-"))
            monitor = Path(folder) / "monitor.sock"
            self._process = subprocess.Popen(
                qemu_argv(qemu, self.elf, monitor),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )  # fmt: skip
            starting.callback(self._stop)
            self._monitor = starting.enter_context(self._connect(monitor))
            starting.callback(self._quit)  # first on the way out, while the monitor is open
            self._command("")  # the greeting and first prompt
            match = _PTY.search(self._command("info chardev"))
            if match is None:
                raise EmulatorError("QEMU did not report a pty for the UART (info chardev).")
            self._resources = starting.pop_all()
        self.pty = match.group(1)
        self.boot_seconds = time.perf_counter() - begin
        return self

    def run(self) -> None:
        """Let the CPU run (``cont``); open the pty first, or the boot hello is lost."""
        self._command("cont")

    @property
    def running(self) -> bool:
        """Whether the QEMU process is still alive."""
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """Stop QEMU (``quit`` on the monitor, then terminate) and remove the socket."""
        self._resources.close()

    def _quit(self) -> None:
        if self.running:
            with contextlib.suppress(EmulatorError):
                self._command("quit", expect_prompt=False)

    def _stop(self) -> None:
        """Stop the process; last on the way out, after the monitor socket closed."""
        process, self._process, self._monitor = self._process, None, None
        if process is not None and process.poll() is None:
            stop_process(process, grace=5.0, group=False)
        if process is not None and process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> QemuBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stderr(self) -> str:
        process = self._process
        if process is None or process.poll() is None or process.stderr is None:
            return ""
        return process.stderr.read().decode(errors="replace").strip()

    def _connect(self, path: Path) -> socket.socket:
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                message = self._stderr()
                raise EmulatorError(f"QEMU exited at start: {message or 'no message'}")
            if path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(path))
                    sock.settimeout(self._timeout)
                    return sock
                except OSError:
                    sock.close()
            time.sleep(0.02)
        raise EmulatorError(f"QEMU's monitor did not appear within {self._timeout:g} s.")

    def _command(self, command: str, expect_prompt: bool = True) -> str:
        """Send a monitor command and return what QEMU answered before its next prompt."""
        if self._monitor is None:
            raise EmulatorError("QEMU is not running; call start() first.")
        try:
            if command:
                self._monitor.sendall(command.encode() + b"\n")
            if not expect_prompt:
                return ""
            answer = b""
            while not answer.rstrip().endswith(b"(qemu)"):
                chunk = self._monitor.recv(4096)
                if not chunk:
                    raise EmulatorError(f"QEMU closed its monitor during {command!r}.")
                answer += chunk
        except OSError as exc:
            raise EmulatorError(f"QEMU's monitor failed during {command!r}: {exc}") from exc
        return answer.decode(errors="replace")
