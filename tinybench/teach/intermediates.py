"""Read tensors from inside a model: TFLM for one layer, LiteRT's reference kernels for all.

TFLM's Python interpreter hands back only a model's outputs. :func:`tflm_layer_io` therefore
rewrites the model (:func:`~tinybench.measure.layer_tensors.with_outputs`) so that it stops at
the chosen layer and outputs that layer's input and output: the tensors, weights and kernels are
untouched, so both numbers are what TFLM computes in the full model. :func:`litert_tensors`
runs LiteRT with ``experimental_preserve_all_tensors`` on the reference op resolver
(``BUILTIN_REF``) and returns every operator's output, for the per-layer error plot.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinybench.errors import ConfigError, ProfileError
from tinybench.measure import model_bytes, quantize, read_model
from tinybench.measure.layer_tensors import with_outputs
from tinybench.measure.model_info import ModelInfo
from tinybench.measure.tflm_arena import arena_report, last_lines
from tinybench.native_logs import captured_fd2, quiet_native_logs

__all__ = ["as_model_input", "litert_tensors", "tflm_layer_io"]


def as_model_input(windows: np.ndarray, info: ModelInfo) -> np.ndarray:
    """Return ``windows`` (a batch) in the model's input dtype and shape, quantized if needed."""
    windows = np.asarray(windows)
    tensor = info.inputs[0]
    shape = tensor.shape[1:] if tensor.shape and tensor.shape[0] == 1 else tensor.shape
    if windows.shape[1:] != tuple(shape):
        raise ConfigError(
            f"Windows have shape {windows.shape[1:]} each, but the model takes {shape}. "
            "Pass a batch of windows from prepare(...).test.x."
        )
    if windows.dtype == np.dtype(tensor.dtype):
        return windows
    return quantize(windows, tensor)


def tflm_layer_io(model: Any, op_index: int, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run TFLM up to operator ``op_index`` and return its first input and its output.

    Args:
        model: An int8 model (bytes, path or ``Variant``).
        op_index: The layer, as in ``read_model(model).ops``.
        windows: A batch of windows, float (quantized here) or already in the input dtype.

    Returns:
        ``(layer_inputs, layer_outputs)``, one row per window, each in the tensor's shape
        without its batch axis of 1.

    Raises:
        ConfigError: The windows do not fit the model.
        ProfileError: TFLM cannot run the model.
    """
    data, info, x = _model_and_input(model, windows)
    op = _op_tensor_ids(data, op_index)
    probe = with_outputs(data, [op[0], op[1]], last_op=op_index)
    from tflite_micro import runtime

    arena = arena_report(probe).arena_size
    with captured_fd2() as captured:
        try:
            interpreter = runtime.Interpreter.from_bytes(probe, arena_size=arena)
        except (RuntimeError, ValueError) as exc:
            raise ProfileError(
                f"TFLM could not set up the model cut at operator {op_index}: {exc}. TFLM said: "
                f"{last_lines(captured())!r}. Check that TflmRunner runs the whole model."
            ) from None
    inputs, outputs = [], []
    for window in x:
        interpreter.set_input(window.reshape(info.inputs[0].shape), 0)
        interpreter.invoke()
        inputs.append(np.array(interpreter.get_output(0), copy=True))
        outputs.append(np.array(interpreter.get_output(1), copy=True))
    return _drop_batch(np.stack(inputs)), _drop_batch(np.stack(outputs))


def litert_tensors(model: Any, windows: np.ndarray) -> list[np.ndarray]:
    """Every operator's first output for each window, from LiteRT's reference kernels.

    Returns:
        One array per operator of the main subgraph, in execution order, with one row per
        window (raw dtype: int8 tensors stay int8).

    Raises:
        ConfigError: The windows do not fit the model.
        ProfileError: LiteRT cannot load the model.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    data, info, x = _model_and_input(model, windows)
    try:
        with quiet_native_logs():
            interpreter = Interpreter(
                model_content=data,
                experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                experimental_preserve_all_tensors=True,
            )
            interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ProfileError(f"LiteRT could not load the model: {exc}.") from None
    input_index = interpreter.get_input_details()[0]["index"]
    out_ids = [_op_tensor_ids(data, op.index)[1] for op in info.ops if op.subgraph == 0]
    rows: list[list[np.ndarray]] = [[] for _ in out_ids]
    for window in x:
        interpreter.set_tensor(input_index, window.reshape(info.inputs[0].shape))
        interpreter.invoke()
        for row, tensor in zip(rows, out_ids, strict=True):
            row.append(np.array(interpreter.get_tensor(tensor), copy=True))
    return [_drop_batch(np.stack(row)) for row in rows]


def _model_and_input(model: Any, windows: np.ndarray) -> tuple[bytes, ModelInfo, np.ndarray]:
    """The model's flatbuffer and info, and ``windows`` as :func:`as_model_input` makes them."""
    data = model_bytes(model)
    info = read_model(data)
    return data, info, as_model_input(windows, info)


def _op_tensor_ids(data: bytes, op_index: int) -> tuple[int, int]:
    """``(first input, first output)`` tensor indices of a main-subgraph operator."""
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
    if not 0 <= op_index < graph.OperatorsLength():
        raise ConfigError(
            f"No operator {op_index}: the main subgraph has {graph.OperatorsLength()}."
        )
    op = graph.Operators(op_index)
    return int(op.Inputs(0)), int(op.Outputs(0))


def _drop_batch(batch: np.ndarray) -> np.ndarray:
    """``(n, 1, ...)`` → ``(n, ...)``: the per-window batch axis of 1 goes."""
    return batch[:, 0] if batch.ndim > 1 and batch.shape[1] == 1 else batch
