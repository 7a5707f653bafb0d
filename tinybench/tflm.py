"""Run a ``.tflite`` model in TensorFlow Lite Micro (TFLM) or LiteRT, and measure its arena.

:class:`TflmRunner` wraps ``tflite_micro.runtime.Interpreter``: the same kernels as on the
board, so its outputs are what a microcontroller computes. :class:`LiteRtRunner` wraps
``ai_edge_litert.interpreter.Interpreter`` without delegates, for models TFLM cannot run
(float16, dynamic-range) and for cross-checks. Both satisfy the :class:`Runner` protocol.

:func:`arena_report` measures the tensor arena in a child process (``python -m tinybench.tflm
measure -``), because TFLM segfaults on arenas of 256 bytes or less and its allocation report
goes to C-level stderr. It returns two figures:

- ``reported_bytes``: "Arena allocation total" from TFLM's own ``print_allocations()``;
- ``required_bytes``: the smallest ``arena_size`` with which the interpreter allocates and
  invokes. It can be larger than the report (memory planning needs temporary space during
  ``AllocateTensors``: 1,936 vs 1,504 bytes for TFLM's hello_world) or a few bytes smaller
  (alignment padding). A sketch needs at least this much.

Figures are for the 64-bit host; a 32-bit microcontroller needs somewhat less.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tinybench.budget import ARENA_ALIGNMENT_MARGIN
from tinybench.errors import ConfigError, ProfileError
from tinybench.tflite_model import ModelInfo, TensorInfo, load_model, read_model

__all__ = [
    "ARENA_ALIGNMENT_MARGIN",
    "ArenaReport",
    "LiteRtRunner",
    "Runner",
    "TflmRunner",
    "arena_report",
    "dequantize",
    "measure_arena",
    "parse_allocation_report",
    "quantize",
]

log = logging.getLogger(__name__)

#: TFLM segfaults with arenas this small or smaller; never pass one.
_MIN_SAFE_ARENA = 257
_MAX_ARENA = 1 << 26
_MEASURE_TIMEOUT_S = 300
_TOTAL_RE = re.compile(r"Arena allocation total (\d+) bytes")
_HEAD_RE = re.compile(r"Arena allocation head (\d+) bytes")
_TAIL_RE = re.compile(r"Arena allocation tail (\d+) bytes")
_FD2_LOCK = threading.Lock()
_CACHE: dict[str, ArenaReport] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ArenaReport:
    """Tensor arena figures measured in the TFLM interpreter.

    Attributes:
        reported_bytes: "Arena allocation total" from TFLM's allocation report.
        required_bytes: Smallest ``arena_size`` with which the model allocates and invokes.
        head_bytes: Non-persistent (activation) part of the report.
        tail_bytes: Persistent part of the report (tensor structs, op data).
        text: The allocation report as TFLM printed it.
    """

    reported_bytes: int
    required_bytes: int
    head_bytes: int
    tail_bytes: int
    text: str

    @property
    def arena_size(self) -> int:
        """Arena to allocate: the larger figure, rounded up to 16, plus the alignment margin."""
        needed = max(self.reported_bytes, self.required_bytes)
        return -(-needed // 16) * 16 + ARENA_ALIGNMENT_MARGIN


@runtime_checkable
class Runner(Protocol):
    """One interpreter running one single-input, single-output model.

    Attributes:
        interpreter: ``"tflm"`` or ``"litert"``.
        input: The model's input tensor.
        output: The model's output tensor.
    """

    interpreter: str
    input: TensorInfo
    output: TensorInfo

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one example (raw input dtype) and return the raw output."""
        ...

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Run every example of ``batch`` and stack the raw outputs."""
        ...


def quantize(x: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """Convert float values to ``tensor``'s dtype with its scale and zero point.

    Rounds half away from zero and saturates, as TFLM's QUANTIZE kernel does. A float
    tensor gets the values cast to its dtype.
    """
    x = np.asarray(x)
    if not tensor.quantized:
        return x.astype(tensor.dtype)
    info = np.iinfo(tensor.dtype)
    # float32 division as in the kernel, then exact rounding of that float32 quotient
    scaled = (x.astype(np.float32) / np.float32(tensor.scale)).astype(np.float64)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + tensor.zero_point
    return np.clip(rounded, info.min, info.max).astype(tensor.dtype)


def dequantize(q: np.ndarray, tensor: TensorInfo) -> np.ndarray:
    """Convert raw values of ``tensor`` to float32 (``scale * (q - zero_point)``)."""
    q = np.asarray(q)
    if not tensor.quantized:
        return q.astype(np.float32)
    return (
        (q.astype(np.float32) - np.float32(tensor.zero_point)) * np.float32(tensor.scale)
    ).astype(np.float32)


def parse_allocation_report(text: str) -> int:
    """Return N from the "Arena allocation total N bytes" line of a TFLM allocation report.

    Raises:
        ProfileError: The text holds no such line.
    """
    match = _TOTAL_RE.search(text)
    if match is None:
        raise ProfileError(
            f"No 'Arena allocation total' line in the TFLM allocation report {text[:200]!r}. "
            "Call print_allocations() on an interpreter created with the default "
            "InterpreterConfig.kAllocationRecording."
        )
    return int(match.group(1))


def arena_report(tflite: bytes | str | Path) -> ArenaReport:
    """Measure the model's tensor arena in a child TFLM process (cached by SHA-256).

    Raises:
        UnsupportedOpError: The model uses ops TFLM lacks.
        ProfileError: TFLM cannot run the model (float16, dynamic-range, or it failed).
    """
    data, info = load_model(tflite)
    _require_runnable(info)
    key = hashlib.sha256(data).hexdigest()
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    report = _measure_in_child(data)
    log.debug(
        "TFLM arena of model %s: %d bytes reported, %d required",
        key[:12],
        report.reported_bytes,
        report.required_bytes,
    )
    with _CACHE_LOCK:
        _CACHE[key] = report
    return report


def measure_arena(tflite: bytes | str | Path) -> int:
    """Return the arena bytes TFLM reports for the model ("Arena allocation total").

    See :func:`arena_report` for the smallest arena that actually allocates.
    """
    return arena_report(tflite).reported_bytes


class _RunnerBase(ABC):
    """Input checks and batch looping shared by both runners."""

    interpreter = ""
    input: TensorInfo
    output: TensorInfo

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        want = np.dtype(self.input.dtype)
        if x.dtype != want:
            if want.kind == "f" and x.dtype.kind == "f":
                x = x.astype(want)
            else:
                raise ConfigError(
                    f"Input has dtype {x.dtype}, but the model's input {self.input.name!r} "
                    f"is {want}. Convert float data with "
                    "tinybench.tflm.quantize(x, runner.input) first."
                )
        if x.shape not in (self.input.shape, _sample_shape(self.input.shape)):
            raise ConfigError(
                f"Input has shape {x.shape}, but the model takes one example of shape "
                f"{self.input.shape} (or {_sample_shape(self.input.shape)}). Use predict() "
                "for a batch."
            )
        return x.reshape(self.input.shape)

    @abstractmethod
    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one example (raw input dtype) and return the raw output, batch dim kept."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Run each example of ``batch`` (shape ``(n, *example_shape)``) and stack outputs.

        Returns:
            Raw outputs of shape ``(n, *output_example_shape)``.
        """
        batch = np.asarray(batch)
        out_shape = _sample_shape(self.output.shape)
        if len(batch) == 0:
            return np.zeros((0, *out_shape), dtype=self.output.dtype)
        return np.stack([self.invoke(x).reshape(out_shape) for x in batch])


