"""The tensor arena as TFLM planned it, read from the emulated Cortex-M4 firmware.

TFLM's ``GreedyMemoryPlanner`` gives every intermediate tensor a place in the arena's head,
reusing bytes of tensors that are no longer needed; persistent data (the interpreter, tensor
structs, kernel state) sits in the tail. The firmware keeps a copy of what the planner was
given and what it answered (``arduino_sketches/common/tinybench_inference_core.h``) and sends
it for the ``m`` command (docs/protocol.md, "Emulated boards"):

    #plan 0,16,16,0,1
    #plan end peak=32 head=32 tail=788 total=820 buffers=4 dropped=0

>>> plan = memory_plan("build/export/gesture")          # doctest: +SKIP
>>> plot_memory_plan(plan)                              # doctest: +SKIP

Nothing is re-derived: offsets, sizes, lifetimes and the peak are the planner's. The buffers
are then named after the model's tensors, only when the flatbuffer's tensor sizes and lifetimes
(:mod:`tinybench.teach.tensor_lifetimes`) agree with every buffer the planner was given.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinybench.errors import ConfigError, EmulatorError, ProtocolError
from tinybench.teach.tensor_lifetimes import TensorPlanInputs, planned_tensors
from tinybench.wire import Hello, checksum, parse_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MemoryPlan", "PlanBuffer", "memory_plan", "parse_plan", "plot_memory_plan"]

BOARDS = ("cortex-m4",)
"""Boards whose firmware reports a plan: the emulated Cortex-M4 (``tinybench.emulate``)."""

_BUFFER = re.compile(r"^#plan (\d+),(-?\d+),(-?\d+),(-?\d+),(-?\d+)$")
_END = re.compile(r"^#plan end((?: \w+=\d+)+)$")
_END_KEYS = ("peak", "head", "tail", "total", "buffers", "dropped")


@dataclass(frozen=True)
class PlanBuffer:
    """One buffer of the plan: bytes ``offset`` to ``offset + size`` of the arena's head.

    Attributes:
        index: Order in which TFLM's allocator gave it to the planner.
        offset: Where the planner put it, from the start of the arena.
        size: Bytes (the tensor's bytes rounded up to 16).
        first: Planner time it is made: 0 for a model input, ``k + 1`` when op ``k`` makes it.
        last: Planner time of its last use.
        label: The tensor's name, ``scratch of op k NAME``, or "" when unlabelled.
        tensor: The tensor's index in the model, or ``None`` (scratch, unlabelled).
    """

    index: int
    offset: int
    size: int
    first: int
    last: int
    label: str = ""
    tensor: int | None = None

    @property
    def end(self) -> int:
        """First byte after the buffer."""
        return self.offset + self.size


@dataclass(frozen=True)
class MemoryPlan:
    """The arena of one model on one board, from TFLM's own planner.

    Attributes:
        buffers: Every planned buffer, in the order the allocator added them.
        peak: The planner's ``GetMaximumMemorySize()``: the head's bytes.
        head: Non-persistent bytes the allocator reserved (equals ``peak``).
        tail: Persistent bytes: interpreter, tensor structs, kernel data, the planner itself.
        total: ``arena_used_bytes()``: ``head + tail``.
        op_names: Op names in execution order (op ``k`` runs at planner time ``k + 1``).
        model_name: The model's name.
        board: The board whose firmware made the plan.
        arena_used: ``arena_used`` from the firmware's hello, when read from a board.
        label_problem: Why the buffers are not named after tensors, or "" when they are.
    """

    buffers: tuple[PlanBuffer, ...]
    peak: int
    head: int
    tail: int
    total: int
    op_names: tuple[str, ...] = ()
    model_name: str = ""
    board: str = "cortex-m4"
    arena_used: int | None = None
    label_problem: str = "not compared with a model"

    @property
    def labelled(self) -> bool:
        """Whether every buffer is named after its tensor or op."""
        return not self.label_problem

    def table(self) -> list[dict[str, Any]]:
        """One row per buffer: index, label, offset, size, end, first, last."""
        return [
            {"buffer": b.index, "label": b.label, "offset": b.offset, "size": b.size,
             "end": b.end, "first": b.first, "last": b.last}
            for b in self.buffers
        ]  # fmt: skip

    def summary(self) -> str:
        """One line: the peak, the persistent tail and their sum."""
        return (
            f"{self.model_name or 'model'} on {self.board}: {len(self.buffers)} buffers, "
            f"plan peak {self.peak:,} B + persistent {self.tail:,} B = arena {self.total:,} B"
        )


def parse_plan(text: str) -> MemoryPlan:
    """Parse the firmware's ``#plan`` lines (other lines are skipped), unlabelled.

    Raises:
        ProtocolError: A ``#plan`` line is malformed or has a bad checksum, buffers are missing
            or out of order, the end line is missing, or the figures do not add up.
        EmulatorError: The firmware's record was too small for the model (``dropped``).
    """
    buffers: list[PlanBuffer] = []
    end: dict[str, int] | None = None
    for raw in text.splitlines():
        line = _verified(raw.strip())
        if not line.startswith("#plan "):
            continue
        if (match := _BUFFER.match(line)) is not None:
            index, offset, size, first, last = (int(v) for v in match.groups())
            if index != len(buffers):
                raise ProtocolError(f"#plan buffer {index} came after {len(buffers)} buffers")
            buffers.append(PlanBuffer(index, offset, size, first, last))
        elif (match := _END.match(line)) is not None:
            end = {k: int(v) for k, v in (p.split("=") for p in match.group(1).split())}
        else:
            raise ProtocolError(f"malformed #plan line: {line[:80]!r}")
    if end is None or any(key not in end for key in _END_KEYS):
        raise ProtocolError(
            f"no complete '#plan end' line (keys {', '.join(_END_KEYS)}) in the board's answer "
            "to m; is it the tinybench firmware built with the TFLM library?"
        )
    return _checked(tuple(buffers), end)


def _verified(line: str) -> str:
    if len(line) >= 3 and line[-3] == "*":
        body = line[:-3]
        if line[-2:].upper() != f"{checksum(body):02X}":
            raise ProtocolError(f"bad checksum on {line[:80]!r}")
        return body
    return line


def _checked(buffers: tuple[PlanBuffer, ...], end: dict[str, int]) -> MemoryPlan:
    if end["dropped"]:
        raise EmulatorError(
            f"The firmware kept {end['buffers']} of {end['buffers'] + end['dropped']} planned "
            "buffers; build it with a larger -DTINYBENCH_PLAN_BUFFERS."
        )
    highest = max((b.end for b in buffers), default=0)
    problems = []
    if len(buffers) != end["buffers"]:
        problems.append(f"{len(buffers)} #plan lines for buffers={end['buffers']}")
    if any(b.offset < 0 for b in buffers):
        problems.append("a buffer without an offset")
    if highest != end["peak"]:
        problems.append(f"buffers reach {highest} B but peak={end['peak']}")
    if end["head"] + end["tail"] != end["total"]:
        problems.append(f"head {end['head']} + tail {end['tail']} != total {end['total']}")
    if problems:
        raise ProtocolError("The memory plan does not add up: " + "; ".join(problems) + ".")
    return MemoryPlan(buffers, end["peak"], end["head"], end["tail"], end["total"])


def label_plan(plan: MemoryPlan, inputs: TensorPlanInputs, model_name: str = "") -> MemoryPlan:
    """Name each buffer after its tensor (or its op, for scratch) when the flatbuffer agrees.

    Buffers ``0 … n-1`` must be the model's ``n`` planned tensors, with the same sizes (rounded
    up to 16) and lifetimes; the rest are scratch buffers, each living within one op. On any
    disagreement the plan is returned unlabelled, with ``label_problem`` saying where.
    """
    plan = replace(plan, op_names=inputs.op_names, model_name=model_name or plan.model_name)
    problem = inputs.problem or _mismatch(plan.buffers, inputs)
    if problem:
        return replace(plan, label_problem=problem)
    count = len(inputs.tensors)
    named = [
        replace(buffer, label=tensor.name, tensor=tensor.tensor)
        for buffer, tensor in zip(plan.buffers, inputs.tensors, strict=False)
    ]
    for buffer in plan.buffers[count:]:
        op = buffer.last - 1
        named.append(replace(buffer, label=f"scratch of op {op} {inputs.op_names[op]}"))
    return replace(plan, buffers=tuple(named), label_problem="")


def _mismatch(buffers: tuple[PlanBuffer, ...], inputs: TensorPlanInputs) -> str:
    if len(buffers) < len(inputs.tensors):
        return (
            f"the planner got {len(buffers)} buffers, the model has {len(inputs.tensors)} tensors"
        )
    for buffer, tensor in zip(buffers, inputs.tensors, strict=False):
        expected = (tensor.planned_bytes, tensor.first, tensor.last)
        if (buffer.size, buffer.first, buffer.last) != expected:
            return (
                f"buffer {buffer.index} is {buffer.size} B at times {buffer.first}-{buffer.last}, "
                f"but tensor {tensor.tensor} ({tensor.name}) is {expected[0]} B at times "
                f"{expected[1]}-{expected[2]}"
            )
    ops = len(inputs.op_names)
    for buffer in buffers[len(inputs.tensors) :]:
        if not 1 <= buffer.first <= buffer.last <= ops or buffer.first != buffer.last:
            return f"buffer {buffer.index} (times {buffer.first}-{buffer.last}) is no op's scratch"
    return ""


def memory_plan(
    export_or_model: Any,
    board: str = "cortex-m4",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    library: Any = None,
    timeout: float = 30.0,
) -> MemoryPlan:
    """Build the firmware for a model, boot it in QEMU and read TFLM's memory plan.

    Args:
        export_or_model: An export folder (``tinybench.export_model``), or a model
            (``.tflite`` bytes or path, ``Variant``), exported to a temporary folder first.
        board: ``"cortex-m4"``, the emulated board (``tinybench.emulate``).
        cache_dir: Object cache for the TFLM library.
        library: The TFLM library (``tinybench.emulate.tflm_library.TflmLibrary``); found
            when ``None``.
        timeout: Seconds to wait for the board's answer.

    Raises:
        ConfigError: ``board`` is not one with a plan.
        ToolchainMissingError: The cross-compiler or QEMU is missing (the message is the
            ``apt-get install`` command).
        LibraryMissingError: The TFLM library was not found.
        EmulatorError: The board did not answer in time.
        ProtocolError: The answer is malformed or does not add up.
    """
    if board not in BOARDS:
        raise ConfigError(
            f"No memory plan for board {board!r}: only {', '.join(BOARDS)} (the emulated "
            "board) reports one. Use board='cortex-m4'."
        )
    with tempfile.TemporaryDirectory(prefix="tinybench-plan-") as scratch:
        export = _export_folder(export_or_model, Path(scratch))
        text = _ask_board(export, cache_dir, library, timeout)
        plan = parse_plan(text)
        inputs = planned_tensors(export / "model.tflite")
    hello = next((h for h in map(parse_line, text.splitlines()) if isinstance(h, Hello)), None)
    extra = hello.extra if hello is not None else {}
    plan = label_plan(plan, inputs, str(extra.get("model", "")))
    arena_used = int(extra["arena_used"]) if "arena_used" in extra else None
    return replace(plan, board=board, arena_used=arena_used)


def _export_folder(model: Any, scratch: Path) -> Path:
    if isinstance(model, (str, os.PathLike)):
        if (Path(model) / "model_settings.json").is_file():
            return Path(model)
        name = Path(model).stem
    else:
        name = str(getattr(model, "name", "") or "model")
    from tinybench.deploy import export_model

    name = re.sub(r"\W", "_", name.lstrip("0123456789")) or "model"  # a C identifier
    export_model(model, scratch / "export", name)
    return scratch / "export"


def _ask_board(export: Path, cache_dir: Any, library: Any, timeout: float) -> str:
    """Boot the emulated board, send ``?`` and ``m``, return what it sent up to ``#plan end``."""
    import serial

    from tinybench.emulate.board import EmulatedBoard

    with EmulatedBoard(export, cache_dir=cache_dir, open_link=False, library=library) as board:
        port = serial.serial_for_url(board.pty, baudrate=115200, timeout=0.05)
        try:
            port.write(b"?\nm\n")
            received, deadline = b"", time.monotonic() + timeout
            while time.monotonic() < deadline:
                received += port.read(max(1, port.in_waiting))
                text = received.decode("ascii", errors="replace")
                if "#plan end" in text and text.endswith("\n"):
                    return text
                refusal = next((ln for ln in text.splitlines() if ln.startswith("!")), None)
                if refusal is not None:
                    raise ProtocolError(f"The emulated board refused m: {refusal[1:]}")
        finally:
            port.close()
    raise EmulatorError(f"The emulated board sent no '#plan end' line within {timeout:g} s.")


