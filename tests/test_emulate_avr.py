"""The capture sketch on a real Arduino core: built by Debian's AVR core, run in simavr.

The Uno profile of tinybench_capture is built with arduino-builder + arduino-core-avr + avr-gcc,
run on simavr's ATmega328P at 16 MHz behind tinybench/emulate/simavr/bridge.c, and recorded
through the bridge's pty by tinybench.Recorder. The ADC is fed an ADXL335 reading of the
virtual board's gesture synth. Skipped, with the install command as the reason, where the
tools are missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tinybench
from tinybench.emulate import adxl335, avr, simavr
from tinybench.errors import EmulatorError, FirmwareBuildError, ToolchainMissingError

pytestmark = pytest.mark.firmware

FEED_RATE_HZ = 1000.0
FEED_SECONDS = 12.0
BOOT_S = 0.3
RECORD_SECONDS = 3.0
REF_MV = 5000
LSB_MV = REF_MV / 1024  # one step of the Uno's 10-bit ADC at the 5 V AVCC reference
LSB_G = LSB_MV / adxl335.ADXL335_MV_PER_G  # 14.8 mg
# The fed signal starts at the chip's reset, micros() about 0.25 ms later (after the C runtime
# copies .data and runs the constructors and init()). The three conversions of a sample start
# in the 0.25 ms after the sketch reads micros() for t_us (three analogRead()s of 13 ADC
# clocks at 125 kHz), plus interrupts. So each conversion sampled the feed at a time in
# [t_us, t_us + CONVERSION_WINDOW_US] on the feed's clock.
CONVERSION_WINDOW_US = 1000


@pytest.fixture(scope="module")
def tools() -> avr.AvrTools:
    try:
        return avr.find_avr_tools()
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def firmware(tools: avr.AvrTools, tmp_path_factory: pytest.TempPathFactory) -> avr.AvrFirmware:
    return avr.build_capture_firmware(tmp_path_factory.mktemp("uno"))


@pytest.fixture(scope="module")
def feed() -> np.ndarray:
    return adxl335.gesture_millivolts("wave", FEED_SECONDS, seed=3, rate_hz=FEED_RATE_HZ)


@pytest.fixture(scope="module")
def board(
    firmware: avr.AvrFirmware, feed: np.ndarray, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[tinybench.Link, tinybench.Hello | None, float]]:
    """An open link to the emulated Uno, with the boot hello it sent after the auto-reset."""
    cache = tmp_path_factory.mktemp("bridge-cache")
    with simavr.run_simavr(
        firmware, adc_mv=feed, adc_rate_hz=FEED_RATE_HZ, boot_s=BOOT_S, cache_dir=cache
    ) as pty:
        opened = time.monotonic()
        link = tinybench.open_link(pty)
        try:
            deadline = opened + BOOT_S + 3.0
            while link.hello is None and time.monotonic() < deadline:
                time.sleep(0.01)
            yield link, link.hello, time.monotonic() - opened
        finally:
            link.close()


def test_the_capture_sketch_builds_with_the_real_avr_core(firmware: avr.AvrFirmware) -> None:
    assert firmware.elf.is_file()
    assert firmware.fqbn == "arduino:avr:uno"
    uno = tinybench.get_board("uno")
    assert 2_000 < firmware.flash_bytes < uno.flash_bytes
    # Leave at least 640 bytes of the 2 KB for the stack (the sketch's deepest call is a few
    # hundred bytes) and the core.
    assert firmware.ram_bytes <= uno.ram_bytes - 640, firmware
    assert firmware.build_seconds < 60


def test_a_build_error_names_file_and_line(tools: avr.AvrTools, tmp_path: Path) -> None:
    sketch = tmp_path / "broken"
    sketch.mkdir()
    (sketch / "broken.ino").write_text("void setup() { undeclared(); }\nvoid loop() {}\n")
    with pytest.raises(FirmwareBuildError) as err:
        avr.build_sketch(sketch)
    assert "broken.ino:1:" in str(err.value)
    assert "undeclared" in str(err.value)


def test_boot_hello_after_auto_reset(board: tuple[tinybench.Link, tinybench.Hello | None, float]):
    link, hello, seconds = board
    assert hello is not None, f"no boot hello {seconds:.2f} s after opening the port"
    assert seconds >= BOOT_S  # sent by the sketch once the emulated bootloader is done
    assert hello.board == "uno"
    assert hello.sensor == "adxl335"
    assert hello.fields == ("ax", "ay", "az")
    assert hello.units == ("g", "g", "g")
    assert hello.rate_hz == tinybench.get_board("uno").imu_rate_hz
    assert hello.extra.get("adc_ref_mv") == str(REF_MV)
    assert not hello.virtual
    assert link.stats.dropped == {} or sum(link.stats.dropped.values()) == 0


def test_recorder_captures_what_was_fed(
    board: tuple[tinybench.Link, tinybench.Hello | None, float],
    feed: np.ndarray,
    tmp_path: Path,
) -> None:
    link, _, _ = board
    recorder = tinybench.Recorder(link, dataset="uno", data_dir=tmp_path, hello_timeout=5.0)
    session = recorder.record("wave", seconds=RECORD_SECONDS)
    rate = tinybench.get_board("uno").imu_rate_hz

    assert session.lost_samples == 0
    assert sum(session.dropped_lines.values()) == 0, session.dropped_lines
    assert session.samples >= int(RECORD_SECONDS * rate) - 1
    assert session.measured_rate_hz == pytest.approx(rate, rel=0.01)

    table = pd.read_csv(session.path)
    assert list(table.columns[-3:]) == ["ax", "ay", "az"]
    assert (np.diff(table["seq"]) == 1).all()
    values = table[["ax", "ay", "az"]].to_numpy()
    t_us = table["t_us"].to_numpy()

    # The feed rows each conversion can have sampled: from t_us to t_us + the conversion window.
    first = (t_us * FEED_RATE_HZ / 1e6).astype(int)
    last = ((t_us + CONVERSION_WINDOW_US) * FEED_RATE_HZ / 1e6).astype(int)
    span = int(np.ceil(CONVERSION_WINDOW_US * FEED_RATE_HZ / 1e6))
    rows = np.minimum(first[None, :] + np.arange(span + 1)[:, None], last)  # (span+1, samples)
    assert rows.max() < len(feed), "the recording outran the fed signal"
    candidates = feed[rows]  # millivolts, (span + 1, samples, 3)

    # Bit-exact: the value sent is the sketch's float32 decoding of simavr's 10-bit code of one
    # of the fed voltages, printed to 4 decimals.
    decoded = adxl335.adxl335_g(adxl335.simavr_adc_code(candidates, REF_MV), REF_MV)
    exact = (np.abs(decoded - values) <= 0.5e-4 + 1e-6).any(axis=0)
    assert exact.all(), np.argwhere(~exact)[:5]

    # Physical bound: within 1.2 ADC steps (17.8 mg) of the acceleration fed: half a step from
    # decoding the middle of the step, up to 0.66 step more below from simavr's mV * 1023 / Vref
    # at 3.3 V, and the feed's whole-millivolt rounding.
    fed_g = (candidates - adxl335.ADXL335_ZERO_MV) / adxl335.ADXL335_MV_PER_G
    error = np.min(np.abs(fed_g - values), axis=0)
    assert error.max() <= 1.2 * LSB_G, error.max()
    # The signal really moved: a wave is more than a few ADC steps of motion.
    assert np.ptp(values, axis=0).max() > 20 * LSB_G


def test_round_trip_through_the_pty(
    board: tuple[tinybench.Link, tinybench.Hello | None, float],
) -> None:
    link, _, _ = board
    started = time.monotonic()
    hello = link.request_hello(timeout=2.0)
    seconds = time.monotonic() - started
    assert hello.board == "uno"
    # The 112-byte hello alone takes 9.5 ms at 115200 baud; the rest is the pty and the reader.
    assert seconds < 0.5


def test_missing_firmware_is_a_clear_error(tools: avr.AvrTools, tmp_path: Path) -> None:
    with (
        pytest.raises(EmulatorError, match="No firmware at"),
        simavr.run_simavr(tmp_path / "x.elf"),
    ):
        pass


def test_adxl335_millivolts_clip_to_the_range_of_the_part() -> None:
    mv = adxl335.adxl335_millivolts(np.array([0.0, 1.0, -1.0, 10.0, -10.0]))
    assert mv.tolist() == [1650, 1980, 1320, 1650 + round(330 * 3.6), 1650 - round(330 * 3.6)]


AVR_FORMAT_SKETCH = r"""
#include "tinybench_protocol.h"