class TflmRunner(_RunnerBase):
    """A model in the TFLM interpreter: the kernels that run on the microcontroller.

    Args:
        tflite: Model bytes or path.
        arena_size: Arena bytes; ``None`` uses :attr:`ArenaReport.arena_size`. The model is
            measured first either way (cached), because an arena that is too small can crash
            the process instead of failing.

    Attributes:
        model: What :func:`~tinybench.tflite_model.read_model` found in the model.
        arena_size: The arena the interpreter was given.
        input: The input tensor.
        output: The output tensor.

    Raises:
        UnsupportedOpError: The model uses ops TFLM lacks.
        ProfileError: The model is not runnable on a microcontroller, has more than one input
            or output, or TFLM failed to allocate it (the message carries TFLM's log).
        ConfigError: ``arena_size`` is smaller than the model needs.
    """

    interpreter = "tflm"

    def __init__(self, tflite: bytes | str | Path, arena_size: int | None = None) -> None:
        self._data, self.model = load_model(tflite)
        _require_runnable(self.model)
        self.input, self.output = _single_io(self.model)
        if arena_size is not None and arena_size < _MIN_SAFE_ARENA:
            raise ConfigError(
                f"arena_size={arena_size} is too small: TFLM crashes the process with arenas "
                f"of 256 bytes or less. Pass arena_size=None to measure the model, or at "
                f"least {_MIN_SAFE_ARENA}."
            )
        report = arena_report(self._data)
        if arena_size is None:
            arena_size = report.arena_size
        elif arena_size < report.required_bytes:
            raise ConfigError(
                f"arena_size={arena_size} is smaller than the {report.required_bytes} bytes "
                "this model needs (measured in TFLM); with less, TFLM fails or crashes the "
                f"process. Pass arena_size=None, or at least {report.required_bytes}."
            )
        self.arena_size = arena_size
        from tflite_micro import runtime

        with _stderr_captured() as captured:
            try:
                self._interp = runtime.Interpreter.from_bytes(self._data, arena_size=arena_size)
            except (RuntimeError, ValueError) as exc:
                raise ProfileError(
                    f"TFLM could not set up the model with arena_size={arena_size}: {exc}. "
                    f"TFLM said: {_last_lines(captured())!r}. Pass arena_size=None to use "
                    "the measured arena."
                ) from None

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one example (raw input dtype) and return the raw output, batch dim kept.

        Raises:
            ConfigError: ``x`` has the wrong dtype or shape.
            ProfileError: TFLM failed to invoke (its log is on stderr).
        """
        x = self._check_input(x)
        self._interp.set_input(x, 0)
        try:
            self._interp.invoke()
        except RuntimeError as exc:
            raise ProfileError(
                f"TFLM failed to invoke the model: {exc}. Its log is on stderr; check the "
                "input and the arena size."
            ) from None
        return np.array(self._interp.get_output(0), copy=True).reshape(self.output.shape)

    def allocation_report(self) -> str:
        """Return the text of TFLM's ``print_allocations()`` for this interpreter."""
        with _stderr_captured() as captured:
            self._interp.print_allocations()
            return captured()

    def arena_used_bytes(self) -> int:
        """Return "Arena allocation total" from this interpreter's allocation report."""
        return parse_allocation_report(self.allocation_report())


