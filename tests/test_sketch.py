"""Rendering the Arduino sketches, and running them on the host against stand-in libraries.

Rendered sketches are compiled with g++ (-Wall -Wextra -Werror, as C++14 like the mbed cores
and C++17) against tests/cpp/fake_arduino (Serial on stdin/stdout, virtual time, a synthetic
IMU) and tests/cpp/fake_tflm (an interpreter whose output is a known function of its input),
then driven with protocol commands; every line they print must parse with tinybench.wire.protocol.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cpp_build import gxx, needs_gxx, run_program
from model_factories import build_imu_model

from tinybench.deploy.export import ExportedModel, export_model
from tinybench.deploy.sketch import SKETCHES, render_sketch, sketch_config, sketches_dir
from tinybench.errors import ConfigError, ExportError, SketchError
from tinybench.wire.protocol import DeviceError, Dropped, Hello, Prediction, RawOutput, Sample
from tinybench.wire.protocol import parse_line as parse

REPO = Path(__file__).resolve().parents[1]
FAKE_ARDUINO = REPO / "tests" / "cpp" / "fake_arduino"
FAKE_TFLM = REPO / "tests" / "cpp" / "fake_tflm"
LABELS = ("idle", "wave", "punch")
NORMALIZATION = {"mean": [0, 0, 1, 0, 0, 0], "std": [0.5, 0.5, 0.5, 100, 100, 100]}
TFLITE_TYPES = {"int8": "kTfLiteInt8", "float32": "kTfLiteFloat32", "uint8": "kTfLiteUInt8"}


@pytest.fixture(scope="module")
def gesture(tmp_path_factory) -> ExportedModel:
    out = tmp_path_factory.mktemp("gesture") / "export"
    model = build_imu_model(window=8)
    return export_model(
        model, out, "gesture", labels=LABELS, sample_rate_hz=119, normalization=NORMALIZATION
    )


# --- rendering -----------------------------------------------------------------------------


def test_inference_sketch_folder_is_complete(gesture, tmp_path):
    folder = render_sketch("nano33ble", gesture, tmp_path)
    assert folder == tmp_path / "tinybench_inference"
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(
        [
            "tinybench_inference.ino",  # arduino-cli: the .ino is named after its folder
            "tinybench_config.h",
            "tinybench_protocol.h",
            "tinybench_imu.h",
            "tinybench_inference_core.h",  # the loop shared with the emulated firmware
            "model_data.h",
            "model_data.cpp",
            "model_settings.h",
            "op_resolver.h",
        ]
    )
    for path in gesture.source_files:
        assert (folder / path.name).read_bytes() == path.read_bytes()
    common = sketches_dir() / "common"
    assert (folder / "tinybench_protocol.h").read_bytes() == (
        common / "tinybench_protocol.h"
    ).read_bytes()
    config = (folder / "tinybench_config.h").read_text()
    assert '#define TINYBENCH_BOARD "nano33ble"' in config
    assert "#define TINYBENCH_IMU_LSM9DS1 1" in config
    assert "#define TINYBENCH_RATE_HZ 119.0" in config
    assert "#define TINYBENCH_HOP_SAMPLES 2" in config  # a quarter of the 8-sample window


@pytest.mark.parametrize(
    ("board", "macro"),
    [
        ("nano33ble", "TINYBENCH_IMU_LSM9DS1"),
        ("nano33ble_rev2", "TINYBENCH_IMU_BMI270"),
        ("nano_rp2040_connect", "TINYBENCH_IMU_LSM6DSOX"),
        ("uno", "TINYBENCH_IMU_ADXL335"),  # analog, on A0-A2
    ],
)
def test_capture_sketch_selects_the_imu_library(tmp_path, board, macro):
    folder = render_sketch(board, None, tmp_path, sketch="tinybench_capture")
    assert (folder / "tinybench_capture.ino").is_file()
    config = (folder / "tinybench_config.h").read_text()
    assert f"#define {macro} 1" in config
    assert f'#define TINYBENCH_BOARD "{board}"' in config
    assert not any(path.name.startswith("model") for path in folder.iterdir())


def test_inference_on_a_board_without_imu_renders_without_imu(gesture, tmp_path):
    config = (render_sketch("nano_esp32", gesture, tmp_path) / "tinybench_config.h").read_text()
    assert "TINYBENCH_IMU_" not in config and "No IMU on this board" in config


def test_uno_cannot_run_the_inference_sketch(gesture, tmp_path):
    with pytest.raises(SketchError, match="cannot run TensorFlow Lite Micro") as err:
        render_sketch("uno", gesture, tmp_path)
    assert "nano33ble" in str(err.value)  # the boards that can
    assert "tinybench_capture" in str(err.value)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("board", "exported", "sketch", "error", "message"),
    [
        ("nano_esp32", None, "tinybench_capture", SketchError, "has no IMU"),
        ("nano33ble", None, "tinybench_inference", SketchError, "needs a model"),
        ("nano33ble", None, "tinybench_blink", SketchError, "Unknown sketch 'tinybench_blink'"),
        ("nano34", None, "tinybench_capture", ConfigError, "Unknown board 'nano34'"),
    ],
)
def test_render_refusals(tmp_path, board, exported, sketch, error, message):
    with pytest.raises(error, match=message):
        render_sketch(board, exported, tmp_path, sketch=sketch)
    assert not any(tmp_path.iterdir())


def test_export_folder_path_is_accepted(gesture, tmp_path):
    folder = render_sketch("nano33ble", gesture.out_dir, tmp_path)
    assert (folder / "model_data.cpp").read_bytes() == gesture.model_data_cpp.read_bytes()
    with pytest.raises(ExportError, match="No exported model"):
        render_sketch("nano33ble", tmp_path / "missing", tmp_path)


def test_rendering_again_keeps_files_and_mtimes(gesture, tmp_path):
    folder = render_sketch("nano33ble", gesture, tmp_path)
    mtimes = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    # Model files are written first, the sketch itself last.
    assert max(mtimes[p.name] for p in gesture.source_files) <= mtimes["tinybench_inference.ino"]
    render_sketch("nano33ble", gesture, tmp_path)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == mtimes
    render_sketch("nano33ble_rev2", gesture, tmp_path)
    changed = {p.name for p in folder.iterdir() if p.stat().st_mtime_ns != mtimes[p.name]}
    assert changed == {"tinybench_config.h"}
    assert set(mtimes) == {path.name for path in folder.iterdir()}


def test_hop_samples(gesture):
    assert sketch_config("nano33ble", gesture).hop_samples == 2
    assert sketch_config("nano33ble", None, "tinybench_capture").hop_samples == 30  # 119 Hz / 4
    assert sketch_config("nano33ble", gesture, hop_samples=5).hop_samples == 5
    with pytest.raises(SketchError, match="hop_samples must be a whole number"):
        sketch_config("nano33ble", gesture, hop_samples=0)


def test_templates_exist_for_every_sketch():
    for sketch in SKETCHES:
        assert (sketches_dir() / sketch / f"{sketch}.ino").is_file()


# --- running the sketches on the host ------------------------------------------------------


def fake_tflm_defines(exported: ExportedModel, arena_needed: int = 0) -> list[str]:
    def scale(value: float) -> str:
        return f"{float(np.float32(value))!r}f"

    return [
        f"-DTB_FAKE_INPUT_BYTES={exported.input.nbytes}",
        f"-DTB_FAKE_OUTPUT_BYTES={exported.output.nbytes}",
        f"-DTB_FAKE_INPUT_TYPE={TFLITE_TYPES[exported.input.dtype]}",
        f"-DTB_FAKE_OUTPUT_TYPE={TFLITE_TYPES[exported.output.dtype]}",
        f"-DTB_FAKE_INPUT_SCALE={scale(exported.input.scale)}",
        f"-DTB_FAKE_INPUT_ZERO_POINT={exported.input.zero_point}",
        f"-DTB_FAKE_OUTPUT_SCALE={scale(exported.output.scale)}",
        f"-DTB_FAKE_OUTPUT_ZERO_POINT={exported.output.zero_point}",
        f"-DTB_FAKE_ARENA_NEEDED={arena_needed}",
    ]


def build_sketch(folder: Path, out: Path, *defines: str, std: str = "c++17") -> Path:
    sources = [str(FAKE_ARDUINO / "fake_arduino_main.cpp")]
    if (folder / "model_data.cpp").is_file():
        sources.append(str(folder / "model_data.cpp"))
    gxx(
        "-Wextra", "-I", folder, "-I", FAKE_ARDUINO, "-I", FAKE_TFLM, "-include", "Arduino.h",
        *defines, "-x", "c++", folder / f"{folder.name}.ino", "-x", "none", *sources, "-o", out,
        std=std,
    )  # fmt: skip
    return out


def run_sketch(program: Path, script: str) -> list:
    lines = run_program(program, stdin=script).splitlines()
    assert lines, "the sketch printed nothing"
    messages = [parse(line) for line in lines]
    dropped = [m for m in messages if isinstance(m, Dropped)]
    assert not dropped, dropped
    assert all(line[-3] == "*" for line in lines)  # every line carries its checksum
    return messages


def fake_output(payload: bytes, size: int) -> bytes:
    """What the stand-in interpreter computes (tests/cpp/fake_tflm/.../micro_interpreter.h)."""
    total = sum(byte * (j + 1) for j, byte in enumerate(payload))
    return bytes((total + 31 * i) % 256 for i in range(size))


@needs_gxx
@pytest.mark.parametrize("std", ["c++14", "c++17"])
def test_capture_sketch_streams_samples_on_the_host(tmp_path, std):
    folder = render_sketch("nano33ble_rev2", None, tmp_path, sketch="tinybench_capture")
    program = build_sketch(folder, tmp_path / "capture", "-DTB_FAKE_IMU_HZ=99.84f", std=std)
    messages = run_sketch(program, "?\nc\n#wait 500\nx\n#wait 100\nbogus\ni\n")
    hello = messages[1]  # after the boot hello
    assert isinstance(hello, Hello) and hello == messages[0]
    assert (hello.board, hello.sensor, hello.rate_hz) == ("nano33ble_rev2", "imu", 119.0)
    assert hello.fields == ("ax", "ay", "az", "gx", "gy", "gz")
    assert hello.units == ("g", "g", "g", "dps", "dps", "dps")
    assert hello.extra == {"imu": "BMI270", "imu_rate_hz": "99.84", "sketch": "capture"}
    samples = [m for m in messages if isinstance(m, Sample)]
    assert 57 <= len(samples) <= 61  # 0.5 s at 119 Hz
    assert [s.seq for s in samples] == list(range(len(samples)))
    steps = np.diff([s.t_us for s in samples])
    assert abs(np.median(steps) - 8403) < 100
    assert all(len(s.values) == 6 for s in samples)
    assert all(s.values[2] == pytest.approx(0.98) for s in samples)
    errors = [m.message for m in messages if isinstance(m, DeviceError)]
    assert len(errors) == 2
    assert "unknown command" in errors[0] and "'bogus'" in errors[0]
    assert "tinybench_inference" in errors[1]
    assert isinstance(messages[-1], DeviceError)  # nothing streamed after x


@needs_gxx
def test_capture_sketch_reports_an_imu_that_did_not_start(tmp_path):
    folder = render_sketch("nano33ble", None, tmp_path, sketch="tinybench_capture")
    program = build_sketch(folder, tmp_path / "capture", "-DTB_FAKE_IMU_FAILS")
    messages = run_sketch(program, "?\nc\n#wait 100\n")
    assert messages[-2].extra["imu"] == "none" and messages[-2].sensor == "none"
    assert isinstance(messages[-1], DeviceError)
    assert "LSM9DS1 IMU did not start" in messages[-1].message
    assert "nano33ble_rev2" in messages[-1].message
    assert not any(isinstance(m, Sample) for m in messages)


@needs_gxx
@pytest.mark.parametrize("std", ["c++14", "c++17"])
def test_inference_sketch_answers_v_and_i_on_the_host(gesture, tmp_path, std):
    folder = render_sketch("nano33ble", gesture, tmp_path)
    program = build_sketch(folder, tmp_path / "inference", *fake_tflm_defines(gesture), std=std)
    payload = bytes(range(gesture.input.nbytes))
    script = (
        f"?\nv {payload.hex()}\nv {payload[:5].hex()}\nv 01 02\ni\n#wait 300\nx\nc\n#wait 60\nx\n"
    )
    messages = run_sketch(program, script)
    hello = messages[1]
    assert isinstance(hello, Hello) and hello.labels == LABELS
    assert hello.extra["model"] == "gesture" and hello.extra["model_ok"] == "1"
    assert hello.extra["arena"] == str(gesture.arena_size)
    assert hello.extra["window"] == "8" and hello.extra["input_bytes"] == "48"
    assert messages[2] == RawOutput(0, fake_output(payload, gesture.output.nbytes))
    assert isinstance(messages[3], DeviceError)
    assert messages[3].message == "v needs 48 bytes of input (96 hex digits), got 5"
    assert "got 2" in messages[4].message
    predictions = [m for m in messages if isinstance(m, Prediction)]
    # 300 ms at 119 Hz is 35 samples: the first window is full at 8, then one every 2.
    assert 12 <= len(predictions) <= 16
    assert [p.seq for p in predictions] == list(range(len(predictions)))
    for prediction in predictions:
        assert len(prediction.scores) == len(LABELS) and prediction.latency_us > 0
        # int8 scores dequantized with scale 1/256 and zero point -128
        raw = np.array(prediction.scores) * 256 - 128
        np.testing.assert_allclose(raw, np.round(raw), atol=0.02)
    samples = [m for m in messages if isinstance(m, Sample)]
    assert 6 <= len(samples) <= 8 and samples[0].seq == 0  # no seq gap from inference mode
    assert not isinstance(messages[-1], Prediction)


@needs_gxx
def test_inference_sketch_with_a_reference_model_refuses_live_input(reference_models_dir, tmp_path):
    exported = export_model(
        reference_models_dir / "micro_speech_quantized.tflite", tmp_path / "export", "speech"
    )
    folder = render_sketch("nano33ble", exported, tmp_path)
    program = build_sketch(folder, tmp_path / "inference", *fake_tflm_defines(exported))
    payload = bytes((7 * i) % 256 for i in range(exported.input.nbytes))
    messages = run_sketch(program, f"i\nv {payload.hex()}\n")
    assert isinstance(messages[1], DeviceError)
    assert "live inference needs a model input" in messages[1].message
    assert messages[2] == RawOutput(0, fake_output(payload, exported.output.nbytes))


@needs_gxx
def test_inference_sketch_reports_an_arena_too_small(gesture, tmp_path):
    folder = render_sketch("nano_esp32", gesture, tmp_path)
    defines = fake_tflm_defines(gesture, arena_needed=gesture.arena_size + 1)
    program = build_sketch(folder, tmp_path / "inference", *defines)
    messages = run_sketch(program, "?\nv 00\ni\nc\n")
    hello, error = messages[2], messages[3]
    assert hello.extra["model_ok"] == "0" and "arena_used" not in hello.extra
    assert hello.sensor == "none" and hello.extra["imu"] == "none"
    assert "AllocateTensors() failed" in error.message
    assert all("no model is loaded" in m.message for m in messages[4:6])
    assert "IMU did not start" in messages[6].message
