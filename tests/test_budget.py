"""The flash/RAM budget check that runs before compiling."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tinybench.boards import get_board, list_boards
from tinybench.errors import BudgetError, ModelError
from tinybench.measure import check_budget, read_model
from tinybench.measure.arena import tensor_arena_size
from tinybench.measure.budget import kernel_flash_estimate


def sketch_ram(arena: int, board, required: int | None = None) -> int:
    """RAM the sketch takes: kTensorArenaSize by the one arena rule, plus the runtime."""
    return tensor_arena_size(arena, required) + board.runtime_ram_bytes


def test_vww_is_refused_on_the_uno_with_both_figures(reference_models_dir):
    path = reference_models_dir / "vww_96_int8.tflite"
    size = path.stat().st_size
    uno = get_board("uno")
    report = check_budget(path, "uno")
    kernels = kernel_flash_estimate(read_model(path).op_names)
    assert report.model_bytes == size
    assert report.flash_needed == size + uno.runtime_flash_bytes + kernels
    assert not report.fits_flash
    assert report.arena_bytes is None  # never measured for a board that cannot run TFLM
    with pytest.raises(BudgetError) as err:
        report.require()
    message = str(err.value)
    needed = size + uno.runtime_flash_bytes + kernels
    assert f"needs about {needed:,} B" in message
    assert f"uno has {uno.flash_bytes:,} B" in message
    assert f"short by {needed - uno.flash_bytes:,} B" in message
    assert "cannot run TensorFlow Lite Micro" in message
    assert "Pruning does not shrink flash" in message


def test_a_tiny_model_is_still_refused_on_a_board_without_tflm(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    report = check_budget(model, "uno")
    assert report.fits_flash  # 2,704 B fits 32 KB ...
    assert not report.fits  # ... but the Uno cannot run TFLM at all
    with pytest.raises(BudgetError, match="cannot run TensorFlow Lite Micro"):
        report.require()


def test_ram_figures_come_from_the_measured_arena(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    nano = get_board("nano33ble")
    report = check_budget(model, nano, arena_bytes=1504).require()
    assert report.ram_needed == 1504 + 16 + 1024 + nano.runtime_ram_bytes == sketch_ram(1504, nano)
    assert report.fits_ram and report.fits
    assert "arena 1,504 B measured" in report.summary()


def test_an_arena_too_big_for_ram_lists_the_boards_it_would_fit(reference_models_dir):
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    arena = 300_000
    with pytest.raises(BudgetError, match="RAM") as err:
        check_budget(model, "nano33ble", arena_bytes=arena).require()
    message = str(err.value)
    fitting = [b.name for b in list_boards() if b.tflm and sketch_ram(arena, b) <= b.ram_bytes]
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
        check_budget(profile, "portenta_h7").require()
    assert "float16 model" in str(err.value)
    assert "int8" in str(err.value)


def test_an_export_folder_and_a_variant_are_accepted(tmp_path, reference_models_dir):
    data = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    (tmp_path / "model.tflite").write_bytes(data)
    assert check_budget(tmp_path, "nano33ble", arena_bytes=1504).model_bytes == len(data)
    variant = SimpleNamespace(tflite=data, name="hello")
    assert check_budget(variant, "nano33ble", arena_bytes=1504).model_bytes == len(data)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 100, 42, "no/such/model.tflite"])
def test_unusable_inputs_are_model_errors(bad):
    with pytest.raises(ModelError):
        check_budget(bad, "nano33ble", arena_bytes=100)


def test_the_arena_is_measured_when_not_given(reference_models_dir):
    tflm = pytest.importorskip("tinybench.measure.tflm_arena")
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    report = check_budget(model, "nano33ble")
    assert report.arena_bytes == tflm.measure_arena(model)


def test_the_measured_arena_counts_the_larger_of_report_and_working_arena(reference_models_dir):
    tflm = pytest.importorskip("tinybench.measure.tflm_arena")
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    measured = tflm.arena_report(model)
    assert measured.required_bytes != measured.reported_bytes  # 1,936 vs 1,504 for hello_world
    nano = get_board("nano33ble")
    report = check_budget(model, nano)
    needed = -(-max(measured.reported_bytes, measured.required_bytes) // 16) * 16
    assert report.arena_required_bytes == measured.required_bytes
    assert report.ram_needed == needed + 16 + 1024 + nano.runtime_ram_bytes


def test_a_caller_arena_is_rounded_up_to_16(reference_models_dir):
    nano = get_board("nano33ble")
    model = reference_models_dir / "hello_world_int8.tflite"
    report = check_budget(model, nano, arena_bytes=1001)
    assert report.arena_bytes == 1001 and report.arena_needed == 1008
    assert report.tensor_arena_size == 1008 + 16 + 1024
    assert report.ram_needed == 1008 + 16 + 1024 + nano.runtime_ram_bytes


def test_known_ops_add_their_kernel_estimates_to_flash():
    profile = SimpleNamespace(
        flash_model_bytes=15_192, arena_bytes=24_000, op_names=("CONV_2D", "SOFTMAX")
    )
    nano = get_board("nano33ble")
    report = check_budget(profile, nano)
    assert report.runtime_flash_estimate == nano.runtime_flash_bytes + 8_000 + 3_000
    assert report.flash_needed == 15_192 + report.runtime_flash_estimate
    assert "needs about" in report.summary()  # an estimate, no longer a lower bound


@pytest.mark.parametrize("name", ["hello_world_int8.tflite", "micro_speech_quantized.tflite"])
@pytest.mark.parametrize("board", ["nano33ble", "portenta_h7"])
def test_budget_ram_is_what_the_exported_sketch_reserves(
    reference_models_dir, tmp_path, name, board
):
    """The RAM the fit check counts is the sketch's kTensorArenaSize plus the runtime RAM."""
    from tinybench.deploy import export_model

    model = reference_models_dir / name
    exported = export_model(model, tmp_path / "export")
    header = (tmp_path / "export" / "model_settings.h").read_text()
    reserved = int(re.search(r"kTensorArenaSize\s*=\s*(\d+)", header).group(1))
    target = get_board(board)
    report = check_budget(model, target)  # measures the arena itself
    assert report.tensor_arena_size == reserved == exported.arena_size
    assert report.ram_needed == reserved + target.runtime_ram_bytes
    assert reserved >= report.arena_needed + 16 + 1024  # the sketch margin is counted