class LiteRtRunner(_RunnerBase):
    """A model in the LiteRT interpreter, without delegates.

    Args:
        tflite: Model bytes or path.
        reference_kernels: Use LiteRT's reference kernels (``BUILTIN_REF``) instead of its
            optimized builtin kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``). Neither matches
            TFLM bit for bit on every model: this LiteRT build's reference kernels requantize
            with single rounding where TFLM rounds twice, and its optimized convolutions
            differ from TFLM's in the last bit now and then.

    Attributes:
        model: What :func:`~tinybench.tflite_model.read_model` found in the model.
        input: The input tensor.
        output: The output tensor.

    Raises:
        ProfileError: The model has more than one input or output, or LiteRT rejects it.
    """

    interpreter = "litert"

    def __init__(self, tflite: bytes | str | Path, *, reference_kernels: bool = False) -> None:
        self._data, self.model = load_model(tflite)
        self.input, self.output = _single_io(self.model)
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = (
            OpResolverType.BUILTIN_REF
            if reference_kernels
            else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        try:
            self._interp = Interpreter(
                model_content=self._data, experimental_op_resolver_type=resolver
            )
            self._interp.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ProfileError(
                f"LiteRT could not load the model: {exc}. Check that it converts and "
                "runs with ai_edge_litert.interpreter.Interpreter."
            ) from None
        self._in_index = self._interp.get_input_details()[0]["index"]
        self._out_index = self._interp.get_output_details()[0]["index"]

    def invoke(self, x: np.ndarray) -> np.ndarray:
        """Run one example (raw input dtype) and return the raw output, batch dim kept.

        Raises:
            ConfigError: ``x`` has the wrong dtype or shape.
        """
        self._interp.set_tensor(self._in_index, self._check_input(x))
        self._interp.invoke()
        return np.array(self._interp.get_tensor(self._out_index), copy=True).reshape(
            self.output.shape
        )


# --- helpers ---------------------------------------------------------------------------------


def _sample_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[1:] if shape and shape[0] == 1 else shape


def _single_io(model: ModelInfo) -> tuple[TensorInfo, TensorInfo]:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ProfileError(
            f"The model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "runners take models with exactly one of each. Export a single-input, "
            "single-output model (one Keras Input, one output layer)."
        )
    return model.inputs[0], model.outputs[0]


def _require_runnable(model: ModelInfo) -> None:
    model.check_tflm_ops()
    if not model.runnable_on_mcu:
        raise ProfileError(
            f"This {model.quantization} model is not runnable on a microcontroller: "
            f"{model.mcu_reason}. Quantize it to int8 (post-training with a representative "
            "dataset, or QAT) for a microcontroller; LiteRtRunner runs it as it is."
        )


@contextmanager
def _stderr_captured() -> Iterator[Any]:
    """Redirect C-level stderr (fd 2) into a temporary file; yield a reader of its text."""
    with _FD2_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)

        def read() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            yield read
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _last_lines(text: str, n: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:])


