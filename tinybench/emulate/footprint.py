"""A model's measured footprint on the emulated Cortex-M4F, for the budget and the profile.

:func:`target_footprint` builds the model's firmware (object cache in ``build/tflm-cache``),
reads its linked sizes, boots it once in QEMU, asks for the hello (the arena TFLM used on the
target) and runs one ``v`` with a zero input (the ``#profile`` line: instructions per
``Invoke()`` and per op). The result is a :class:`~tinybench.measure.target.TargetFootprint`,
cached as JSON next to the firmware, keyed by the ELF's SHA-256, so a second call only relinks.

Where the work goes: an export at ``<build>/export/<name>`` (the project's layout) links its
firmware in ``<build>/target`` and compiles into ``<build>/tflm-cache``; anything else uses
``build/`` in the working directory. ``TINYBENCH_TFLM_CACHE`` names another object cache.

It returns ``None``, and logs why, when the toolchain, QEMU or the TFLM library is missing,
when the board is not a Cortex-M4, or when the model cannot run on a microcontroller; callers
then keep their estimates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import serial

from tinybench.atomic import atomic_write
from tinybench.boards import Board, get_board
from tinybench.deploy.export import export_model
from tinybench.deploy.exported import ExportedModel, load_exported
from tinybench.emulate.board import InvokeProfile, parse_profile
from tinybench.emulate.firmware import FirmwareBuild, build_firmware
from tinybench.emulate.latency import ANCHOR_ERROR, ANCHORS, CPI
from tinybench.emulate.qemu import MACHINE, QemuBoard
from tinybench.emulate.tflm_library import (
    LIBRARY_NAME,
    TflmLibrary,
    find_tflm_library,
    object_cache_dir,
)
from tinybench.emulate.toolchain import find_arm_toolchain, find_qemu
from tinybench.errors import (
    EmulatorError,
    ExportError,
    LibraryMissingError,
    ToolchainMissingError,
)
from tinybench.measure.flatbuffer import load_model
from tinybench.measure.target import TARGET_CPUS, TargetFootprint
from tinybench.wire.protocol import Hello, parse_line

__all__ = ["CPI_BASIS", "target_footprint"]

log = logging.getLogger(__name__)

CPI_BASIS = (
    f"CPI calibrated on MLPerf Tiny v0.5 ({', '.join(a.model for a in ANCHORS)} on a "
    f"Cortex-M4 @ 120 MHz), within {ANCHOR_ERROR:.1%} there (docs/firmware.md)"
)
"""The basis stated beside every latency computed from instructions."""

"""Environment variable naming the TFLM object cache folder shared by every build."""

_CACHE_FILE = "footprint.json"
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")


def target_footprint(
    model: Any,
    board: str | Board = "nano33ble",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    library: TflmLibrary | None = None,
    timeout: float = 300.0,
) -> TargetFootprint | None:
    """Build and run ``model``'s firmware once and return what it measured, or ``None``.

    Args:
        model: An export folder (or :class:`~tinybench.deploy.exported.ExportedModel`), or
            anything ``export_model`` takes (``.tflite`` bytes or path, a ``Variant``), which
            is then exported under ``work_dir``.
        board: The board the figures are for; only Cortex-M4 boards get a footprint.
        cache_dir: Object cache of the TFLM library, shared by every build; default
            ``TINYBENCH_TFLM_CACHE``, else ``tflm-cache`` in the build folder (module docstring).
        work_dir: Where models given as bytes are exported and firmware is linked; default
            ``target`` in the build folder.
        library: The TFLM library; found with ``find_tflm_library()`` when ``None``.
        timeout: Seconds the emulated board may take to answer.

    Returns:
        The footprint, or ``None`` (logged with the reason) when it cannot be measured here.

    Raises:
        UnsupportedOpError: The model uses an op the library lacks.
        FirmwareBuildError: A compile or the link failed.
        EmulatorError: QEMU failed, or the firmware did not answer within ``timeout``.
        ExportError: An export folder given is incomplete.
    """
    board = get_board(board)
    if board.cpu not in TARGET_CPUS:
        log.info("No target footprint for %s: its CPU is %s, the emulated target a Cortex-M4F.",
                 board.name, board.cpu)  # fmt: skip
        return None
    try:
        find_arm_toolchain()
        find_qemu()
        library = library or find_tflm_library()
    except (ToolchainMissingError, LibraryMissingError) as exc:
        log.warning("No target footprint, the figures stay estimates: %s", exc)
        return None
    root = _build_root(model)
    work = Path(work_dir) if work_dir is not None else root / "target"
    export = _export_dir(model, work)
    if export is None:
        return None
    cache = object_cache_dir(cache_dir, root)
    out = work / "firmware" / _export_key(export)
    build = build_firmware(export.out_dir, out, cache_dir=cache, library=library)
    return _cached_or_measured(build, export, library, timeout)


def _build_root(model: Any) -> Path:
    """``<build>`` for an export at ``<build>/export/<name>``, else ``build``."""
    folder = getattr(model, "out_dir", model)
    if isinstance(folder, str | os.PathLike) and Path(folder).parent.name == "export":
        return Path(folder).parent.parent
    return Path("build")


def _export_dir(model: Any, work_dir: Path) -> ExportedModel | None:
    """The export folder of ``model``, exporting it under ``work_dir`` when it is not one."""
    if isinstance(model, ExportedModel):
        return model
    if isinstance(model, str | os.PathLike) and Path(model).is_dir():
        return load_exported(model)
    data, info = load_model(model)
    if not info.runnable_on_mcu:
        log.info("No target footprint: the model cannot run on a microcontroller (%s).",
                 info.mcu_reason)  # fmt: skip
        return None
    out = work_dir / "exports" / hashlib.sha256(data).hexdigest()[:16]
    try:
        return load_exported(out)
    except ExportError:  # not exported yet, or half-written: export again
        name = getattr(model, "name", None)
        name = name if isinstance(name, str) and name.isidentifier() else "model"
        return export_model(model if hasattr(model, "tflite") else data, out, name)


def _export_key(export: ExportedModel) -> str:
    """A folder name for the export's firmware: its files' hashes together."""
    digest = hashlib.sha256(export.sha256.encode())
    for name, sha in export.file_sha256:
        digest.update(f"{name}={sha}".encode())
    return digest.hexdigest()[:16]


def _cached_or_measured(
    build: FirmwareBuild, export: ExportedModel, library: TflmLibrary, timeout: float
) -> TargetFootprint:
    """The footprint cached for this ELF, or a fresh run of it (then cached)."""
    elf_sha = hashlib.sha256(build.elf.read_bytes()).hexdigest()
    cache = build.build_dir / _CACHE_FILE
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text())
            if saved.pop("elf_sha256", None) == elf_sha:
                return _from_json(saved)
        except (ValueError, TypeError, KeyError) as exc:
            log.info("Ignoring the unreadable %s: %s", cache, exc)
    arena_used, profile = _run_once(build, export, timeout)
    footprint = TargetFootprint(
        source=_source(library), flash_split=tuple(build.flash_split.items()),
        flash_bytes=build.flash_bytes, data_bytes=build.data, bss_bytes=build.bss,
        stack_bytes=build.stack_bytes, arena_reserved_bytes=build.arena_bytes,
        arena_used_bytes=arena_used, instructions=profile.instructions,
        op_instructions=profile.ops, cpi=CPI, cpi_basis=CPI_BASIS,
    )  # fmt: skip
    atomic_write(cache, json.dumps({"elf_sha256": elf_sha, **dataclasses.asdict(footprint)}))
    return footprint


def _from_json(saved: dict[str, Any]) -> TargetFootprint:
    saved["flash_split"] = tuple((str(k), int(v)) for k, v in saved["flash_split"])
    saved["op_instructions"] = tuple((str(k), int(v)) for k, v in saved["op_instructions"])
    return TargetFootprint(**saved)


def _source(library: TflmLibrary) -> str:
    tools = find_arm_toolchain()
    match = _VERSION.search(tools.version.split(")")[-1]) or _VERSION.search(tools.version)
    compiler = f"arm-none-eabi-g++ {match.group(1) if match else tools.version}"
    return f"{compiler} + {LIBRARY_NAME} {library.version}, qemu-{MACHINE}"


def _run_once(
    build: FirmwareBuild, export: ExportedModel, timeout: float
) -> tuple[int, InvokeProfile]:
    """Boot the firmware, read its hello and one zero-input ``v``: (arena used, profile)."""
    zeros = bytes(export.input.nbytes)
    with QemuBoard(build.elf) as qemu:
        port = serial.serial_for_url(qemu.pty, baudrate=115200, timeout=0.05, write_timeout=60)
        try:
            qemu.run()
            port.write(b"?\n")
            hello = _read_until(port, timeout, lambda line: isinstance(parse_line(line), Hello))
            port.write(b"v " + zeros.hex().encode() + b"\n")
            line = _read_until(port, timeout, lambda line: parse_profile(line) is not None)
        finally:
            port.close()
    arena_used = int(parse_line(hello).extra.get("arena_used", 0))
    return arena_used, parse_profile(line)


def _read_until(port: serial.SerialBase, timeout: float, wanted: Any) -> str:
    """Read lines until ``wanted(line)``; raise on a device error line or after ``timeout``."""
    buffer, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        buffer += port.read(max(1, port.in_waiting))
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("ascii", errors="replace").strip()
            if line.startswith("!"):
                raise EmulatorError(f"The emulated board refused the footprint run: {line[1:]}")
            if wanted(line):
                return line
    raise EmulatorError(f"The emulated board did not answer within {timeout:g} s.")
