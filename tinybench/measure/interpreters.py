"""Run a ``.tflite`` model in TensorFlow Lite Micro (TFLM) or LiteRT.

:class:`TflmRunner` wraps ``tflite_micro.runtime.Interpreter``: the same kernels as on the
board, so its outputs are what a microcontroller computes. :class:`LiteRtRunner` wraps
``ai_edge_litert.interpreter.Interpreter`` without delegates, for models TFLM cannot run
(float16, dynamic-range) and for cross-checks. Both satisfy the :class:`Runner` protocol.
The arena a TFLM runner gets is measured first, in a child process, by
:mod:`tinybench.measure.tflm_arena`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tinybench.errors import ConfigError, ProfileError
from tinybench.measure.flatbuffer import load_model
from tinybench.measure.model_info import TensorInfo
from tinybench.measure.tflm_arena import (
    MIN_SAFE_ARENA,
    arena_report,
    last_lines,
    parse_allocation_report,
)
from tinybench.native_logs import captured_fd2, quiet_native_logs

__all__ = ["LiteRtRunner", "Runner", "TflmRunner", "dequantize", "quantize"]


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
                    "tinybench.measure.quantize(x, runner.input) first."
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
        model: What :func:`~tinybench.measure.flatbuffer.read_model` found in the model.
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

    def __init__(self, tflite: Any, arena_size: int | None = None) -> None:
        self._data, self.model = load_model(tflite)
        self.model.check_runnable()
        self.input, self.output = self.model.single_io()
        if arena_size is not None and arena_size < MIN_SAFE_ARENA:
            raise ConfigError(
                f"arena_size={arena_size} is too small: TFLM crashes the process with arenas "
                f"of 256 bytes or less. Pass arena_size=None to measure the model, or at "
                f"least {MIN_SAFE_ARENA}."
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

        with captured_fd2() as captured:
            try:
                self._interp = runtime.Interpreter.from_bytes(self._data, arena_size=arena_size)
            except (RuntimeError, ValueError) as exc:
                raise ProfileError(
                    f"TFLM could not set up the model with arena_size={arena_size}: {exc}. "
                    f"TFLM said: {last_lines(captured())!r}. Pass arena_size=None to use "
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
        with captured_fd2() as captured:
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
        model: What :func:`~tinybench.measure.flatbuffer.read_model` found in the model.
        input: The input tensor.
        output: The output tensor.

    Raises:
        ProfileError: The model has more than one input or output, or LiteRT rejects it.
    """

    interpreter = "litert"

    def __init__(self, tflite: Any, *, reference_kernels: bool = False) -> None:
        self._data, self.model = load_model(tflite)
        self.input, self.output = self.model.single_io()
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = (
            OpResolverType.BUILTIN_REF
            if reference_kernels
            else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        try:
            with quiet_native_logs():  # LiteRT announces its delegates on fd 2
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
