"""Notebook 03b's lessons: quantization parameters, a layer by hand, per-layer error, pruning.

The hand computation is checked against TFLM on every output of every FULLY_CONNECTED and
CONV_2D layer of a small Conv1D model built here and of the hello_world reference model.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tinybench.errors import ConfigError
from tinybench.measure import read_model
from tinybench.measure.layer_tensors import read_layer, with_outputs
from tinybench.teach import (
    HandComputation,
    check_flash_saving,
    check_hand_output,
    check_most_damaged_layer,
    compare_pruning,
    compute_by_hand,
    default_layer,
    hand_exercise,
    layer_errors,
    layer_quantization,
    plot_layer_errors,
    plot_pruned_weights,
    plot_weight_histograms,
)
from tinybench.teach.integer_math import (
    activation_range,
    multiply_by_quantized_multiplier,
    multiply_single_rounding,
    quantize_multiplier,
    rounding_divide_by_pot,
)

WINDOW = 24


@pytest.fixture(scope="module")
def conv_models() -> tuple[bytes, bytes, np.ndarray]:
    """A small trained-free Conv1D → Dense model as (int8, float32, test windows)."""
    from tinybench.optimize import convert_float32, convert_int8
    from tinybench.tf_runtime import load_keras

    keras = load_keras()
    keras.utils.set_random_seed(3)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((WINDOW, 6)),
            layers.Conv1D(8, 5, padding="same", activation="relu"),
            layers.MaxPooling1D(2),
            layers.Conv1D(6, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(80, WINDOW, 6)).astype(np.float32)
    return convert_int8(model, windows[:64]), convert_float32(model), windows[64:]


def _hello_world(reference_models_dir: Path) -> bytes:
    return (reference_models_dir / "hello_world_int8.tflite").read_bytes()


# --- integer arithmetic --------------------------------------------------------------------


def test_quantize_multiplier_is_31_bit_fixed_point_with_a_shift() -> None:
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    multiplier, shift = quantize_multiplier(0.0123)
    assert 1 << 30 <= multiplier < 1 << 31
    assert multiplier * 2.0**shift / 2**31 == pytest.approx(0.0123, rel=1e-9)


def test_rounding_divide_by_pot_rounds_ties_away_from_zero() -> None:
    assert rounding_divide_by_pot(np.array([5, -5, 6, -6, 7]), 1).tolist() == [3, -3, 3, -3, 4]


def test_double_rounding_differs_from_single_rounding_on_some_accumulators() -> None:
    multiplier, shift = quantize_multiplier(0.7 / 64)
    acc = np.arange(-20000, 20000)
    double = multiply_by_quantized_multiplier(acc, multiplier, shift)
    single = multiply_single_rounding(acc, multiplier, shift)
    differ = np.count_nonzero(double != single)
    assert 0 < differ < len(acc) // 10
    assert np.max(np.abs(double - single)) == 1


def test_activation_range_clamps_relu_at_the_code_of_zero() -> None:
    assert activation_range("NONE", 0.1, -5) == (-128, 127)
    assert activation_range("RELU", 0.1, -5) == (-5, 127)
    assert activation_range("RELU6", 0.1, -128) == (-128, -68)


# --- the hand computation against TFLM ------------------------------------------------------


def test_hand_computation_equals_tflm_on_every_conv_and_dense_output(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, _, windows = conv_models
    layers = [op for op in read_model(int8).ops if op.name in ("CONV_2D", "FULLY_CONNECTED")]
    assert {op.name for op in layers} == {"CONV_2D", "FULLY_CONNECTED"}
    for op in layers:
        hand = compute_by_hand(int8, windows, op.index, count=len(windows))
        assert hand.tflm.size == len(windows) * np.prod(op.output_shapes[0])
        assert hand.mismatches == 0, f"operator {op.index} ({op.name})"
        assert hand.matches_tflm
    assert "Operator" in hand._repr_html_()


def test_hand_computation_equals_tflm_on_hello_world(reference_models_dir: Path) -> None:
    model = _hello_world(reference_models_dir)
    x = np.linspace(0, 2 * np.pi, 64, dtype=np.float32).reshape(64, 1)
    rounding_differences = 0
    for op in read_model(model).ops:
        hand = compute_by_hand(model, x, op.index, count=64)
        assert hand.matches_tflm, f"operator {op.index}"
        rounding_differences += hand.rounding_differences
    assert rounding_differences > 0  # single rounding would not match TFLM here
    steps = dict(hand.steps())
    assert steps["TFLM's output"] == steps[next(k for k in steps if k.endswith("by hand"))]


def test_a_wrong_requantization_is_caught(conv_models: tuple[bytes, bytes, np.ndarray]) -> None:
    int8, _, windows = conv_models
    hand = compute_by_hand(int8, windows, default_layer(int8))
    wrong = np.clip(hand.single_rounding.astype(int) + 1, -128, 127).astype(np.int8)
    broken = HandComputation(**{**hand.__dict__, "output": wrong})
    assert not broken.matches_tflm and broken.mismatches > 0


def test_the_tflm_probe_leaves_the_model_computation_unchanged(
    reference_models_dir: Path,
) -> None:
    from tinybench.measure import TflmRunner, quantize

    model = _hello_world(reference_models_dir)
    last = read_model(model).ops[-1].index
    x = np.array([[1.0]], dtype=np.float32)
    hand = compute_by_hand(model, x, last, count=1)
    runner = TflmRunner(model)
    full = runner.invoke(quantize(x[0], runner.input))
    assert hand.tflm.ravel().tolist() == full.ravel().tolist()


def test_hand_computation_refuses_other_ops_and_float_layers(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, float32, windows = conv_models
    pool = next(op.index for op in read_model(int8).ops if op.name == "MAX_POOL_2D")
    with pytest.raises(ConfigError, match="FULLY_CONNECTED, CONV_2D"):
        compute_by_hand(int8, windows, pool)
    with pytest.raises(ConfigError, match="int8"):
        compute_by_hand(float32, windows, default_layer(float32))
    with pytest.raises(ConfigError, match="shape"):
        compute_by_hand(int8, windows[:, :5], default_layer(int8))


def test_with_outputs_rejects_bad_tensor_indices(reference_models_dir: Path) -> None:
    with pytest.raises(ConfigError, match="Tensor indices"):
        with_outputs(_hello_world(reference_models_dir), [10_000])


# --- quantization parameters ----------------------------------------------------------------


def test_quantization_parameters_match_the_flatbuffer_and_litert(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    from ai_edge_litert.interpreter import Interpreter

    int8, float32, _ = conv_models
    details = {d["index"]: d for d in Interpreter(model_content=int8).get_tensor_details()}
    conv = next(op.index for op in read_model(int8).ops if op.name == "CONV_2D")
    quantization = layer_quantization(int8, conv, float_model=float32)
    layer = quantization.layer
    weights = layer.inputs[1]
    assert weights is not None and weights.per_channel
    for tensor in (*layer.inputs, *layer.outputs):
        assert tensor is not None
        params = details[tensor.index]["quantization_parameters"]
        np.testing.assert_array_equal(tensor.scales, params["scales"])
        np.testing.assert_array_equal(tensor.zero_points, params["zero_points"])
    assert quantization.float_source == "float model"
    # int8 codes are the float weights divided by their channel's scale, rounded
    scales = weights.scales.reshape(-1, 1, 1, 1)
    assert np.max(np.abs(quantization.float_weights / scales - quantization.codes)) <= 0.51
    dense = layer_quantization(int8)  # no float model: dequantized codes
    assert dense.float_source == "dequantized int8"
    roles = [row[0] for row in dense.rows()]  # an all-zero bias is left out by the converter
    assert roles in (["input", "weights", "bias", "output"], ["input", "weights", "output"])
    info_out = read_model(int8).ops[dense.layer.op_index]
    assert info_out.name == "FULLY_CONNECTED"
    assert isinstance(plot_weight_histograms(quantization), Figure)
    assert "per channel" in quantization._repr_html_()


def test_a_float_model_of_another_architecture_is_refused(
    conv_models: tuple[bytes, bytes, np.ndarray], reference_models_dir: Path
) -> None:
    int8, _, _ = conv_models
    with pytest.raises(ConfigError, match="do not match"):
        layer_quantization(int8, float_model=_hello_world(reference_models_dir))


# --- per-layer error ------------------------------------------------------------------------


def test_per_layer_error_is_finite_and_reported_per_layer(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, float32, windows = conv_models
    errors = layer_errors(int8, float32, windows, count=8)
    ops = read_model(int8).ops
    assert errors.table["op"].tolist() == [op.index for op in ops]
    assert np.isfinite(errors.table["relative_rms"]).all()
    assert (errors.table["relative_rms"] < 0.5).all()
    assert errors.windows == 8 and "BUILTIN_REF" in errors.interpreter
    assert isinstance(plot_layer_errors(errors), Figure)


# --- pruning --------------------------------------------------------------------------------


def _pruned(model: bytes, fraction: float) -> bytes:
    """The model with the smallest ``fraction`` of every CONV_2D/FULLY_CONNECTED kernel zeroed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    for op in read_model(model).ops:
        if op.name not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        weights = read_layer(model, op.index).inputs[1]
        assert weights is not None and weights.data is not None
        codes = weights.data.copy().ravel()
        codes[
            np.argsort(np.abs(codes.astype(int)), kind="stable")[: int(fraction * codes.size)]
        ] = 0
        buffer = tree.buffers[tree.subgraphs[0].tensors[weights.index].buffer]
        buffer.data = np.frombuffer(codes.tobytes(), np.uint8)
    builder = flatbuffers.Builder(len(model))
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_pruning_shows_sparsity_and_gzip_but_not_flash_shrinking(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, _, _ = conv_models
    pruned = _pruned(int8, 0.8)
    comparison = compare_pruning({"int8": int8, "prune80+int8": pruned})
    assert (comparison.sparsity["prune80+int8"] >= 0.79).all()
    assert (comparison.sparsity["int8"] < 0.1).all()
    sizes = comparison.sizes
    assert sizes.loc["int8", "flash_bytes"] == sizes.loc["prune80+int8", "flash_bytes"]
    assert sizes.loc["prune80+int8", "gzip_bytes"] < sizes.loc["int8", "gzip_bytes"]
    assert sizes.loc["prune80+int8", "gzip_bytes"] == len(gzip.compress(pruned, mtime=0))
    assert sizes.loc["prune80+int8", "zero_bytes"] > sizes.loc["int8", "zero_bytes"]
    assert set(comparison.matrices) == {"int8", "prune80+int8"}
    assert isinstance(plot_pruned_weights(comparison), Figure)
    with pytest.raises(ConfigError, match="at least one variant"):
        compare_pruning({})


# --- exercises ------------------------------------------------------------------------------


def test_check_hand_output_right_wrong_and_unanswered(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, _, windows = conv_models
    hand = compute_by_hand(int8, windows, default_layer(int8))
    exercise = hand_exercise(hand)
    right = int(hand.tflm[exercise.index])
    assert check_hand_output(right, hand).right
    wrong = check_hand_output(right + 1 if right < 127 else right - 1, hand)
    assert not wrong.right and "Not yet" in wrong.message
    assert not check_hand_output(None, hand).right
    assert exercise.accumulator == int(hand.accumulators[exercise.index])
    # the numbers the exercise gives are enough to get the answer
    step = multiply_by_quantized_multiplier(
        exercise.accumulator, exercise.multiplier, exercise.shift
    )
    assert int(np.clip(int(step) + exercise.zero_point, *exercise.clamp)) == right


def test_check_most_damaged_layer_right_and_wrong(
    conv_models: tuple[bytes, bytes, np.ndarray],
) -> None:
    int8, float32, windows = conv_models
    errors = layer_errors(int8, float32, windows, count=8)
    worst = errors.most_damaged
    assert check_most_damaged_layer(worst, errors).right
    assert check_most_damaged_layer(f"{worst} SOFTMAX", errors).right
    other = next(op for op in errors.table["op"] if op != worst)
    assert not check_most_damaged_layer(other, errors).right
    assert not check_most_damaged_layer("the big one", errors).right


def test_check_flash_saving_right_and_wrong(conv_models: tuple[bytes, bytes, np.ndarray]) -> None:
    int8, _, _ = conv_models
    comparison = compare_pruning({"int8": int8, "prune80+int8": _pruned(int8, 0.8)})
    assert check_flash_saving(0, comparison).right
    saved_by_gzip = int(comparison.sizes["gzip_bytes"].diff().abs().iloc[-1])
    wrong = check_flash_saving(saved_by_gzip, comparison)
    assert not wrong.right and "gzip" in wrong.message
    only_dense = compare_pruning({"int8": int8})
    assert not check_flash_saving(0, only_dense).right
