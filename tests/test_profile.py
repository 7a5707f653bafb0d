"""profile() on the reference models and on tiny models converted here, and check_budget()."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from model_factories import with_custom_op
from reference_models import MODELS
from tflite_micro import runtime

from tinybench.boards import get_board
from tinybench.errors import (
    BudgetError,
    ConfigError,
    DatasetError,
    ProfileError,
    UnsupportedOpError,
)
from tinybench.measure import (
    LiteRtRunner,
    TflmRunner,
    arena_report,
    check_budget,
    evaluate,
    profile,
    quantize,
    read_model,
)


@pytest.fixture(scope="module")
def tiny() -> SimpleNamespace:
    """A 32-64-4 dense classifier and a small CNN, converted every way the project uses."""
    from tinybench.tf_runtime import load_keras, load_tensorflow

    tf, keras = load_tensorflow(), load_keras()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 32)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0).astype(int)
    model = keras.Sequential(
        [
            keras.layers.Input((32,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    keras_accuracy = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))

    def convert(
        keras_model: keras.Model,
        *optimizations: tf.lite.Optimize,
        float16: bool = False,
        calibrate: np.ndarray | None = None,
    ) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
        converter.optimizations = list(optimizations)
        if float16:
            converter.target_spec.supported_types = [tf.float16]
        if calibrate is not None:
            # TF warns about input statistics it does not need once it has calibration data.
            warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
            converter.representative_dataset = lambda: ([calibrate[i : i + 1]] for i in range(64))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        return converter.convert()

    default = tf.lite.Optimize.DEFAULT
    models = {
        "float32": convert(model),
        "float16": convert(model, default, float16=True),
        "dynamic": convert(model, default),
        "int8": convert(model, default, calibrate=x),
    }
    pruned = keras.models.clone_model(model)
    pruned.set_weights(
        [np.where(np.abs(w) < np.quantile(np.abs(w), 0.8), 0, w) for w in model.get_weights()]
    )
    models["sparse"] = convert(pruned, tf.lite.Optimize.EXPERIMENTAL_SPARSITY)

    cnn = keras.Sequential(
        [
            keras.layers.Input((12, 12, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.DepthwiseConv2D(3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    images = rng.normal(size=(64, 12, 12, 1)).astype(np.float32)
    models["cnn_int8"] = convert(cnn, default, calibrate=images)
    return SimpleNamespace(models=models, x=x, y=y, keras_accuracy=keras_accuracy)


# --- reference models -------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_profile_every_reference_model(reference_models_dir: Path, name: str) -> None:
    data = (reference_models_dir / name).read_bytes()
    result = profile(data, "nano33ble")
    board = get_board("nano33ble")
    info, arena = read_model(data), arena_report(data)

    assert result.flash_model_bytes == len(data)
    assert result.gzip_bytes == len(gzip.compress(data, compresslevel=9, mtime=0))
    assert result.gzip_bytes < result.flash_model_bytes
    assert result.arena_bytes == arena.reported_bytes
    assert result.arena_required_bytes == arena.required_bytes
    needed = -(-max(arena.reported_bytes, arena.required_bytes) // 16) * 16
    assert result.ram_total_estimate == needed + 16 + 1024 + board.runtime_ram_bytes
    assert result.flash_total_estimate == len(data) + result.runtime_flash_estimate
    assert result.runtime_flash_estimate > board.runtime_flash_bytes
    assert result.ops == info.ops and result.macs == info.macs > 0
    assert result.parameter_count == info.parameter_count
    assert result.latency_ms_estimate == pytest.approx(info.macs * 2.0 / 64e6 * 1000)
    assert result.runnable_on_mcu and result.reason == "" and result.interpreter == "tflm"
    assert result.fits and result.problems == ()
    assert result.accuracy is None and result.samples == 0

    table = result.ops_table()
    assert len(table) == len(info.ops) and table["macs"].sum() == info.macs
    row = result.to_row()
    assert row["board"] == "nano33ble" and row["arena_bytes"] == arena.reported_bytes
    assert all(not isinstance(v, list | tuple | dict) for v in row.values())
    text = result.summary()
    assert f"{len(data):,} B" in text and f"{arena.reported_bytes:,} B" in text
    assert "NOT flash" in text and "estimate" in text


def test_vww_does_not_fit_the_uno(reference_models_dir: Path) -> None:
    with pytest.raises(BudgetError) as caught:
        profile(reference_models_dir / "vww_96_int8.tflite", "uno").budget.require()
    message = str(caught.value)
    assert "333,288" in message and "32,256" in message and "2,048" in message
    assert "cannot run TensorFlow Lite Micro" in message


def test_hello_world_fits_the_nano(reference_models_dir: Path) -> None:
    result = profile(reference_models_dir / "hello_world_int8.tflite", "nano33ble")
    assert check_budget(result, "nano33ble").require() == result.budget
    assert result.fits and result.board.name == "nano33ble"


def test_ram_budget_alone_can_fail(reference_models_dir: Path) -> None:
    small = dataclasses.replace(get_board("nano33ble"), name="small", ram_bytes=100_000)
    result = profile(reference_models_dir / "vww_96_int8.tflite", small)
    assert result.fits_flash and not result.fits_ram and not result.fits
    with pytest.raises(BudgetError, match="RAM: needs") as caught:
        result.budget.require()
    assert "flash: needs" not in str(caught.value)
    assert "100,000" in str(caught.value)


@pytest.mark.parametrize("board", ["nano33ble", "uno", "portenta_h7"])
def test_profile_and_budget_give_the_same_figures_and_refusal(
    reference_models_dir: Path, board: str
) -> None:
    path = reference_models_dir / "vww_96_int8.tflite"
    result = profile(path, board)
    report = check_budget(result, board)
    assert report == result.budget
    assert report.flash_needed == result.flash_total_estimate
    assert report.runtime_flash_estimate == result.runtime_flash_estimate
    assert report.ram_needed == result.ram_total_estimate
    assert (report.fits_flash, report.fits_ram, report.fits) == (
        result.fits_flash,
        result.fits_ram,
        result.fits,
    )
    assert report.problems == result.problems
    # From the bytes: the same figures (the arena is measured only for a board that runs TFLM).
    from_bytes = check_budget(path, board)
    assert (from_bytes.flash_needed, from_bytes.fits) == (report.flash_needed, report.fits)
    if get_board(board).tflm:
        assert from_bytes == report
    if result.fits:
        assert report.require() is report
        return
    with pytest.raises(BudgetError, match="Next step") as from_profile:
        report.require()
    assert all(problem in str(from_profile.value) for problem in report.problems)


def test_on_board_equals_profiling_for_that_board(reference_models_dir: Path) -> None:
    path = reference_models_dir / "kws_ref_model.tflite"
    for board in ("uno", "portenta_h7", "nano_rp2040_connect"):
        assert profile(path, "nano33ble").on_board(board) == profile(path, board)
    uno = profile(path, "uno")
    assert not uno.fits and uno.latency_ms_estimate == pytest.approx(uno.macs * 20 / 16e6 * 1e3)


# --- tiny models built here -------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "word"), [("float16", "float16"), ("dynamic", "dynamic-range")])
def test_float16_and_dynamic_models_run_in_litert_only(
    tiny: SimpleNamespace, kind: str, word: str
) -> None:
    data = tiny.models[kind]
    result = profile(data, "nano33ble", (tiny.x, tiny.y))
    assert not result.runnable_on_mcu and word in result.reason
    assert result.quantization == word
    assert result.arena_bytes is None and result.arena_required_bytes is None
    assert result.ram_total_estimate is None and result.latency_ms_estimate is None
    assert not result.fits and result.problems[0].startswith("not runnable on a microcontroller")
    assert result.interpreter == "litert" and result.samples == len(tiny.y)
    assert result.accuracy == pytest.approx(tiny.keras_accuracy, abs=0.02)
    assert "not runnable" in result.summary() and "LiteRT" in result.summary()
    with pytest.raises(ProfileError, match="not runnable on a microcontroller"):
        TflmRunner(data)
    with pytest.raises(BudgetError, match="cannot run on a microcontroller"):
        check_budget(result, "nano33ble").require()


def test_int8_accuracy_is_computed_in_tflm(tiny: SimpleNamespace) -> None:
    data = tiny.models["int8"]
    result = profile(data, "nano33ble", (tiny.x, tiny.y))
    assert result.interpreter == "tflm" and result.quantization == "int8"
    assert result.accuracy == pytest.approx(tiny.keras_accuracy, abs=0.03)

    # The same accuracy from the raw TFLM interpreter, driven by hand.
    interp = runtime.Interpreter.from_bytes(data, arena_size=1 << 16)
    runner_input = TflmRunner(data).input
    hits = 0
    for example, label in zip(quantize(tiny.x, runner_input), tiny.y, strict=True):
        interp.set_input(example.reshape(1, 32), 0)
        interp.invoke()
        hits += int(interp.get_output(0).argmax() == label)
    assert result.accuracy == hits / len(tiny.y)


def test_dataset_forms_and_label_names(tiny: SimpleNamespace) -> None:
    data = tiny.models["int8"]
    runner = TflmRunner(data)
    expected = evaluate(runner, (tiny.x, tiny.y))
    names = ["neither", "first", "second", "both"]
    as_names = np.array(names)[tiny.y]
    assert evaluate(runner, SimpleNamespace(x=tiny.x, y=tiny.y)) == expected
    assert evaluate(runner, [tiny.x, tiny.y]) == expected
    assert profile(data, dataset=(tiny.x, as_names), labels=names).accuracy == expected
    with pytest.raises(ConfigError, match="3 labels"):
        evaluate(runner, (tiny.x, tiny.y), labels=names[:3])
    with pytest.raises(DatasetError, match="labels=") as caught:
        evaluate(runner, (tiny.x, as_names))
    assert repr(str(as_names[0])) in str(caught.value)
    with pytest.raises(DatasetError, match=r"outside 0\.\.3"):
        evaluate(runner, (tiny.x, tiny.y + 1))
    with pytest.raises(DatasetError, match=r"\(16,\)"):
        evaluate(runner, (tiny.x[:, :16], tiny.y))
    with pytest.raises(DatasetError, match="tuple"):
        evaluate(runner, tiny.x)


def test_float32_model_runs_in_tflm_with_float_latency(tiny: SimpleNamespace) -> None:
    result = profile(tiny.models["float32"], "nano33ble", (tiny.x, tiny.y))
    assert result.runnable_on_mcu and result.interpreter == "tflm"
    assert result.quantization == "float32" and result.arena_bytes is not None
    assert result.latency_ms_estimate == pytest.approx(result.macs * 6.0 / 64e6 * 1000)
    assert result.accuracy == pytest.approx(tiny.keras_accuracy, abs=0.01)


def test_sparse_model_names_densify(tiny: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tflm(_: bytes) -> None:
        raise AssertionError("TFLM was run before the ops were checked")

    # tinybench.measure.profile is also the name of the function, so fetch the module explicitly.
    module = importlib.import_module("tinybench.measure.profile")
    monkeypatch.setattr(module, "arena_report", no_tflm)
    with pytest.raises(UnsupportedOpError, match="DENSIFY") as caught:
        profile(tiny.models["sparse"], dataset=(tiny.x, tiny.y))
    assert caught.value.ops == ("DENSIFY",)
    assert "EXPERIMENTAL_SPARSITY" in str(caught.value)


def test_custom_op_model_names_the_op(tiny: SimpleNamespace) -> None:
    data = with_custom_op(tiny.models["int8"], "MySoftmax")
    with pytest.raises(UnsupportedOpError, match="MySoftmax") as caught:
        profile(data)
    assert caught.value.ops == ("MySoftmax",)
    with pytest.raises(UnsupportedOpError, match="MySoftmax"):
        TflmRunner(data)


def test_cnn_macs_and_bit_exact_outputs(tiny: SimpleNamespace) -> None:
    data = tiny.models["cnn_int8"]
    macs = {op.name: op.macs for op in read_model(data).ops}
    assert macs["CONV_2D"] == 10 * 10 * 8 * (3 * 3 * 1)
    assert macs["DEPTHWISE_CONV_2D"] == 8 * 8 * 8 * (3 * 3)
    assert macs["FULLY_CONNECTED"] == 3 * (8 * 8 * 8)
    micro, lite = TflmRunner(data), LiteRtRunner(data)
    batch = np.random.default_rng(1).integers(-128, 128, size=(8, 12, 12, 1), dtype=np.int8)
    np.testing.assert_array_equal(micro.predict(batch), lite.predict(batch))