def plot_memory_plan(plan: MemoryPlan, *, max_labels: int = 40) -> Figure:
    """Draw the plan: one bar per buffer, from the op that makes it to the last that reads it.

    The x axis is TFLM's planner time (the model's input, then one step per op), the y axis the
    arena's bytes. The head's peak is marked; the persistent tail is drawn above it, so the top
    of the figure is the whole arena (``plan.total``).

    Args:
        plan: From :func:`memory_plan` or :func:`parse_plan`.
        max_labels: Buffers above this many are drawn without their names.

    Returns:
        A matplotlib figure (shown as a PNG in a notebook).
    """
    from tinybench.sweep.figures import new_figure

    steps = max([len(plan.op_names), *(b.last for b in plan.buffers), 0]) + 1
    fig = new_figure(figsize=(min(4 + 0.45 * steps, 16), 5.5), layout="constrained")
    ax = fig.add_subplot()
    _draw_buffers(ax, plan, max_labels)
    _draw_arena(ax, plan, steps)
    names = ["input", *(f"{k} {name}" for k, name in enumerate(plan.op_names))]
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(0, max(plan.total, 1) * 1.02)
    ax.set_xlabel("planner time: the model's input, then op k")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(plan.summary(), fontsize=9)
    return fig


def _draw_buffers(ax: Any, plan: MemoryPlan, max_labels: int) -> None:
    """One rectangle per buffer: its lifetime across, its bytes up; scratch in grey."""
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    palette = colormaps["tab20"]
    for buffer in plan.buffers:
        scratch = buffer.tensor is None and plan.labelled
        color = "0.6" if scratch else palette(buffer.index % palette.N)
        width = buffer.last - buffer.first + 0.9
        corner = (buffer.first - 0.45, buffer.offset)
        ax.add_patch(
            Rectangle(corner, width, buffer.size, facecolor=color, edgecolor="black",
                      linewidth=0.5, alpha=0.85)
        )  # fmt: skip
        if len(plan.buffers) <= max_labels and buffer.size >= 0.04 * max(plan.total, 1):
            ax.text(buffer.first - 0.4, buffer.offset + buffer.size / 2,
                    f"{_short(buffer)}\n{buffer.size:,} B", va="center", fontsize=6.5)  # fmt: skip


def _draw_arena(ax: Any, plan: MemoryPlan, steps: int) -> None:
    """The peak of the head as a red line, the persistent tail hatched above it."""
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle((-0.5, plan.head), steps, plan.tail, facecolor="none", hatch="//",
                  edgecolor="0.5", linewidth=0.5)
    )  # fmt: skip
    ax.axhline(plan.peak, color="red", linestyle="--", linewidth=1)
    ax.text(steps - 0.5, plan.peak, f" peak {plan.peak:,} B", color="red", va="bottom",
            ha="right", backgroundcolor="white")  # fmt: skip
    ax.text(steps - 0.5, plan.head + plan.tail / 2, f"persistent tail {plan.tail:,} B ",
            va="center", ha="right", fontsize=8, backgroundcolor="white")  # fmt: skip


def _short(buffer: PlanBuffer) -> str:
    """A bar's caption: the tensor name's last two parts, ``scratch`` or the buffer number."""
    if not buffer.label:
        return f"buffer {buffer.index}"
    if buffer.tensor is None:
        return "scratch"
    return "/".join(buffer.label.split(";")[0].split("/")[-2:])[-24:]
