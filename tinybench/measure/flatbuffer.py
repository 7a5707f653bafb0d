"""Read a ``.tflite`` flatbuffer without TensorFlow: ops, tensors, quantization, MACs.

:func:`read_model` parses the flatbuffer with the schema module that ships with
``ai-edge-litert``, so it is fast (milliseconds, even for a 300 KB model) and never imports
TensorFlow. The result, :class:`~tinybench.measure.model_info.ModelInfo`, is what the profiler,
the exporter and the virtual board need to know about a model before running it:

- the operators in execution order, each with its input/output shapes and multiply-accumulate
  count (MACs are counted for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, BATCH_MATMUL and
  TRANSPOSE_CONV; every other op counts 0: elementwise ops, pooling, softmax and reshapes do
  no multiply-accumulates, and their cost is small next to the layers above);
- the input and output tensors with dtype, scale and zero point;
- parameter count and weight bytes;
- the kind of quantization, and whether TensorFlow Lite Micro (TFLM) can run the model at all.

Any byte string is safe to read: every index the flatbuffer holds (opcode, tensor, subgraph
input and output) is checked before use, strings that are not UTF-8 are decoded with
replacement characters, and anything else wrong gives a one-line
:class:`~tinybench.errors.ModelError`. Reads are capped at
:data:`~tinybench.measure.model_bytes.MAX_MODEL_BYTES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tinybench.errors import ModelError
from tinybench.measure.model_bytes import model_bytes
from tinybench.measure.model_info import QUANTIZED_DTYPES, ModelInfo, OpInfo, TensorInfo

__all__ = ["load_model", "read_model"]

# Ops whose inputs at these positions are weights/biases when they are constant.
_WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (1, 3),
    "BATCH_MATMUL": (0, 1),
    "SVDF": (1, 2, 3),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": tuple(range(1, 24)),
}
# Integer types that, in constant inputs of other ops, hold shapes, axes and indices.
_INDEX_DTYPES = frozenset({"int32", "int64", "bool", "uint32", "uint64", "string"})
_FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
_TFLITE_IDENTIFIER = b"TFL3"
_NUMPY_NAMES = {
    "FLOAT32": "float32",
    "FLOAT16": "float16",
    "FLOAT64": "float64",
    "INT8": "int8",
    "UINT8": "uint8",
    "INT16": "int16",
    "UINT16": "uint16",
    "INT32": "int32",
    "UINT32": "uint32",
    "INT64": "int64",
    "UINT64": "uint64",
    "BOOL": "bool",
    "COMPLEX64": "complex64",
    "COMPLEX128": "complex128",
    "STRING": "string",
}


class _Malformed(Exception):
    """An index or value inside an unpacked flatbuffer points nowhere; the text says which."""


def read_model(model: Any) -> ModelInfo:
    """Parse a ``.tflite`` flatbuffer into a :class:`~tinybench.measure.model_info.ModelInfo`.

    Args:
        model: Anything :func:`~tinybench.measure.model_bytes.model_bytes` accepts: bytes, a
            path, an export folder or a ``Variant``.

    Raises:
        ModelError: The data is not a readable TFLite flatbuffer, or cannot be read.
    """
    return load_model(model)[1]


def load_model(model: Any) -> tuple[bytes, ModelInfo]:
    """Return a model's bytes and its parsed ``ModelInfo``, reading a path only once.

    Errors about a file name the file.

    Raises:
        ModelError: The data is not a readable TFLite flatbuffer, or cannot be read.
    """
    data = model_bytes(model)
    where = f" ({str(model)!r})" if isinstance(model, str) or hasattr(model, "__fspath__") else ""
    if len(data) < 8 or data[4:8] != _TFLITE_IDENTIFIER:
        raise ModelError(
            f"Not a .tflite model{where}: {len(data)} bytes whose file identifier is "
            f"{data[4:8]!r}, expected {_TFLITE_IDENTIFIER!r}. Pass the bytes of "
            "TFLiteConverter.convert() or the path of a .tflite file."
        )
    schema = _schema()
    try:
        model_t = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # the generated parser raises whatever the bad offsets cause
        raise _corrupt(data, where, repr(exc)) from None
    try:
        return data, _model_info(model_t, len(data), schema)
    except _Malformed as exc:
        raise _corrupt(data, where, str(exc)) from None


def _corrupt(data: bytes, where: str, reason: str) -> ModelError:
    return ModelError(
        f"The .tflite flatbuffer{where} ({len(data)} bytes) is corrupt: {reason[:200]}. "
        "Convert the model again; a truncated download or copy is the usual cause."
    )


# --- parsing -------------------------------------------------------------------------------


@dataclass
class _Tally:
    """What the walk over a model's subgraphs has found so far."""

    ops: list[OpInfo] = field(default_factory=list)
    weight_tensors: set[tuple[int, int]] = field(default_factory=set)
    const_buffers: set[int] = field(default_factory=set)
    activation_dtypes: set[str] = field(default_factory=set)
    parameter_count: int = 0
    is_hybrid: bool = False
    is_float16: bool = False
    is_sparse: bool = False