// What LineWriter writes on an 8-bit AVR, where double is 32 bits and uint64_t is slow.
static char line[64];

static void show(double value, int decimals) {
  tinybench::LineWriter writer(line, sizeof(line));
  writer.text("f,").fixed(value, decimals);
  Serial.write(line, writer.finish());
}

void setup() {
  Serial.begin(115200);
  volatile float zero = 0.0f;
  show(1.0 / zero, 4);
  show(-1.0 / zero, 4);
  show(zero / zero, 4);
  show(0.5, 4);
  show(-1.25, 4);
  show(12.0625, 4);
  show(4095.5, 1);
  show(1.0e30, 4);
  show(3.0e38, 2);
  tinybench::LineWriter writer(line, sizeof(line));
  writer.text("n,").unsigned_number(4294967295UL).put(',').signed_number(-2147483647L - 1);
  Serial.write(line, writer.finish());
  Serial.write("done\n");
}

void loop() {}
"""


def test_protocol_header_formats_numbers_on_avr(tools: avr.AvrTools, tmp_path: Path) -> None:
    """Infinity used to hang fixed() on AVR: 1.797e308 is inf in a 32-bit double."""
    serial = pytest.importorskip("serial")
    sketch = tmp_path / "format_check"
    sketch.mkdir()
    header = Path(__file__).resolve().parents[1] / "arduino_sketches/common/tinybench_protocol.h"
    (sketch / header.name).write_bytes(header.read_bytes())
    (sketch / "format_check.ino").write_text(AVR_FORMAT_SKETCH)
    firmware = avr.build_sketch(sketch)
    with simavr.run_simavr(firmware, boot_s=0.2, speed=0, cache_dir=tmp_path / "cache") as pty:
        port = serial.serial_for_url(pty, baudrate=115200, timeout=0.1)
        try:
            data, deadline = b"", time.monotonic() + 5.0
            while b"done\n" not in data and time.monotonic() < deadline:
                data += port.read(4096)
        finally:
            port.close()
    lines = [line.split("*")[0] for line in data.decode("ascii").splitlines()]
    assert lines[-1] == "done", lines
    assert lines[:7] == [
        "f,inf",
        "f,-inf",
        "f,nan",
        "f,0.5000",
        "f,-1.2500",
        "f,12.0625",
        "f,4095.5",
    ]
    assert lines[7].startswith("f,1.0000e3") or lines[7].startswith("f,9.9999e2"), lines[7]
    assert lines[8] in ("f,3.00e38", "f,2.99e38"), lines[8]
    assert lines[9] == "n,4294967295,-2147483648"
