"""read_model against the reference models, LiteRT's own view of them, and edited flatbuffers."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from model_factories import with_custom_op
from reference_models import MODELS, builtin_op_names, readme_rows

from tinybench.errors import ModelError, UnsupportedOpError
from tinybench.measure import (
    MAX_MODEL_BYTES,
    TFLM_CUSTOM_RESOLVER_METHODS,
    TFLM_RESOLVER_METHODS,
    model_bytes,
    read_model,
    tflm_resolver_method,
)


@pytest.mark.parametrize("name", MODELS)
def test_read_model_matches_readme_and_litert(reference_models_dir: Path, name: str) -> None:
    path = reference_models_dir / name
    info = read_model(path)
    row = readme_rows(reference_models_dir)[name]
    assert info.size_bytes == row["bytes"] == path.stat().st_size
    if row["ops"]:
        assert set(info.op_names) == row["ops"]
    if row["weight_bytes"] is not None:
        assert info.weight_bytes == row["weight_bytes"]

    litert = Interpreter(model_path=str(path))
    litert_ops = litert._get_ops_details()
    assert [op.name for op in info.ops] == [op["op_name"] for op in litert_ops]
    assert info.op_names == tuple(sorted({op["op_name"] for op in litert_ops}))
    for ours, theirs in zip(
        info.inputs + info.outputs,
        litert.get_input_details() + litert.get_output_details(),
        strict=True,
    ):
        assert ours.shape == tuple(theirs["shape"])
        assert ours.dtype == np.dtype(theirs["dtype"]).name
        scale, zero_point = theirs["quantization"]
        assert ours.scale == pytest.approx(scale)
        assert ours.zero_point == zero_point
    assert info.is_int8 and info.quantization == "int8"
    assert not (info.is_float16 or info.is_hybrid or info.is_sparse)
    assert info.runnable_on_mcu and info.mcu_reason == ""
    assert info.unsupported_ops == ()


@pytest.mark.parametrize("name", MODELS)
def test_macs_follow_from_litert_tensor_shapes(reference_models_dir: Path, name: str) -> None:
    path = reference_models_dir / name
    litert = Interpreter(model_path=str(path))
    shapes = {t["index"]: tuple(t["shape"]) for t in litert.get_tensor_details()}
    expected = []
    for op in litert._get_ops_details():
        out = np.prod(shapes[op["outputs"][0]])
        weights = shapes[op["inputs"][1]] if len(op["inputs"]) > 1 else ()
        if op["op_name"] == "CONV_2D":
            expected.append(out * weights[1] * weights[2] * weights[3])
        elif op["op_name"] == "DEPTHWISE_CONV_2D":
            expected.append(out * weights[1] * weights[2])
        elif op["op_name"] == "FULLY_CONNECTED":
            expected.append(out * weights[-1])
        else:
            expected.append(0)
    info = read_model(path)
    assert [op.macs for op in info.ops] == expected
    assert info.macs == sum(expected) > 0


def test_dense_stacks_have_hand_counted_parameters_and_macs(reference_models_dir: Path) -> None:
    # hello_world is Dense 1-16-16-1; ad01 is Dense 640-128-128-128-128-8-128-128-128-128-640.
    def dense(sizes: list[int]) -> tuple[int, int]:
        pairs = list(itertools.pairwise(sizes))
        return sum(i * o + o for i, o in pairs), sum(i * o for i, o in pairs)

    hello = read_model(reference_models_dir / "hello_world_int8.tflite")
    assert (hello.parameter_count, hello.macs) == dense([1, 16, 16, 1])
    ad01 = read_model(reference_models_dir / "ad01_int8.tflite")
    assert (ad01.parameter_count, ad01.macs) == dense([640, *[128] * 4, 8, *[128] * 4, 640])


def test_ops_carry_position_shapes_and_resolver_methods(reference_models_dir: Path) -> None:
    info = read_model(reference_models_dir / "micro_speech_quantized.tflite")
    assert [op.index for op in info.ops] == list(range(len(info.ops)))
    assert all(op.subgraph == 0 and not op.custom for op in info.ops)
    assert info.ops[-1].output_shapes == (info.outputs[0].shape,)
    assert info.resolver_methods == tuple(TFLM_RESOLVER_METHODS[n] for n in info.op_names)


def test_resolver_table_names_real_ops_and_methods() -> None:
    assert set(TFLM_RESOLVER_METHODS) <= builtin_op_names()
    assert all(m.startswith("Add") for m in TFLM_RESOLVER_METHODS.values())
    assert all(m.startswith("Add") for m in TFLM_CUSTOM_RESOLVER_METHODS.values())
    assert len(set(TFLM_RESOLVER_METHODS.values())) == len(TFLM_RESOLVER_METHODS)
    expected = {
        "CONV_2D": "AddConv2D",
        "FULLY_CONNECTED": "AddFullyConnected",
        "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
        "SOFTMAX": "AddSoftmax",
        "RESHAPE": "AddReshape",
        "AVERAGE_POOL_2D": "AddAveragePool2D",
        "MAX_POOL_2D": "AddMaxPool2D",
        "ADD": "AddAdd",
        "MUL": "AddMul",
        "QUANTIZE": "AddQuantize",
        "DEQUANTIZE": "AddDequantize",
        "LOGISTIC": "AddLogistic",
        "TANH": "AddTanh",
        "RELU": "AddRelu",
        "MEAN": "AddMean",
        "PAD": "AddPad",
        "CONCATENATION": "AddConcatenation",
        "STRIDED_SLICE": "AddStridedSlice",
        "EXPAND_DIMS": "AddExpandDims",
        "SQUEEZE": "AddSqueeze",
    }
    assert {op: tflm_resolver_method(op) for op in expected} == expected
    assert tflm_resolver_method("TFLite_Detection_PostProcess") == "AddDetectionPostprocess"


@pytest.mark.parametrize("op", ["DENSIFY", "HASHTABLE_LOOKUP", "FlexErf", "MyCustomOp"])
def test_resolver_method_rejects_ops_tflm_lacks(op: str) -> None:
    with pytest.raises(UnsupportedOpError) as caught:
        tflm_resolver_method(op)
    assert caught.value.ops == (op,)
    assert repr(op) in str(caught.value)
    assert "TFLM_RESOLVER_METHODS" in str(caught.value)
    if op == "DENSIFY":
        assert "EXPERIMENTAL_SPARSITY" in str(caught.value)
    if op == "FlexErf":
        assert "SELECT_TF_OPS" in str(caught.value)


def test_custom_op_is_named_and_unsupported(reference_models_dir: Path) -> None:
    data = with_custom_op((reference_models_dir / "hello_world_int8.tflite").read_bytes(), "Sine")
    info = read_model(data)
    assert info.op_names == ("Sine",)
    assert all(op.custom for op in info.ops)
    assert info.unsupported_ops == ("Sine",)
    assert not info.runnable_on_mcu and "Sine" in info.mcu_reason
    with pytest.raises(UnsupportedOpError, match="Sine") as caught:
        info.check_tflm_ops()
    assert caught.value.ops == ("Sine",)
    assert "AddCustom" in str(caught.value)
    with pytest.raises(UnsupportedOpError):
        _ = info.resolver_methods


def test_bytes_path_and_str_give_the_same_model(reference_models_dir: Path) -> None:
    path = reference_models_dir / "hello_world_int8.tflite"
    assert read_model(path) == read_model(str(path)) == read_model(path.read_bytes())
    assert read_model(bytearray(path.read_bytes())) == read_model(path)


def test_not_a_model_names_what_was_wrong(reference_models_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="TFL3"):
        read_model(b"this is not a flatbuffer at all")
    data = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    with pytest.raises(ModelError, match="corrupt"):
        read_model(data[:100])
    missing = tmp_path / "nope.tflite"
    with pytest.raises(ModelError, match=re.escape(str(missing))):
        read_model(missing)
    with pytest.raises(ModelError, match="empty"):
        read_model(b"")
    with pytest.raises(ModelError, match="Cannot read a model from a int"):
        read_model(42)


def test_an_export_folder_and_a_variant_give_the_model(
    reference_models_dir: Path, tmp_path: Path
) -> None:
    data = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    (tmp_path / "model.tflite").write_bytes(data)
    assert model_bytes(tmp_path) == data
    assert model_bytes(SimpleNamespace(tflite=bytearray(data))) == data
    with pytest.raises(ModelError, match="its tflite attribute is a str"):
        model_bytes(SimpleNamespace(tflite="model.tflite"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"folder without model\.tflite"):
        model_bytes(tmp_path / "empty")


def test_reads_stop_at_the_cap(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="larger than 16,777,216 bytes"):
        read_model("/dev/zero")  # reads 16 MiB + 1, not forever
    big = tmp_path / "big.tflite"
    with big.open("wb") as file:
        file.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(ModelError, match="larger than"):
        read_model(big)
    with pytest.raises(ModelError, match="larger than"):
        read_model(bytes(MAX_MODEL_BYTES + 1))


def repacked(data: bytes, edit) -> bytes:
    """``data`` unpacked with the schema's object API, edited in place, and packed again."""
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    edit(model)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _set(obj: object, name: str, value: object) -> None:
    setattr(obj, name, value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: _set(m.subgraphs[0].operators[0], "inputs", [0, 99]), "index 99"),
        (lambda m: _set(m.subgraphs[0].operators[0], "outputs", [-1]), "index -1"),
        (lambda m: _set(m.subgraphs[0].operators[0], "opcodeIndex", 7), "operator code"),
        (lambda m: _set(m.subgraphs[0], "inputs", [1000]), "input list"),
        (lambda m: _set(m.subgraphs[0], "outputs", [-3]), "output list"),
        (lambda m: _set(m, "subgraphs", []), "no subgraph"),
    ],
)
def test_indices_that_point_nowhere_are_model_errors(
    reference_models_dir: Path, edit, message: str
) -> None:
    data = repacked((reference_models_dir / "hello_world_int8.tflite").read_bytes(), edit)
    with pytest.raises(ModelError, match=message) as caught:
        read_model(data)
    assert "\n" not in str(caught.value)


def test_strings_that_are_not_utf8_are_read_with_replacement(reference_models_dir: Path) -> None:
    def edit(model) -> None:
        model.description = b"made by \xff\xfe"
        model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].name = b"in\xc3"

    info = read_model(
        repacked((reference_models_dir / "hello_world_int8.tflite").read_bytes(), edit)
    )
    assert info.description == "made by \ufffd\ufffd"
    assert info.inputs[0].name == "in\ufffd"


def test_single_io_returns_the_one_input_and_output_or_names_the_counts(
    reference_models_dir: Path,
) -> None:
    import dataclasses

    from tinybench.errors import ProfileError

    info = read_model(reference_models_dir / MODELS[0])
    assert info.single_io() == (info.inputs[0], info.outputs[0])
    two_inputs = dataclasses.replace(info, inputs=info.inputs * 2)
    with pytest.raises(ProfileError, match=r"2 inputs and 1 outputs; .*exactly one of each"):
        two_inputs.single_io()
