"""Board profiles: what a board is called, how much flash and RAM it has, and how fast it is.

Figures are the ones arduino-cli reports as the maximum program and data size for the board's
core, so a budget check here agrees with a real compile. Latency estimates use a per-MAC cycle
cost; they are estimates and are labelled so everywhere they are shown. The profiles themselves
are data: one row per board in the packaged ``boards.json``, read here into frozen :class:`Board`
objects (a key Board does not know raises).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
from importlib import resources
from typing import Any

from tinybench.errors import ConfigError

__all__ = ["INTEGER_QUANTIZATIONS", "Board", "board_for_usb_id", "get_board", "list_boards"]

INTEGER_QUANTIZATIONS = frozenset({"int8", "int16x8"})
"""Quantizations whose TFLM kernels do integer arithmetic: ``cycles_per_mac_int8`` applies."""


@dataclass(frozen=True)
class Board:
    """A microcontroller board as tinybench sees it.

    Attributes:
        name: Short name used everywhere (``nano33ble``), also in ``sim://`` URLs.
        title: Human-readable name.
        fqbn: arduino-cli fully qualified board name.
        flash_bytes: Maximum program size the core allows, in bytes.
        ram_bytes: Maximum data (static + heap) size the core allows, in bytes.
        clock_hz: CPU clock.
        cpu: CPU core, for example ``cortex-m4f``.
        sensors: Sensors on the board.
        imu: IMU part number, if the board has one.
        usb_ids: (VID, PID) pairs the board enumerates with, in application and bootloader mode.
        tflm: Whether TensorFlow Lite Micro can run on this board at all.
        tflm_library: Arduino library that provides TFLM for this core, if any.
        cycles_per_mac_int8: Estimated CPU cycles per int8 multiply-accumulate.
        cycles_per_mac_float: Estimated CPU cycles per float32 multiply-accumulate.
        runtime_flash_bytes: Estimated flash taken by the core, the TFLM runtime and the sketch
            without the model array and without per-op kernels.
        runtime_ram_bytes: Estimated RAM taken by the core and the sketch without the arena.
        imu_rate_hz: Sample rate of the capture sketch's IMU stream.
        note: Anything a user should know before choosing this board.
    """

    name: str
    title: str
    fqbn: str
    flash_bytes: int
    ram_bytes: int
    clock_hz: int
    cpu: str
    sensors: tuple[str, ...] = ()
    imu: str | None = None
    usb_ids: tuple[tuple[int, int], ...] = ()
    tflm: bool = True
    tflm_library: str | None = "Chirale_TensorFLowLite"
    cycles_per_mac_int8: float = 2.0
    cycles_per_mac_float: float = 6.0
    runtime_flash_bytes: int = 120_000
    runtime_ram_bytes: int = 48_000
    imu_rate_hz: float = 119.0
    note: str = ""

    @property
    def platform(self) -> str:
        """The arduino-cli platform (core) id, for example ``arduino:mbed_nano``."""
        return ":".join(self.fqbn.split(":")[:2])

    def mac_latency_ms(self, macs: int, quantization: str) -> float:
        """Estimated milliseconds per inference from the model's MACs alone.

        MACs x cycles per MAC (``cycles_per_mac_int8`` for :data:`INTEGER_QUANTIZATIONS`,
        else ``cycles_per_mac_float``) / the clock. A firmware measured on a target gives a
        better figure (:meth:`tinybench.measure.target.TargetFootprint.latency_ms`).
        """
        integer = quantization in INTEGER_QUANTIZATIONS
        cycles = self.cycles_per_mac_int8 if integer else self.cycles_per_mac_float
        return macs * cycles / self.clock_hz * 1000.0


BOARDS_FILE = "boards.json"
"""The packaged table of board profiles: one JSON object per board, keys named as Board's fields.

A key left out takes the field's default; ``usb_ids`` are ``"VID:PID"`` hex strings.
"""

_FIELDS = {field.name: field for field in fields(Board)}
_REQUIRED = {name for name, field in _FIELDS.items() if field.default is MISSING}


def _board_from_row(row: dict[str, Any]) -> Board:
    """Return the frozen :class:`Board` for one row of :data:`BOARDS_FILE`.

    Raises:
        ConfigError: The row has a key Board does not know, or lacks a required one.
    """
    unknown, missing = set(row) - set(_FIELDS), _REQUIRED - set(row)
    if unknown or missing:
        raise ConfigError(
            f"Board profile {row.get('name')!r} in tinybench/{BOARDS_FILE} has unknown keys "
            f"{sorted(unknown)} and lacks {sorted(missing)}. Valid keys: {', '.join(_FIELDS)}. "
            "Fix the row to use Board's field names."
        )
    values = dict(row)
    values["sensors"] = tuple(row.get("sensors", ()))
    values["usb_ids"] = tuple(
        (int(vid, 16), int(pid, 16))
        for vid, pid in (usb_id.split(":") for usb_id in row.get("usb_ids", ()))
    )
    return Board(**values)


def _load_boards() -> tuple[Board, ...]:
    """Read :data:`BOARDS_FILE` from the installed package into frozen boards."""
    text = resources.files("tinybench").joinpath(BOARDS_FILE).read_text(encoding="utf-8")
    return tuple(_board_from_row(row) for row in json.loads(text))


_BOARDS = _load_boards()
_BY_NAME = {board.name: board for board in _BOARDS}


def list_boards() -> list[Board]:
    """Return every known board profile, in a stable order."""
    return list(_BOARDS)


def get_board(board: str | Board) -> Board:
    """Return the profile for ``board``.

    Args:
        board: A board name such as ``"nano33ble"``, or a :class:`Board`, returned unchanged.

    Raises:
        ConfigError: The name is unknown; the message lists the known names.
    """
    if isinstance(board, Board):
        return board
    try:
        return _BY_NAME[board]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise ConfigError(
            f"Unknown board {board!r}. Known boards: {known}. "
            f"Pick one of these, or add a board profile to tinybench/{BOARDS_FILE}."
        ) from None


def board_for_usb_id(vid: int | None, pid: int | None) -> Board | None:
    """Return the first board that enumerates with this USB VID/PID, or ``None``."""
    if vid is None or pid is None:
        return None
    for board in _BOARDS:
        if (vid, pid) in board.usb_ids:
            return board
    return None
