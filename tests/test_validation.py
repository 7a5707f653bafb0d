"""Host-vs-device validation against the virtual board, which runs the export through TFLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model_factories import export_for_virtual_board, tiny_int8_classifier

from tinybench.errors import ConfigError, ProtocolError
from tinybench.live.validation import ValidationReport, validate
from tinybench.wire.link import open_link

LABELS = ("idle", "wave", "punch", "flex")
WINDOW = 24


def tiny_tflite(seed: int, window: int = WINDOW) -> bytes:
    """A tiny untrained int8 conv1d classifier; different seeds give different weights."""
    return tiny_int8_classifier(len(LABELS), window, seed=seed, conv1d=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tiny"
    return export_for_virtual_board(tiny_tflite(0), out, LABELS, WINDOW)


@pytest.fixture
def link(exported):
    with open_link(f"sim://nano33ble?seed=1&model={exported.out_dir}") as link:
        yield link


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(16, WINDOW, 6))


def test_virtual_board_is_bit_exact_with_the_host(link, exported, inputs) -> None:
    report = validate(link, exported.tflite_path, inputs, progress=False)
    assert isinstance(report, ValidationReport)
    assert report.samples == 16 and report.virtual
    assert report.exact_match_rate == 1.0 and report.bit_exact
    assert report.top1_agreement == 1.0
    assert report.max_abs_diff_raw == 0 and report.max_abs_diff == 0 and report.relative_l2 == 0
    assert report.device_outputs.shape == (16, len(LABELS))
    assert report.device_outputs.dtype == np.int8
    np.testing.assert_array_equal(report.device_outputs, report.host_outputs)
    frame = report.to_frame()
    assert len(frame) == 16 and frame["exact"].all() and frame["top1_agrees"].all()
    assert "bit-exact" in report.summary() and "100.0%" in report.summary()


def test_raw_int8_inputs_are_sent_as_they_are(link, exported, inputs) -> None:
    from tinybench.measure.interpreters import TflmRunner, quantize

    raw = quantize(inputs, TflmRunner(exported.tflite_path).input)
    assert raw.dtype == np.int8
    by_float = validate(link, exported.read_tflite(), inputs, progress=False)
    by_raw = validate(link, exported.read_tflite(), raw, progress=False)
    np.testing.assert_array_equal(by_float.device_outputs, by_raw.device_outputs)
    assert by_raw.bit_exact


def test_a_different_model_on_the_host_side_is_caught(link, inputs, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.tflite"
    wrong.write_bytes(tiny_tflite(1))  # same shapes, other weights
    report = validate(link, wrong, inputs, progress=False)
    assert report.exact_match_rate < 1.0 and not report.bit_exact
    assert report.max_abs_diff_raw > 0 and report.max_abs_diff > 0
    assert report.relative_l2 > 0
    frame = report.to_frame()
    assert (~frame["exact"]).sum() == round((1 - report.exact_match_rate) * 16)
    expected_l2 = np.linalg.norm(report.device_values - report.host_values) / np.linalg.norm(
        report.host_values
    )
    assert report.relative_l2 == pytest.approx(expected_l2)
    assert "NOT bit-exact" in report.summary()


def test_wrong_input_length_names_the_expected_bytes(link) -> None:
    shorter = tiny_tflite(0, window=WINDOW // 2)  # the board's model takes WINDOW samples
    with pytest.raises(ProtocolError) as info:
        validate(link, shorter, np.zeros((2, WINDOW // 2, 6)), progress=False)
    message = str(info.value)
    assert f"needs {WINDOW * 6} bytes" in message  # what the board said
    assert f"takes {WINDOW // 2 * 6} bytes" in message  # what the host model sends
    assert "same exported model" in message


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        (np.zeros((0, WINDOW, 6)), "No inputs"),
        (np.zeros((3, 6, WINDOW)), r"shape \(24, 6\)"),
        (np.zeros((3, WINDOW, 6), dtype=np.int32), "dtype int32"),
    ],
)
def test_unusable_inputs_are_refused_before_anything_is_sent(link, exported, inputs, match):
    with pytest.raises(ConfigError, match=match):
        validate(link, exported.tflite_path, inputs, progress=False)
