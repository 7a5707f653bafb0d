"""The flash/RAM budget check that runs before compiling."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tinybench.boards import get_board, list_boards
from tinybench.budget import ARENA_ALIGNMENT_MARGIN, budget_for, check_budget
from tinybench.errors import BudgetError, ConfigError


def test_vww_is_refused_on_the_uno_with_both_figures(reference_models_dir):
    path = reference_models_dir / "vww_96_int8.tflite"
    size = path.stat().st_size
    uno = get_board("uno")
    report = budget_for(path, "uno")
    assert report.model_bytes == size
    assert report.flash_needed == size + uno.runtime_flash_bytes
    assert not report.fits_flash
    assert report.arena_bytes is None  # never measured for a board that cannot run TFLM
    with pytest.raises(BudgetError) as err:
        check_budget(path, "uno")
    message = str(err.value)
    assert f"needs at least {size + uno.runtime_flash_bytes:,} B" in message
    assert f"uno has {uno.flash_bytes:,} B" in message
    assert f"short by {size + uno.runtime_flash_bytes - uno.flash_bytes:,} B" in message
    assert "cannot run TensorFlow Lite Micro" in message
    assert "Pruning does not shrink flash" in message


def test_a_tiny_model_is_still_refused_on_a_board_without_tflm(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    report = budget_for(model, "uno")
    assert report.fits_flash  # 2,704 B fits 32 KB ...
    assert not report.fits  # ... but the Uno cannot run TFLM at all
    with pytest.raises(BudgetError, match="cannot run TensorFlow Lite Micro"):
        check_budget(model, "uno")


def test_ram_figures_come_from_the_measured_arena(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    nano = get_board("nano33ble")
    report = check_budget(model, nano, arena_bytes=1504)
    assert report.ram_needed == 1504 + ARENA_ALIGNMENT_MARGIN + nano.runtime_ram_bytes
    assert report.fits_ram and report.fits
    assert "arena 1,504 B measured" in report.summary()


def test_an_arena_too_big_for_ram_lists_the_boards_it_would_fit(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    arena = 300_000
    with pytest.raises(BudgetError, match="RAM") as err:
        check_budget(model, "nano33ble", arena_bytes=arena)
    message = str(err.value)
    fitting = [
        b.name
        for b in list_boards()
        if b.tflm and arena + ARENA_ALIGNMENT_MARGIN + b.runtime_ram_bytes <= b.ram_bytes
    ]
    assert fitting  # the Portenta H7 has 512 KB
    assert f"pick a board it would fit: {', '.join(fitting)}" in message
    assert "flash" in message and "262,144 B" in message


def test_a_profile_is_used_as_is():
    profile = SimpleNamespace(flash_model_bytes=15_192, arena_bytes=24_000, runnable_on_mcu=True)
    report = check_budget(profile, "nano33ble")
    assert (report.model_bytes, report.arena_bytes) == (15_192, 24_000)


def test_a_profile_not_runnable_on_a_microcontroller_is_refused():
    profile = SimpleNamespace(
        flash_model_bytes=21_000,
        arena_bytes=None,
        runnable_on_mcu=False,
        reason="float16 model: DEQUANTIZE fails to prepare in TFLM",
    )
    with pytest.raises(BudgetError, match="cannot run on a microcontroller") as err:
        check_budget(profile, "portenta_h7")
    assert "float16 model" in str(err.value)
    assert "int8" in str(err.value)


def test_an_export_folder_and_a_variant_are_accepted(tmp_path, reference_models_dir):
    data = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    (tmp_path / "model.tflite").write_bytes(data)
    assert budget_for(tmp_path, "nano33ble", arena_bytes=1504).model_bytes == len(data)
    variant = SimpleNamespace(tflite=data, name="hello")
    assert budget_for(variant, "nano33ble", arena_bytes=1504).model_bytes == len(data)


@pytest.mark.parametrize("bad", [b"", 42, "no/such/model.tflite"])
def test_unusable_inputs_are_config_errors(bad):
    with pytest.raises(ConfigError):
        budget_for(bad, "nano33ble", arena_bytes=100)


def test_the_arena_is_measured_when_not_given(reference_models_dir):
    tflm = pytest.importorskip("tinybench.tflm")
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    report = budget_for(model, "nano33ble")
    assert report.arena_bytes == tflm.measure_arena(model)


def test_the_measured_arena_counts_the_larger_of_report_and_working_arena(reference_models_dir):
    tflm = pytest.importorskip("tinybench.tflm")
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    measured = tflm.arena_report(model)
    assert measured.required_bytes != measured.reported_bytes  # 1,936 vs 1,504 for hello_world
    nano = get_board("nano33ble")
    report = budget_for(model, nano)
    needed = -(-max(measured.reported_bytes, measured.required_bytes) // 16) * 16
    assert report.arena_required_bytes == measured.required_bytes
    assert report.ram_needed == needed + ARENA_ALIGNMENT_MARGIN + nano.runtime_ram_bytes


def test_a_caller_arena_is_rounded_up_to_16():
    nano = get_board("nano33ble")
    report = budget_for(b"\x00" * 100, nano, arena_bytes=1001)
    assert report.arena_bytes == 1001 and report.arena_needed == 1008
    assert report.ram_needed == 1008 + ARENA_ALIGNMENT_MARGIN + nano.runtime_ram_bytes


def test_known_ops_add_their_kernel_estimates_to_flash():
    profile = SimpleNamespace(
        flash_model_bytes=15_192, arena_bytes=24_000, op_names=("CONV_2D", "SOFTMAX")
    )
    nano = get_board("nano33ble")
    report = budget_for(profile, nano)
    assert report.runtime_flash_estimate == nano.runtime_flash_bytes + 8_000 + 3_000
    assert report.flash_needed == 15_192 + report.runtime_flash_estimate
    assert "needs about" in report.summary()  # an estimate, no longer a lower bound