class _Subgraph:
    """One subgraph's tensors, with the lookups the walk needs (its indices already checked)."""

    def __init__(self, index: int, subgraph: Any, buffers: list, dtypes: dict[int, str]) -> None:
        self.index = index
        self.tensors = subgraph.tensors or []
        self.operators = subgraph.operators or []
        self._buffers = buffers
        self._dtypes = dtypes

    def dtype(self, i: int) -> str:
        return self._dtypes.get(self.tensors[i].type, "")

    def shape(self, i: int) -> tuple[int, ...]:
        return _shape(self.tensors[i]) if i >= 0 else ()

    def constant(self, i: int) -> bool:
        tensor = self.tensors[i]
        in_range = 0 < tensor.buffer < len(self._buffers)
        return (
            not tensor.isVariable and in_range and _buffer_bytes(self._buffers[tensor.buffer]) > 0
        )


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _enum_names(enum: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _dtype_names(schema: Any) -> dict[int, str]:
    return {
        code: _NUMPY_NAMES.get(name, name.lower())
        for code, name in _enum_names(schema.TensorType).items()
    }


def _text(value: Any) -> str:
    """A flatbuffer string as text; bytes that are not UTF-8 become replacement characters."""
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _ids(vector: Any) -> list[int]:
    return [int(i) for i in (vector if vector is not None else [])]


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape) if tensor.shape is not None else ()


def _buffer_bytes(buffer: Any) -> int:
    if buffer is None:
        return 0
    if buffer.data is not None and len(buffer.data):
        return len(buffer.data)
    # Models over 2 GB keep tensor data after the flatbuffer and record offset/size.
    return int(buffer.size or 0) if (buffer.offset or 0) > 1 else 0


def _check_range(ids: list[int], count: int, what: str, lowest: int = 0) -> None:
    bad = [i for i in ids if not lowest <= i < count]
    if bad:
        raise _Malformed(f"{what} refers to index {bad[0]}, but there are only {count}")


def _check_indices(model_t: Any) -> None:
    """Raise :class:`_Malformed` if any opcode or tensor index points outside its table."""
    codes = len(model_t.operatorCodes or [])
    if not model_t.subgraphs:
        raise _Malformed("it has no subgraph")
    for sg_index, subgraph in enumerate(model_t.subgraphs):
        tensors = len(subgraph.tensors or [])
        where = f"subgraph {sg_index}"
        _check_range(_ids(subgraph.inputs), tensors, f"{where}'s input list")
        _check_range(_ids(subgraph.outputs), tensors, f"{where}'s output list")
        for op_index, op in enumerate(subgraph.operators or []):
            what = f"operator {op_index} of {where}"
            _check_range([int(op.opcodeIndex)], codes, f"{what} (operator code)")
            _check_range(_ids(op.inputs), tensors, f"{what} (inputs)", lowest=-1)
            _check_range(_ids(op.outputs), tensors, f"{what} (outputs)")


def _tensor_info(tensor: Any, index: int, dtypes: dict[int, str]) -> TensorInfo:
    quant = tensor.quantization
    scales = [] if quant is None or quant.scale is None else list(quant.scale)
    zeros = [] if quant is None or quant.zeroPoint is None else list(quant.zeroPoint)
    return TensorInfo(
        name=_text(tensor.name),
        shape=_shape(tensor),
        dtype=dtypes.get(tensor.type, str(tensor.type)),
        scale=float(scales[0]) if scales else 0.0,
        zero_point=int(zeros[0]) if zeros else 0,
        per_channel=len(scales) > 1,
        index=index,
    )


def _op_name(code: Any, builtin_names: dict[int, str]) -> tuple[str, bool]:
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    name = builtin_names.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        return _text(code.customCode), True
    return name, False


def _macs(name: str, inputs: list[tuple[int, ...]], outputs: list[tuple[int, ...]], op: Any) -> int:
    """Multiply-accumulates of one op; 0 for ops that do no multiply-accumulates."""
    out = outputs[0] if outputs else ()
    if name == "CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        _, kh, kw, cin = inputs[1]
        return math.prod(out) * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D" and len(inputs) > 1 and len(inputs[1]) == 4:
        _, kh, kw, _ = inputs[1]
        return math.prod(out) * kh * kw
    if name == "FULLY_CONNECTED" and len(inputs) > 1 and inputs[1]:
        return math.prod(out) * inputs[1][-1]
    if name == "BATCH_MATMUL" and inputs and len(inputs[0]) >= 2:
        adj_x = bool(getattr(op.builtinOptions, "adjX", False))
        depth = inputs[0][-2] if adj_x else inputs[0][-1]
        return math.prod(out) * depth
    if name == "TRANSPOSE_CONV" and len(inputs) > 2 and len(inputs[1]) == 4:
        cout, kh, kw, _ = inputs[1]
        return math.prod(inputs[2]) * cout * kh * kw
    return 0


