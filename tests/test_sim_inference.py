"""Inference on the virtual board: an exported int8 model in TFLM, through 'i' and 'v'."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from tinybench.errors import ConfigError
from tinybench.sim.board import VirtualBoard
from tinybench.sim.synth import FIELDS, UNITS, GestureSynth
from tinybench.wire import MessageQueue, open_link
from tinybench.wire.protocol import DeviceError, Prediction, RawOutput, parse_line

WINDOW = 119


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small conv1d, trained for one epoch on synthetic gestures, exported as int8."""
    from tinybench.deploy.export import export_model
    from tinybench.optimize import convert_int8
    from tinybench.train.models import conv1d_classifier

    synth = GestureSynth(seed=11)
    x = np.stack([synth.session(label, WINDOW) for label in synth.labels for _ in range(12)])
    y = np.repeat(np.arange(len(synth.labels)), 12)
    mean, std = x.mean(axis=(0, 1)), x.std(axis=(0, 1))
    model = conv1d_classifier((WINDOW, 6), len(synth.labels), width=0.25, seed=0)
    model.fit((x - mean) / std, y, epochs=1, verbose=0)
    tflite = convert_int8(model, (x - mean) / std)
    return export_model(
        tflite,
        tmp_path_factory.mktemp("export") / "gesture",
        "gesture",
        labels=synth.labels,
        window=WINDOW,
        sample_rate_hz=119.0,
        normalization={"mean": mean.tolist(), "std": std.tolist(), "fields": list(FIELDS)},
    )


@pytest.fixture(scope="module")
def runner(exported):
    from tinybench.measure.interpreters import TflmRunner

    return TflmRunner(exported.read_tflite())


def test_hello_lists_the_model_labels_and_says_latency_is_the_hosts(exported) -> None:
    with open_link(f"sim://nano33ble?model={exported.out_dir}") as link:
        hello = link.request_hello()
    assert hello.virtual
    assert hello.labels == exported.labels
    assert hello.extra["latency"] == "host"


def test_inference_mode_streams_predictions_that_sum_to_one(exported) -> None:
    with open_link(f"sim://nano33ble?seed=1&speed=0&model={exported.out_dir}") as link:
        predictions: list[Prediction] = []
        with MessageQueue(link) as sub:
            link.send("i")
            deadline = time.monotonic() + 10
            while len(predictions) < 20 and time.monotonic() < deadline:
                predictions += [m for m in sub.get(timeout=0.1) if isinstance(m, Prediction)]
            link.send("x")
        assert link.stats.samples == 0  # inference mode sends predictions, not samples
    assert len(predictions) >= 20
    assert [p.seq for p in predictions] == list(range(len(predictions)))
    for prediction in predictions:
        assert len(prediction.scores) == len(exported.labels)
        assert abs(sum(prediction.scores) - 1.0) < 0.02
        assert prediction.latency_us >= 0


def test_raw_outputs_are_bit_identical_to_tflm_on_the_host(exported, runner) -> None:
    rng = np.random.default_rng(0)
    with open_link(f"sim://nano33ble?model={exported.out_dir}") as link:
        for expected_seq in range(5):
            x = rng.integers(-128, 128, runner.input.shape, dtype=np.int8)
            answer = link.request("v", (RawOutput, DeviceError), payload=x.tobytes())
            assert isinstance(answer, RawOutput)
            assert answer.seq == expected_seq
            assert answer.data == runner.invoke(x).tobytes()
        wrong = link.request("v", (RawOutput, DeviceError), payload=b"\x00" * 5)
    assert isinstance(wrong, DeviceError)
    assert f"v needs {exported.input.nbytes} bytes" in wrong.message and "got 5" in wrong.message


class Recording:
    """A sensor that replays fixed data, so the host can compute the expected predictions."""

    fields, units, rate_hz = FIELDS, UNITS, 119.0

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def stream(self, block: int):
        for start in itertools.count(0, block):
            index = np.arange(start, start + block) % len(self.data)
            yield self.data[index]


def test_predictions_are_the_exported_pipeline_run_in_tflm(exported, runner) -> None:
    from tinybench.measure.interpreters import dequantize, quantize

    data = GestureSynth(seed=12).session("circle", 4000).astype(np.float64)
    board = VirtualBoard(source=Recording(data), model=exported.out_dir, speed=0)
    chunks: list[bytes] = []
    board.attach(chunks.append)
    board.handle("i")
    deadline = time.monotonic() + 10
    while b"".join(chunks).count(b"\n") < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    board.handle("x")
    board.close()
    lines = b"".join(chunks).decode("ascii").splitlines()[:100]  # over 2 blocks of samples
    assert len(lines) == 100
    predictions = [parse_line(line) for line in lines]
    assert len({p.scores for p in predictions}) > 1  # the window moves: scores change
    norm = exported.normalization
    stride = WINDOW // 4
    for n, prediction in enumerate(predictions):
        end = WINDOW + n * stride  # a prediction every stride samples once the window is full
        window = (data[end - WINDOW : end] - norm["mean"]) / norm["std"]
        raw = runner.invoke(quantize(window, runner.input).reshape(runner.input.shape))
        expected = [float(f"{v:.4f}") for v in dequantize(raw, runner.output).ravel()]
        assert prediction == Prediction(n, prediction.latency_us, tuple(expected))


def test_a_board_without_tflm_refuses_the_model(exported) -> None:
    with pytest.raises(ConfigError, match="cannot run TensorFlow Lite Micro"):
        VirtualBoard("uno", model=exported.out_dir)


def test_a_model_for_other_fields_is_refused(exported) -> None:
    class Accel(Recording):
        fields, units = ("ax", "ay", "az"), ("g", "g", "g")

    with pytest.raises(ConfigError, match="trained on fields"):
        VirtualBoard(source=Accel(np.zeros((10, 3))), model=exported.out_dir)
