"""Which tensors TFLM's memory planner gets, and when each lives, read from the flatbuffer.

This does not plan anything: it names the buffers that TFLM's own planner reports
(:mod:`tinybench.teach.memory_plan`), and checks that the names fit. TFLM 2.0.0's
``AllocationInfoBuilder`` (``micro_allocation_info.cpp``) gives the planner one buffer per
tensor that needs arena bytes (not constant, not a variable, not empty), in tensor order, then
the kernels' scratch buffers. Its clock: the model's inputs are made at time 0, op ``k`` runs
at time ``k + 1``; a tensor lives from the op that produces it to the last op that reads it,
and the model's outputs live to the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tinybench.measure import load_model

__all__ = ["PlannedTensor", "TensorPlanInputs", "planned_tensors"]

ARENA_ALIGNMENT = 16
"""``MicroArenaBufferAlignment()``: every planned size is rounded up to it."""

_ITEM_BYTES = {
    "FLOAT32": 4, "FLOAT16": 2, "FLOAT64": 8, "INT32": 4, "UINT32": 4, "INT64": 8, "UINT64": 8,
    "INT16": 2, "UINT16": 2, "INT8": 1, "UINT8": 1, "BOOL": 1, "COMPLEX64": 8, "COMPLEX128": 16,
}  # fmt: skip


@dataclass(frozen=True)
class PlannedTensor:
    """A tensor the planner places in the arena.

    Attributes:
        tensor: Index of the tensor in the main subgraph.
        name: The converter's tensor name.
        nbytes: Bytes of its data (elements x element size).
        first: Planner time it is made (0: a model input; ``k + 1``: made by op ``k``).
        last: Planner time of its last use.
    """

    tensor: int
    name: str
    nbytes: int
    first: int
    last: int

    @property
    def planned_bytes(self) -> int:
        """Its size in the plan: ``nbytes`` rounded up to 16."""
        return -(-self.nbytes // ARENA_ALIGNMENT) * ARENA_ALIGNMENT


@dataclass(frozen=True)
class TensorPlanInputs:
    """What the planner is given for a model's tensors, in the order it is given it.

    Attributes:
        tensors: The planned tensors, in tensor order.
        op_names: Op names in execution order (op ``k`` runs at planner time ``k + 1``).
        problem: Why the tensors cannot be named (several subgraphs, an unknown dtype), or "".
    """

    tensors: tuple[PlannedTensor, ...]
    op_names: tuple[str, ...]
    problem: str = ""


def planned_tensors(model: Any) -> TensorPlanInputs:
    """Read which tensors TFLM plans in the arena, and their lifetimes, from a model.

    Args:
        model: Anything :func:`tinybench.measure.load_model` accepts (bytes, a ``.tflite``
            path, an export folder, a ``Variant``).

    Raises:
        ModelError: The data is not a readable ``.tflite`` model.
    """
    from ai_edge_litert import schema_py_generated as schema

    data, info = load_model(model)
    op_names = tuple(op.name for op in info.ops if op.subgraph == 0)
    model_t = schema.ModelT.InitFromPackedBuf(data, 0)
    if len(model_t.subgraphs) != 1:
        problem = f"the model has {len(model_t.subgraphs)} subgraphs; only one is labelled"
        return TensorPlanInputs((), op_names, problem)
    graph = model_t.subgraphs[0]
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    tensors = graph.tensors or []
    first, last = _lifetimes(graph, len(tensors))
    planned = []
    for index, tensor in enumerate(tensors):
        item = _ITEM_BYTES.get(type_names.get(tensor.type, ""))
        if item is None:
            problem = f"tensor {index} has dtype {type_names.get(tensor.type, tensor.type)}"
            return TensorPlanInputs((), op_names, problem + ", whose size this reader lacks")
        shape = [] if tensor.shape is None else [int(d) for d in tensor.shape]
        nbytes = item * math.prod(shape)
        if _is_constant(tensor, model_t.buffers or []) or tensor.isVariable or nbytes == 0:
            continue
        name = tensor.name.decode("utf-8", "replace") if tensor.name else f"tensor {index}"
        planned.append(PlannedTensor(index, name, nbytes, first[index], last[index]))
    return TensorPlanInputs(tuple(planned), op_names)


def _is_constant(tensor: Any, buffers: list) -> bool:
    """Whether the tensor's data is in the flatbuffer (TFLM points at it, no arena bytes)."""
    if not 0 < tensor.buffer < len(buffers):
        return False
    buffer = buffers[tensor.buffer]
    return buffer is not None and (
        (buffer.data is not None and len(buffer.data) > 0) or (buffer.offset or 0) > 1
    )


def _lifetimes(graph: Any, count: int) -> tuple[list[int], list[int]]:
    """``AllocationInfoBuilder::MarkAllocationLifetimes`` for one subgraph without control flow."""
    first, last = [-1] * count, [-1] * count

    def made(index: int, time: int) -> None:
        if first[index] == -1:
            first[index] = time

    for index in graph.inputs if graph.inputs is not None else []:
        made(index, 0)
        last[index] = 0
    operators = graph.operators or []
    for op_index, op in enumerate(operators):
        time = op_index + 1
        outputs = [] if op.outputs is None else list(op.outputs)
        for index in outputs:
            made(index, time)
        for index in [] if op.inputs is None else op.inputs:
            if index >= 0:
                last[index] = time
        for index in outputs:
            last[index] = time
    for index in graph.outputs if graph.outputs is not None else []:
        made(index, len(operators))
        last[index] = len(operators)
    return first, last
