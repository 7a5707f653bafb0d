"""The self-checks of notebooks 02, 03 and 04: a right answer, wrong ones, and a placeholder."""

from __future__ import annotations

import gzip
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tinybench.measure.arena import tensor_arena_size
from tinybench.teach.pipeline_exercises import (
    check_fits_ram,
    check_flash_bytes,
    check_test_accuracy,
)

EVALUATION = SimpleNamespace(accuracy=0.9234, y_true=np.zeros(209), y_pred=np.zeros(209))


@pytest.mark.parametrize("answer", [92.34, 92, 93.2, 0.92])
def test_accuracy_within_one_point_is_right(answer):
    result = check_test_accuracy(answer, EVALUATION)
    assert result.right and bool(result) and result.message.startswith("Right")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(None, "replace ANSWER"), (..., "replace ANSWER"), ("92", "replace ANSWER"),
     (99.0, "too high"), (80, "too low"), (140, "between 0 and 100")],
)  # fmt: skip
def test_wrong_accuracy_gets_a_hint_not_the_solution(answer, hint):
    result = check_test_accuracy(answer, EVALUATION)
    assert not result.right and result.message.startswith("Not yet") and hint in result.message
    assert "92.3" not in result.message and "92 %" not in result.message


def row(arena: int, accuracy: float, runnable: bool = True, required=None) -> pd.Series:
    return pd.Series(
        {"recipe": "int8", "arena_bytes": arena, "arena_required_bytes": required,
         "accuracy": accuracy, "runnable_on_mcu": runnable}
    )  # fmt: skip


def test_small_accurate_variant_fits_32_kb():
    result = check_fits_ram(row(20_000, 0.93))
    assert result.right, result.message
    assert f"{tensor_arena_size(20_000):,}" in result.message


def test_ram_uses_the_sketch_rule_with_its_margins():
    # 31,800 B of arena is under 32 KB, but the sketch reserves it plus 16 + 1,024 B.
    assert tensor_arena_size(31_800) > 32_768
    result = check_fits_ram(row(31_800, 0.95))
    assert not result.right and "32,768" in result.message and "width" in result.message
    required = check_fits_ram(row(20_000, 0.95, required=32_000))
    assert not required.right  # the larger of reported and required counts


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "one row of the sweep's results"),
        (row(20_000, 0.85), "below 90%"),
        (row(20_000, float("nan")), "unknown"),
        (row(20_000, 0.95, runnable=False), "cannot run on a microcontroller"),
        (pd.DataFrame([row(1, 1.0), row(2, 1.0)]), "2 rows"),
        (pd.Series({"recipe": "int8"}), "no arena_bytes"),
        (42, "not a row"),
    ],
)
def test_wrong_variant_says_what_is_wrong(answer, hint):
    result = check_fits_ram(answer)
    assert not result.right and hint in result.message, result.message


def test_one_row_frame_and_custom_budget():
    frame = pd.DataFrame([row(60_000, 0.97)])
    assert check_fits_ram(frame, ram_bytes=65_536).right
    assert not check_fits_ram(frame).right


def test_variant_is_measured_and_needs_its_accuracy(reference_models_dir):
    tflite = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    variant = SimpleNamespace(tflite=tflite, runnable_on_mcu=True)
    assert check_fits_ram(variant, accuracy=0.95).right
    assert "unknown" in check_fits_ram(variant).message


@pytest.fixture
def exported(tmp_path):
    data = bytes(range(256)) * 40 + bytes(4000)  # compresses well, like a pruned model
    (tmp_path / "model.tflite").write_bytes(data)
    source = ",".join(f"0x{b:02x}" for b in data)
    (tmp_path / "model_data.cpp").write_text(
        f"alignas(16) const unsigned char m[] = {{{source}}};\n"
    )
    return SimpleNamespace(out_dir=tmp_path, data=data)


def test_flash_bytes_is_the_flatbuffer_length(exported):
    result = check_flash_bytes(len(exported.data), exported)
    assert result.right and "Gzip" in result.message


def test_wrong_flash_bytes_get_a_hint(exported):
    data = exported.data
    gzip_size = len(gzip.compress(data, compresslevel=9, mtime=0))
    source_size = (exported.out_dir / "model_data.cpp").stat().st_size
    cases = [(None, "replace ANSWER"), (gzip_size, "gzip size"), (source_size, "C source text"),
             (len(data) + 10, "to the byte"), (10, "byte for byte")]  # fmt: skip
    for answer, hint in cases:
        result = check_flash_bytes(answer, exported)
        assert not result.right and hint in result.message, (answer, result.message)
        assert str(len(data)) not in result.message
