"""Board profiles: what a board is called, how much flash and RAM it has, and how fast it is.

Figures are the ones arduino-cli reports as the maximum program and data size for the board's
core, so a budget check here agrees with a real compile. Latency estimates use a per-MAC cycle
cost; they are estimates and are labelled so everywhere they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.errors import ConfigError

__all__ = ["Board", "board_for_usb_id", "get_board", "list_boards"]


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


_BOARDS: tuple[Board, ...] = (
    Board(
        name="nano33ble",
        title="Arduino Nano 33 BLE Sense (rev1)",
        fqbn="arduino:mbed_nano:nano33ble",
        flash_bytes=983_040,
        ram_bytes=262_144,
        clock_hz=64_000_000,
        cpu="cortex-m4f",
        sensors=("imu", "microphone", "color", "pressure", "humidity", "temperature"),
        imu="LSM9DS1",
        usb_ids=((0x2341, 0x805A), (0x2341, 0x005A), (0x2341, 0x8063)),
        note="nRF52840. The rev1 IMU is the LSM9DS1 (library Arduino_LSM9DS1).",
    ),
    Board(
        name="nano33ble_rev2",
        title="Arduino Nano 33 BLE Sense Rev2",
        fqbn="arduino:mbed_nano:nano33ble",
        flash_bytes=983_040,
        ram_bytes=262_144,
        clock_hz=64_000_000,
        cpu="cortex-m4f",
        sensors=("imu", "microphone", "color", "pressure", "humidity", "temperature"),
        imu="BMI270+BMM150",
        usb_ids=((0x2341, 0x805A), (0x2341, 0x005A), (0x2341, 0x8063)),
        note="nRF52840 with the BMI270/BMM150 IMU (library Arduino_BMI270_BMM150); same "
        "USB IDs as rev1, so find_boards() cannot tell them apart: the capture sketch's "
        "hello says which IMU answered.",
    ),
    Board(
        name="nano_rp2040_connect",
        title="Arduino Nano RP2040 Connect",
        fqbn="arduino:mbed_nano:nanorp2040connect",
        flash_bytes=16_777_216,
        ram_bytes=270_336,
        clock_hz=133_000_000,
        cpu="cortex-m0+",
        sensors=("imu", "microphone"),
        imu="LSM6DSOX",
        usb_ids=((0x2341, 0x005E), (0x2341, 0x805E)),
        cycles_per_mac_int8=6.0,
        cycles_per_mac_float=40.0,
        imu_rate_hz=104.0,
        note="RP2040 (Cortex-M0+, no FPU, no DSP instructions): int8 only in practice.",
    ),
    Board(
        name="nano_esp32",
        title="Arduino Nano ESP32",
        fqbn="arduino:esp32:nano_nora",
        flash_bytes=3_145_728,
        ram_bytes=327_680,
        clock_hz=240_000_000,
        cpu="xtensa-lx7",
        usb_ids=((0x2341, 0x0070), (0x2341, 0x1070)),
        cycles_per_mac_int8=2.5,
        cycles_per_mac_float=4.0,
        runtime_flash_bytes=320_000,
        runtime_ram_bytes=40_000,
        note="ESP32-S3; no on-board IMU. Flash is the default app partition (3 MB).",
    ),
    Board(
        name="portenta_h7",
        title="Arduino Portenta H7 (M7 core)",
        fqbn="arduino:mbed_portenta:envie_m7",
        flash_bytes=786_432,
        ram_bytes=523_624,
        clock_hz=480_000_000,
        cpu="cortex-m7",
        usb_ids=((0x2341, 0x025B), (0x2341, 0x035B), (0x2341, 0x045B)),
        cycles_per_mac_int8=1.0,
        cycles_per_mac_float=2.0,
        runtime_flash_bytes=180_000,
        note="STM32H747, M7 core at 480 MHz; the default flash split gives the M7 768 KB.",
    ),
    Board(
        name="pico",
        title="Raspberry Pi Pico (Arduino Mbed OS RP2040 core)",
        fqbn="arduino:mbed_rp2040:pico",
        flash_bytes=16_777_216,
        ram_bytes=270_336,
        clock_hz=133_000_000,
        cpu="cortex-m0+",
        usb_ids=((0x2E8A, 0x000A), (0x2E8A, 0x0003)),
        tflm_library=None,
        cycles_per_mac_int8=6.0,
        cycles_per_mac_float=40.0,
        note="RP2040 with the Arduino core; no sensors on board. Chirale_TensorFLowLite does "
        "not list mbed_rp2040, so add TFLM yourself (the Nano RP2040 Connect core works).",
    ),
    Board(
        name="uno",
        title="Arduino Uno (ATmega328P)",
        fqbn="arduino:avr:uno",
        flash_bytes=32_256,
        ram_bytes=2_048,
        clock_hz=16_000_000,
        cpu="avr8",
        usb_ids=((0x2341, 0x0043), (0x2341, 0x0001), (0x2A03, 0x0043), (0x2341, 0x0243)),
        tflm=False,
        tflm_library=None,
        cycles_per_mac_int8=20.0,
        cycles_per_mac_float=150.0,
        runtime_flash_bytes=2_000,
        runtime_ram_bytes=300,
        imu_rate_hz=50.0,
        note="8-bit AVR with 2 KB of RAM: it cannot run TensorFlow Lite Micro. It can stream "
        "samples for capture.",
    ),
)

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
            "Pick one of these, or add a Board profile in tinybench/boards.py."
        ) from None


def board_for_usb_id(vid: int | None, pid: int | None) -> Board | None:
    """Return the first board that enumerates with this USB VID/PID, or ``None``."""
    if vid is None or pid is None:
        return None
    for board in _BOARDS:
        if (vid, pid) in board.usb_ids:
            return board
    return None