def _tally_inputs(graph: _Subgraph, name: str, in_ids: list[int], tally: _Tally) -> None:
    """Count the op's constant inputs as weights or constants; note hybrid (float x int8) ops."""
    weight_slots = _WEIGHT_INPUTS.get(name, ())
    has_float_activation = False
    for slot, i in enumerate(in_ids):
        if i < 0:
            continue
        if not graph.constant(i):
            has_float_activation |= graph.dtype(i) == "float32"
            continue
        tally.const_buffers.add(graph.tensors[i].buffer)
        is_weight = slot in weight_slots or (
            not weight_slots and graph.dtype(i) not in _INDEX_DTYPES
        )
        if is_weight and (graph.index, i) not in tally.weight_tensors:
            tally.weight_tensors.add((graph.index, i))
            tally.parameter_count += math.prod(graph.shape(i))
    if name != "DEQUANTIZE" and has_float_activation:
        tally.is_hybrid |= any(
            i >= 0 and graph.constant(i) and graph.dtype(i) in QUANTIZED_DTYPES for i in in_ids
        )


def _walk_subgraph(graph: _Subgraph, codes: list, names: dict[int, str], tally: _Tally) -> None:
    """Add one subgraph's ops, weights and activation dtypes to ``tally``."""
    for tensor in graph.tensors:
        tally.is_sparse |= tensor.sparsity is not None
    tally.is_float16 |= any(graph.dtype(i) == "float16" for i in range(len(graph.tensors)))
    float_boundary: set[int] = set()
    for op_index, op in enumerate(graph.operators):
        code = codes[op.opcodeIndex]
        name, custom = _op_name(code, names)
        in_ids, out_ids = _ids(op.inputs), _ids(op.outputs)
        in_shapes = [graph.shape(i) for i in in_ids]
        out_shapes = [graph.shape(i) for i in out_ids]
        macs = _macs(name, in_shapes, out_shapes, op)
        shapes = (tuple(in_shapes), tuple(out_shapes))
        tally.ops.append(
            OpInfo(op_index, name, custom, graph.index, int(code.version), *shapes, macs)
        )
        if name in ("QUANTIZE", "DEQUANTIZE"):
            ids = in_ids if name == "QUANTIZE" else out_ids
            float_boundary.update(i for i in ids if graph.dtype(i) in _FLOAT_DTYPES)
        _tally_inputs(graph, name, in_ids, tally)
    for i in range(len(graph.tensors)):
        if not graph.constant(i) and i not in float_boundary and graph.dtype(i):
            tally.activation_dtypes.add(graph.dtype(i))


def _model_info(model_t: Any, size_bytes: int, schema: Any) -> ModelInfo:
    _check_indices(model_t)
    dtypes = _dtype_names(schema)
    names = _enum_names(schema.BuiltinOperator)
    buffers = model_t.buffers or []
    tally = _Tally()
    for sg_index, subgraph in enumerate(model_t.subgraphs):
        graph = _Subgraph(sg_index, subgraph, buffers, dtypes)
        _walk_subgraph(graph, model_t.operatorCodes, names, tally)
    is_hybrid = tally.is_hybrid and not tally.is_float16
    activations = tally.activation_dtypes
    main = model_t.subgraphs[0]
    tensors = main.tensors or []

    def io(ids: Any) -> tuple[TensorInfo, ...]:
        return tuple(_tensor_info(tensors[i], i, dtypes) for i in _ids(ids))

    return ModelInfo(
        size_bytes=size_bytes,
        ops=tuple(tally.ops),
        op_names=tuple(sorted({op.name for op in tally.ops})),
        inputs=io(main.inputs),
        outputs=io(main.outputs),
        parameter_count=tally.parameter_count,
        weight_bytes=sum(_buffer_bytes(buffers[b]) for b in tally.const_buffers),
        macs=sum(op.macs for op in tally.ops),
        is_int8=not tally.is_float16
        and not is_hybrid
        and "int8" in activations
        and not activations & _FLOAT_DTYPES,
        is_float16=tally.is_float16,
        is_hybrid=is_hybrid,
        is_sparse=tally.is_sparse,
        subgraph_count=len(model_t.subgraphs),
        description=_text(model_t.description),
    )