def _measure_in_child(data: bytes) -> ArenaReport:
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tinybench.tflm", "measure", "-"],
            input=data,
            capture_output=True,
            env=env,
            timeout=_MEASURE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProfileError(
            f"Measuring the arena took longer than {_MEASURE_TIMEOUT_S} s and was stopped. "
            "Try a smaller model, or run `python -m tinybench.tflm measure model.tflite` to "
            "see where it hangs."
        ) from None
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode < 0:
        raise ProfileError(
            f"TFLM crashed (signal {-proc.returncode}) while measuring the arena. TFLM said: "
            f"{_last_lines(stderr)!r}. Run `python -m tinybench.tflm measure model.tflite` "
            "to reproduce it."
        )
    try:
        result = json.loads(proc.stdout.decode())
    except ValueError:
        result = {"error": f"exit code {proc.returncode} and no result"}
    if "error" in result:
        raise ProfileError(
            f"TFLM could not run the model to measure its arena: {result['error']}. "
            f"TFLM said: {_last_lines(stderr)!r}. Check the model with "
            "tinybench.tflite_model.read_model(), or run it with LiteRtRunner."
        )
    return ArenaReport(**result)


def _invoke_zeros(interp: Any, inputs: int) -> None:
    for index in range(inputs):
        details = interp.get_input_details(index)
        interp.set_input(np.zeros(details["shape"], details["dtype"]), index)
    interp.invoke()


def _try_arena(data: bytes, arena_size: int, inputs: int) -> tuple[bool, str]:
    """Allocate and invoke the model with ``arena_size`` bytes; return (worked, TFLM's log).

    TFLM segfaults not only on arenas of 256 bytes or less but also on some a few bytes
    short of what a model needs, so each attempt runs in a forked copy of this process where
    ``fork`` exists. A crash counts as "too small".
    """
    from tflite_micro import runtime

    if not hasattr(os, "fork"):  # no fork (Windows): try here; a crash ends the child
        with _stderr_captured() as captured:
            try:
                _invoke_zeros(runtime.Interpreter.from_bytes(data, arena_size=arena_size), inputs)
            except RuntimeError:
                return False, captured()
        return True, ""
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the forked copy: report through the exit code only
            code = 1
            try:
                os.dup2(sink.fileno(), 2)
                interp = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
                _invoke_zeros(interp, inputs)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sink.seek(0)
        said = sink.read().decode(errors="replace")
    if os.WIFSIGNALED(status):
        return False, f"{said}\n(crashed with signal {os.WTERMSIG(status)})"
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, said


def _measure_here(data: bytes) -> dict[str, Any]:
    """Measure the arena in this process; run it in a child process only."""
    from tflite_micro import runtime

    inputs = len(read_model(data).inputs)
    size = max(64 * 1024, 4 * len(data))
    while True:
        worked, said = _try_arena(data, size, inputs)
        if worked:
            break
        if size >= _MAX_ARENA:
            return {"error": f"no arena up to {_MAX_ARENA} bytes works ({_last_lines(said)})"}
        size *= 2
    interp = runtime.Interpreter.from_bytes(data, arena_size=size)
    _invoke_zeros(interp, inputs)
    with _stderr_captured() as captured:
        interp.print_allocations()
        text = captured()
    reported = parse_allocation_report(text)
    low, high = _MIN_SAFE_ARENA - 1, size  # low never tried (it would crash), high works
    while low + 1 < high:
        mid = (low + high) // 2
        if _try_arena(data, mid, inputs)[0]:
            high = mid
        else:
            low = mid
    head = _HEAD_RE.search(text)
    tail = _TAIL_RE.search(text)
    return {
        "reported_bytes": reported,
        "required_bytes": high,
        "head_bytes": int(head.group(1)) if head else 0,
        "tail_bytes": int(tail.group(1)) if tail else 0,
        "text": text.strip(),
    }


def _main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tinybench.tflm measure <file|->``: JSON on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m tinybench.tflm",
        description="Measure a .tflite model's TFLM tensor arena; prints JSON.",
    )
    parser.add_argument("command", choices=["measure"])
    parser.add_argument("model", help="path of a .tflite file, or - to read it from stdin")
    args = parser.parse_args(argv)
    data = sys.stdin.buffer.read() if args.model == "-" else Path(args.model).read_bytes()
    sys.stdout.write(json.dumps(_measure_here(data)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
