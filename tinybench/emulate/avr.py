"""The capture sketch for an Arduino Uno, built with Debian's real AVR core and avr-gcc.

:func:`build_capture_firmware` renders ``tinybench_capture`` for the ``uno`` profile and builds
it with Debian's ``arduino-builder`` and ``arduino-core-avr`` (the same core, compiler flags and
link as the Arduino IDE). :mod:`tinybench.emulate.simavr` runs the result, and
:mod:`tinybench.emulate.adxl335` makes the analog signal it reads.

What is real and what is not is written down in ``docs/avr.md``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tinybench.emulate.sections import LinkedSections
from tinybench.emulate.toolchain import missing_tool
from tinybench.errors import FirmwareBuildError, ToolchainMissingError

__all__ = [
    "APT_INSTALL",
    "SIMAVR_HEADER",
    "UNO_CLOCK_HZ",
    "UNO_MCU",
    "AvrFirmware",
    "AvrTools",
    "build_capture_firmware",
    "build_sketch",
    "find_avr_tools",
    "missing_avr_tool",
]

APT_INSTALL = (
    "apt-get install -y --no-install-recommends arduino-builder arduino-core-avr gcc-avr "
    "avr-libc simavr libsimavr-dev"
)
"""The command (as root) that installs everything the emulated Uno needs (Debian/Ubuntu)."""


UNO_FQBN = "arduino:avr:uno"
UNO_MCU = "atmega328p"
UNO_CLOCK_HZ = 16_000_000

_HARDWARE_DIRS = (Path("/usr/share/arduino/hardware"), Path("/usr/share/arduino-builder"))
_AVR_CORE = Path("/usr/share/arduino/hardware/arduino/avr/boards.txt")
_AVR_LIBC = Path("/usr/lib/avr/include/avr/io.h")
SIMAVR_HEADER = Path("/usr/include/simavr/sim_avr.h")
# The compiler's "file:line:col: error: message" lines, for error messages.
_DIAGNOSTIC = re.compile(r"^.+?:\d+(?::\d+)?: (?:fatal )?error: .*$", re.MULTILINE)


@dataclass(frozen=True)
class AvrTools:
    """The Debian tools that build and run the Uno firmware.

    Attributes:
        arduino_builder: ``arduino-builder``.
        avr_size: ``avr-size``.
        gcc: The host C compiler that builds the simavr bridge.
        hardware_dirs: The ``-hardware`` folders of arduino-builder (the AVR core and the
            builder's own platform rewrites).
        tools_dir: arduino-builder's ``-tools`` folder, where ``avr-gcc`` lives.
    """

    arduino_builder: Path
    avr_size: Path
    gcc: Path
    hardware_dirs: tuple[Path, ...]
    tools_dir: Path


@dataclass(frozen=True)
class AvrFirmware(LinkedSections):
    """A sketch built for the Uno, with its sizes from ``avr-size``.

    Attributes:
        elf: The linked firmware.
        sketch_dir: The sketch folder it was built from.
        fqbn: The board it was built for.
        text: ``.text``: code and constants in flash.
        data: ``.data``: initialized variables, stored in flash and copied to RAM.
        bss: ``.bss``: zeroed variables in RAM.
        build_seconds: Wall time of the build.
        output: What arduino-builder printed.
    """

    elf: Path
    sketch_dir: Path
    fqbn: str
    text: int
    data: int
    bss: int
    build_seconds: float
    output: str


def missing_avr_tool(what: str, verb: str = "is") -> ToolchainMissingError:
    """The error for a missing AVR tool or package, whose message is the install command."""
    return missing_tool(what, "the emulated Arduino Uno", f"{APT_INSTALL} (as root)", verb)


@lru_cache(maxsize=1)
def find_avr_tools() -> AvrTools:
    """Return the AVR build tools and the host compiler for the simavr bridge.

    Raises:
        ToolchainMissingError: A tool, the Arduino AVR core, avr-libc or libsimavr-dev is
            missing; the message holds the ``apt-get`` command that installs them all.
    """
    found = {name: shutil.which(name) for name in ("arduino-builder", "avr-gcc", "avr-size")}
    absent = [name for name, path in found.items() if path is None]
    if absent:
        raise missing_avr_tool(", ".join(absent), "are" if len(absent) > 1 else "is")
    if not _AVR_CORE.is_file():
        raise missing_avr_tool(f"The Arduino AVR core ({_AVR_CORE}, package arduino-core-avr)")
    if not _AVR_LIBC.is_file():
        raise missing_avr_tool(f"avr-libc ({_AVR_LIBC})")
    if not SIMAVR_HEADER.is_file():
        raise missing_avr_tool(f"simavr's library headers ({SIMAVR_HEADER}, package libsimavr-dev)")
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise missing_avr_tool("A host C compiler (gcc)")
    return AvrTools(
        arduino_builder=Path(found["arduino-builder"]),  # type: ignore[arg-type]
        avr_size=Path(found["avr-size"]),  # type: ignore[arg-type]
        gcc=Path(gcc),
        hardware_dirs=_HARDWARE_DIRS,
        tools_dir=Path(found["avr-gcc"]).parent,  # type: ignore[arg-type]
    )


# -- building the firmware ----------------------------------------------------------------------


def build_sketch(
    sketch_dir: str | os.PathLike[str],
    build_dir: str | os.PathLike[str] | None = None,
    fqbn: str = UNO_FQBN,
) -> AvrFirmware:
    """Build a sketch folder with Debian's arduino-builder and AVR core.

    Args:
        sketch_dir: A sketch folder (holding ``<folder name>.ino``), for example one rendered
            by :func:`tinybench.render_sketch`.
        build_dir: arduino-builder's build folder, kept between builds so they are incremental;
            by default ``<sketch_dir>/../avr-build/<sketch>``.
        fqbn: An AVR board of the Arduino core.

    Raises:
        ToolchainMissingError: The tools are not installed.
        FirmwareBuildError: The sketch folder has no ``.ino`` or the build failed; the message
            holds the compiler's ``file:line: error:`` lines and ``output`` everything printed.
    """
    tools = find_avr_tools()
    sketch_dir = Path(sketch_dir).resolve()
    ino = sketch_dir / f"{sketch_dir.name}.ino"
    if not ino.is_file():
        raise FirmwareBuildError(
            f"{sketch_dir} is not a sketch folder: {ino.name} is missing. Render one with "
            "tinybench.render_sketch('uno', None, out_dir, sketch='tinybench_capture')."
        )
    build = (
        Path(build_dir) if build_dir is not None else sketch_dir.parent / "avr-build" / ino.stem
    ).resolve()
    build.mkdir(parents=True, exist_ok=True)
    argv = _builder_argv(tools, fqbn, build, ino)
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    elf = build / f"{ino.name}.elf"
    if result.returncode != 0 or not elf.is_file():
        errors = _DIAGNOSTIC.findall(output)[:20]
        detail = "\n".join(errors) if errors else output.strip()[-2000:]
        raise FirmwareBuildError(
            f"arduino-builder could not build {ino} for {fqbn} (exit {result.returncode}):\n"
            f"{detail}",
            output,
        )
    sections = _sections(tools.avr_size, elf)
    return AvrFirmware(
        elf=elf,
        sketch_dir=sketch_dir,
        fqbn=fqbn,
        text=sections.get(".text", 0),
        data=sections.get(".data", 0),
        bss=sections.get(".bss", 0),
        build_seconds=seconds,
        output=output,
    )


def _builder_argv(tools: AvrTools, fqbn: str, build: Path, ino: Path) -> list[str]:
    """arduino-builder's command line for one sketch, with the flags Debian's setup needs."""
    argv = [str(tools.arduino_builder), "-compile"]
    for folder in tools.hardware_dirs:
        argv += ["-hardware", str(folder)]
    return [
        *argv,
        "-tools",
        str(tools.tools_dir),
        # Debian's arduino-builder and avr-libc need this; see DESIGN.md, "Arduino toolchains".
        "-prefs",
        "compiler.cpp.extra_flags=-DDECIMAL_DIG=9",
        "-fqbn",
        fqbn,
        "-build-path",
        str(build),
        "-warnings",
        "default",
        str(ino),
    ]


def _sections(avr_size: Path, elf: Path) -> dict[str, int]:
    """Section sizes from ``avr-size -A``."""
    result = subprocess.run(
        [str(avr_size), "-A", str(elf)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise FirmwareBuildError(f"avr-size could not read {elf}: {result.stderr.strip()}")
    sizes = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def build_capture_firmware(
    out_dir: str | os.PathLike[str] = "build/avr", board: str = "uno"
) -> AvrFirmware:
    """Render the capture sketch for the Uno and build it with the real AVR core.

    Args:
        out_dir: Folder for the rendered sketch and its build.
        board: An AVR board profile; ``uno`` (ADXL335 on A0-A2) is the one there is.

    Raises:
        ToolchainMissingError: The tools are not installed.
        SketchError: The sketch could not be rendered.
        FirmwareBuildError: The build failed.
    """
    import tinybench

    find_avr_tools()
    sketch = tinybench.render_sketch(board, None, out_dir, sketch="tinybench_capture")
    fqbn = tinybench.get_board(board).fqbn
    return build_sketch(sketch, Path(out_dir) / "avr-build" / sketch.name, fqbn=fqbn)
