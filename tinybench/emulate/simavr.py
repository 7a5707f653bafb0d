"""The emulated Uno: simavr's ATmega328P at 16 MHz, its UART on a pseudo-terminal.

:func:`run_simavr` runs an ELF built by :func:`tinybench.emulate.avr.build_capture_firmware`
through a small C program, ``simavr/bridge.c``, compiled on first use against
``libsimavr-dev`` and cached by content under ``build/`` (:func:`build_bridge`). The bridge
serves UART0 on a pseudo-terminal, resets the chip when a program opens it (as DTR does on a
real Uno) and feeds ADC channels 0-2 from millivolt rows written by
:func:`~tinybench.emulate.adxl335.write_adc_feed`, for example an ADXL335 reading of the virtual
board's gesture synth (:func:`~tinybench.emulate.adxl335.gesture_millivolts`).

What is real and what is not is written down in ``docs/avr.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import selectors
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinybench.atomic import temporary_name
from tinybench.emulate.adxl335 import write_adc_feed
from tinybench.emulate.avr import (
    SIMAVR_HEADER,
    UNO_CLOCK_HZ,
    UNO_MCU,
    AvrFirmware,
    find_avr_tools,
    missing_avr_tool,
)
from tinybench.errors import EmulatorError, FirmwareBuildError
from tinybench.processes import stop_process

__all__ = ["build_bridge", "run_simavr"]

BRIDGE_SOURCE = Path(__file__).resolve().parent / "simavr" / "bridge.c"


def build_bridge(cache_dir: str | os.PathLike[str] = "build") -> Path:
    """Compile ``simavr/bridge.c`` against libsimavr, once per content, and return it.

    The executable is cached as ``<cache_dir>/simavr-bridge/<hash>/bridge``; the hash covers
    the source, the compiler's version and simavr's header, so an upgrade rebuilds it.

    Raises:
        ToolchainMissingError: gcc or libsimavr-dev is missing.
        FirmwareBuildError: The bridge did not compile.
    """
    tools = find_avr_tools()
    version = subprocess.run(
        [str(tools.gcc), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    digest = hashlib.sha256()
    for part in (BRIDGE_SOURCE.read_bytes(), version.encode(), SIMAVR_HEADER.read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    target = Path(cache_dir) / "simavr-bridge" / digest.hexdigest()[:16] / "bridge"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temporary_name(target)
    argv = [
        str(tools.gcc),
        "-O2",
        "-Wall",
        "-Wextra",
        "-o",
        str(temp),
        str(BRIDGE_SOURCE),
        "-lsimavr",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        temp.unlink(missing_ok=True)
        output = result.stdout + result.stderr
        if "-lsimavr" in output or ("simavr/" in output and "No such file" in output):
            raise missing_avr_tool("libsimavr-dev") from None
        raise FirmwareBuildError(f"The simavr bridge did not compile:\n{output[-2000:]}", output)
    os.replace(temp, target)
    return target


@contextlib.contextmanager
def run_simavr(
    firmware: AvrFirmware | str | os.PathLike[str],
    *,
    adc_mv: np.ndarray | None = None,
    adc_rate_hz: float = 1000.0,
    boot_s: float = 1.0,
    speed: float = 1.0,
    reset_on_open: bool = True,
    ref_mv: int = 5000,
    cache_dir: str | os.PathLike[str] = "build",
    start_timeout: float = 10.0,
) -> Iterator[str]:
    """Run Uno firmware on simavr and yield the path of the pseudo-terminal serving its UART.

    Open the path with :func:`tinybench.open_link` (115200 baud). Opening it resets the chip
    like DTR on a real Uno: the sketch starts ``boot_s`` later (optiboot's wait; a byte sent
    meanwhile is swallowed and shortens it to 16 ms, as optiboot does) and sends its boot hello.

    Args:
        firmware: The firmware, or the path of an ATmega328P ELF.
        adc_mv: Millivolts on ADC0, ADC1, …, one row per ``1 / adc_rate_hz`` seconds from the
            sketch's start (each reset starts the signal again; the last row holds). ``None``
            leaves the pins at 0 V. See :func:`gesture_millivolts`.
        adc_rate_hz: Rows per second of ``adc_mv``.
        boot_s: Seconds between opening the port and the sketch starting; 0 starts it at once.
        speed: Simulated seconds per wall-clock second; 0 runs as fast as the host can.
        reset_on_open: Reset the chip when a program opens the port.
        ref_mv: The board's 5 V (VCC, AVCC and AREF), in millivolts.
        cache_dir: Where the compiled bridge is cached.
        start_timeout: Seconds to wait for the bridge to announce its pty.

    Yields:
        The pty path, for example ``/dev/pts/3``.

    Raises:
        ToolchainMissingError: gcc or libsimavr-dev is missing.
        EmulatorError: The bridge did not start or stopped with an error.
    """
    elf = Path(firmware.elf if isinstance(firmware, AvrFirmware) else firmware)
    if not elf.is_file():
        raise EmulatorError(f"No firmware at {elf}; build it with build_capture_firmware().")
    bridge = build_bridge(cache_dir)
    with tempfile.TemporaryDirectory(prefix="tinybench-simavr-") as work:
        argv = _bridge_argv(bridge, elf, ref_mv, speed, boot_s, adc_rate_hz)
        if adc_mv is not None:
            argv += ["--adc", str(write_adc_feed(Path(work) / "adc.txt", adc_mv))]
        if not reset_on_open:
            argv.append("--no-reset-on-open")
        log_path = Path(work) / "bridge.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True
            )
        try:
            yield _wait_for_pty(process, log_path, start_timeout)
        finally:
            stop_process(process)
            assert process.stdout is not None
            process.stdout.close()


def _bridge_argv(
    bridge: Path, elf: Path, ref_mv: int, speed: float, boot_s: float, adc_rate_hz: float
) -> list[str]:
    """The bridge's command line: the chip, its supply and reference, pacing and boot time."""
    return [
        str(bridge),
        str(elf),
        "--mcu",
        UNO_MCU,
        "--freq",
        str(UNO_CLOCK_HZ),
        "--vcc",
        str(ref_mv),
        "--avcc",
        str(ref_mv),
        "--aref",
        str(ref_mv),
        "--speed",
        repr(float(speed)),
        "--boot-ms",
        repr(float(boot_s) * 1000.0),
        "--adc-rate",
        repr(float(adc_rate_hz)),
    ]


def _wait_for_pty(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = process.stdout.readline().decode(errors="replace").strip() if ready else ""
    if not line.startswith("pty /dev/"):
        stop_process(process)
        log = log_path.read_text(errors="replace").strip()
        raise EmulatorError(
            f"The simavr bridge did not start (exit {process.returncode}, said {line!r}): "
            f"{log or 'no message'}. Check that the firmware is an ATmega328P ELF."
        )
    return line.split(maxsplit=1)[1]
