"""Measured sizes and latency: a TargetFootprint in the budget, the profile and deploy.

The math and the labels are checked on a footprint written here; ``target_footprint`` itself
builds and runs hello_world's firmware (marked ``firmware``), and without the toolchain it
returns ``None`` and every figure stays an "estimate".
"""

from __future__ import annotations

import dataclasses
import logging

import pytest
from firmware_support import CACHE, library_or_skip, toolchain_or_skip

from tinybench.boards import get_board
from tinybench.emulate import footprint as footprint_module
from tinybench.emulate.footprint import target_footprint
from tinybench.emulate.latency import CPI
from tinybench.errors import LibraryMissingError, ToolchainMissingError
from tinybench.measure.arena import tensor_arena_size
from tinybench.measure.budget import check_budget
from tinybench.measure.profile import profile
from tinybench.measure.target import CORE_ESTIMATES, TargetFootprint, core_estimate

NANO = get_board("nano33ble")
MBED = CORE_ESTIMATES["arduino:mbed_nano"]
FOOTPRINT = TargetFootprint(
    source="arm-none-eabi-g++ 12.2.1 + Chirale_TensorFLowLite 2.0.0, qemu-mps2-an386",
    flash_split=(("model", 2_704), ("tflm", 24_779), ("kernels", 8_652), ("rest", 33_425)),
    flash_bytes=69_560,
    data_bytes=5_232,
    bss_bytes=18_792,
    stack_bytes=32_768,
    arena_reserved_bytes=2_976,
    arena_used_bytes=820,
    instructions=3_640,
    op_instructions=(("FULLY_CONNECTED", 1_240), ("FULLY_CONNECTED", 1_680)),
    cpi=2.5,
    cpi_basis="a test basis",
)


def test_flash_is_the_linked_total_plus_the_core_estimate():
    assert FOOTPRINT.flash_needed(NANO) == 69_560 + MBED.flash_bytes
    assert "linked 69,560 B" in FOOTPRINT.flash_text(NANO)


def test_ram_is_linked_data_bss_plus_stack_plus_core_with_the_larger_arena():
    linked = 5_232 + 18_792
    # The host measured more than the target: the linked kTensorArenaSize stays.
    assert FOOTPRINT.arena_reserve(1_504, 1_936) == tensor_arena_size(1_504, 1_936) == 2_976
    assert FOOTPRINT.ram_needed(NANO, 1_504, 1_936) == linked + 32_768 + MBED.ram_bytes
    # The target needs more than the host measured: the arena rule grows the reserve.
    bigger = dataclasses.replace(FOOTPRINT, arena_used_bytes=5_000)
    grown = tensor_arena_size(5_000, 1_936)
    assert bigger.ram_needed(NANO, 1_504, 1_936) == linked - 2_976 + grown + 32_768 + 44_552


def test_latency_is_instructions_times_cpi_over_the_board_clock():
    assert FOOTPRINT.latency_ms(NANO) == pytest.approx(3_640 * 2.5 / 64e6 * 1000)
    assert dataclasses.replace(FOOTPRINT, instructions=None).latency_ms(NANO) is None
    assert "3,640 instructions x CPI 2.500 / 64 MHz; a test basis" in FOOTPRINT.latency_text(NANO)


def test_the_footprint_stands_only_for_cortex_m4_boards():
    assert FOOTPRINT.applies_to(NANO) and FOOTPRINT.applies_to(get_board("nano33ble_rev2"))
    for name in ("nano_rp2040_connect", "portenta_h7", "uno", "nano_esp32"):
        assert not FOOTPRINT.applies_to(get_board(name))
    assert core_estimate(get_board("nano_esp32")).flash_bytes == 0


def test_budget_with_a_target_uses_linked_figures(reference_models_dir):
    model = reference_models_dir / "hello_world_int8.tflite"
    estimate = check_budget(model, NANO)
    linked = check_budget(model, NANO, target=FOOTPRINT)
    assert estimate.basis == "estimate" and linked.basis == "linked"
    assert linked.flash_needed == 69_560 + MBED.flash_bytes != estimate.flash_needed
    assert linked.ram_needed == 24_024 + 32_768 + MBED.ram_bytes
    assert linked.fits
    summary = linked.summary()
    assert "linked 69,560 B" in summary and "core estimate 85,328 B" in summary
    assert "target 820 B, host 1,504 B" in summary
    # On a board the firmware does not stand for, the estimates stay.
    assert check_budget(model, "nano_rp2040_connect", target=FOOTPRINT).basis == "estimate"


def test_budget_with_a_target_refuses_what_the_linked_ram_does_not_fit(reference_models_dir):
    model = reference_models_dir / "hello_world_int8.tflite"
    huge = dataclasses.replace(FOOTPRINT, bss_bytes=300_000)
    report = check_budget(model, NANO, target=huge)
    assert report.fits_ram is False and not report.fits
    assert any("RAM: needs" in problem and "linked" in problem for problem in report.problems)


def test_profile_with_a_target_says_linked_and_without_says_estimate(reference_models_dir):
    model = reference_models_dir / "hello_world_int8.tflite"
    plain = profile(model, NANO)
    measured = profile(model, NANO, target=FOOTPRINT)
    assert plain.target is None and plain.to_row()["size_basis"] == "estimate"
    assert "estimate from MACs" in plain.summary() and "linked" not in plain.summary()
    assert measured.to_row()["size_basis"] == "linked"
    assert measured.flash_total_estimate == 69_560 + MBED.flash_bytes
    assert measured.latency_ms_estimate == pytest.approx(FOOTPRINT.latency_ms(NANO))
    text = measured.summary()
    assert "linked + estimate" in text and "measured on the target build" in text
    assert "from instructions: 3,640 instructions x CPI 2.500" in text
    assert "estimate from MACs" not in text
    # Moved to a board the footprint does not stand for, the profile is an estimate again.
    other = measured.on_board("nano_rp2040_connect")
    assert other.to_row()["size_basis"] == "estimate" and "estimate from MACs" in other.summary()


@pytest.mark.parametrize(
    "missing",
    [ToolchainMissingError("arm-none-eabi-g++ is not installed"), LibraryMissingError("no lib")],
    ids=["toolchain", "library"],
)
def test_missing_tools_give_no_footprint_and_an_estimate(
    missing, reference_models_dir, tmp_path, monkeypatch, caplog
):
    def absent():
        raise missing

    toolchain = absent if isinstance(missing, ToolchainMissingError) else lambda: None
    monkeypatch.setattr(footprint_module, "find_arm_toolchain", toolchain)
    monkeypatch.setattr(footprint_module, "find_qemu", lambda: None)
    monkeypatch.setattr(footprint_module, "find_tflm_library", absent)
    model = reference_models_dir / "hello_world_int8.tflite"
    with caplog.at_level(logging.WARNING, logger="tinybench.emulate.footprint"):
        assert target_footprint(model, NANO, work_dir=tmp_path) is None
    assert str(missing) in caplog.text
    assert list(tmp_path.iterdir()) == []  # nothing exported or built
    assert "estimate" in profile(model, NANO, target=None).summary()


def test_boards_without_a_cortex_m4_get_no_footprint(reference_models_dir, tmp_path):
    model = reference_models_dir / "hello_world_int8.tflite"
    assert target_footprint(model, "nano_rp2040_connect", work_dir=tmp_path) is None
    assert target_footprint(model, "uno", work_dir=tmp_path) is None


@pytest.mark.firmware
def test_target_footprint_of_hello_world(reference_models_dir, tmp_path):
    toolchain_or_skip(qemu=True)
    library = library_or_skip()
    model = reference_models_dir / "hello_world_int8.tflite"
    kwargs = {"cache_dir": CACHE, "work_dir": tmp_path, "library": library}
    measured = target_footprint(model, NANO, **kwargs)
    assert measured is not None
    assert "arm-none-eabi-g++" in measured.source and "qemu-mps2-an386" in measured.source
    split = dict(measured.flash_split)
    assert split["model"] >= 2_704 and sum(split.values()) == measured.flash_bytes
    assert 0 < measured.arena_used_bytes <= measured.arena_reserved_bytes
    assert [name for name, _ in measured.op_instructions] == ["FULLY_CONNECTED"] * 3
    assert 0 < sum(n for _, n in measured.op_instructions) <= measured.instructions < 20_000
    assert measured.cpi == CPI and "MLPerf Tiny" in measured.cpi_basis
    # A second call relinks (object cache) and reads the run from its JSON cache.
    again = target_footprint(model, NANO, **kwargs)
    assert again == measured
    result = profile(model, NANO, target=measured)
    assert result.budget.basis == "linked" and "linked + estimate" in result.summary()
