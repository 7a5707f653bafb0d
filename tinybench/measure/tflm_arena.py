"""Measure a model's TFLM tensor arena, in a child process.

:func:`arena_report` runs ``python -m tinybench.measure.tflm_arena measure -`` because TFLM
segfaults on arenas of 256 bytes or less and its allocation report goes to C-level stderr. It
returns two figures:

- ``reported_bytes``: "Arena allocation total" from TFLM's own ``print_allocations()``;
- ``required_bytes``: the smallest ``arena_size`` with which the interpreter allocates and
  invokes. It can be larger than the report (memory planning needs temporary space during
  ``AllocateTensors``: 1,936 vs 1,504 bytes for TFLM's hello_world) or a few bytes smaller
  (alignment padding). A sketch needs at least this much.

Figures are for the 64-bit host; a 32-bit microcontroller needs somewhat less. How many bytes
a sketch reserves from them is :mod:`tinybench.measure.arena`'s rule.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.errors import ModelError, ProfileError
from tinybench.measure.arena import tensor_arena_size
from tinybench.measure.flatbuffer import load_model, read_model
from tinybench.measure.model_bytes import MAX_MODEL_BYTES, model_bytes
from tinybench.native_logs import captured_fd2

__all__ = [
    "MIN_SAFE_ARENA",
    "ArenaReport",
    "arena_report",
    "last_lines",
    "measure_arena",
    "parse_allocation_report",
]

log = logging.getLogger(__name__)

MIN_SAFE_ARENA = 257
"""TFLM segfaults with arenas smaller than this; never pass one."""
_MAX_ARENA = 1 << 26
_MEASURE_TIMEOUT_S = 300
_TOTAL_RE = re.compile(r"Arena allocation total (\d+) bytes")
_HEAD_RE = re.compile(r"Arena allocation head (\d+) bytes")
_TAIL_RE = re.compile(r"Arena allocation tail (\d+) bytes")
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
        """Arena for a host interpreter: the one arena rule, without the sketch margin.

        See :func:`~tinybench.measure.arena.tensor_arena_size`; the host runs no CMSIS-NN
        kernels, so it needs no scratch margin.
        """
        return tensor_arena_size(self.reported_bytes, self.required_bytes, margin=0)


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
    info.check_runnable()
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


def last_lines(text: str, n: int = 6) -> str:
    """Return the last ``n`` lines of TFLM's log, joined into one line."""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:])


def _measure_in_child(data: bytes) -> ArenaReport:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tinybench.measure.tflm_arena", "measure", "-"],
            input=data,
            capture_output=True,
            env=env,
            timeout=_MEASURE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProfileError(
            f"Measuring the arena took longer than {_MEASURE_TIMEOUT_S} s and was stopped. "
            "Try a smaller model, or run "
            "`python -m tinybench.measure.tflm_arena measure model.tflite` to "
            "see where it hangs."
        ) from None
    return _arena_result(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


def _arena_result(returncode: int, stdout: bytes, stderr: str) -> ArenaReport:
    """Read the child's answer. TFLM refusing or crashing on the model is the model's fault."""
    if returncode < 0:
        raise ModelError(
            f"TFLM crashed (signal {-returncode}) on this model while measuring its arena; "
            f"the flatbuffer parses but TFLM cannot load it. TFLM said: {last_lines(stderr)!r}. "
            "Convert the model again, or run `python -m tinybench.measure.tflm_arena measure "
            "model.tflite` to reproduce it."
        )
    try:
        result = json.loads(stdout.decode())
    except ValueError:
        raise ProfileError(
            f"The arena measurement failed (exit code {returncode}, no result): "
            f"{last_lines(stderr)!r}. Check that tflite-micro is installed in this environment."
        ) from None
    if "error" in result:
        raise ModelError(
            f"TFLM could not run the model to measure its arena: {result['error']}. "
            f"TFLM said: {last_lines(stderr)!r}. Convert the model again, or run it with "
            "LiteRtRunner."
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
        with captured_fd2() as captured:
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

    inputs = len(read_model(data).inputs)  # ModelError for bad bytes, before TFLM sees them
    size = max(64 * 1024, 4 * len(data))
    while True:
        worked, said = _try_arena(data, size, inputs)
        if worked:
            break
        if size >= _MAX_ARENA:
            return {"error": f"no arena up to {_MAX_ARENA} bytes works ({last_lines(said)})"}
        size *= 2
    interp = runtime.Interpreter.from_bytes(data, arena_size=size)
    _invoke_zeros(interp, inputs)
    with captured_fd2() as captured:
        interp.print_allocations()
        text = captured()
    reported = parse_allocation_report(text)
    low, high = MIN_SAFE_ARENA - 1, size  # low never tried (it would crash), high works
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
    """Entry point of ``python -m tinybench.measure.tflm_arena measure <file|->``.

    Prints JSON on stdout.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tinybench.measure.tflm_arena",
        description="Measure a .tflite model's TFLM tensor arena; prints JSON.",
    )
    parser.add_argument("command", choices=["measure"])
    parser.add_argument("model", help="path of a .tflite file, or - to read it from stdin")
    args = parser.parse_args(argv)
    data = (
        sys.stdin.buffer.read(MAX_MODEL_BYTES + 1) if args.model == "-" else model_bytes(args.model)
    )
    try:
        result = _measure_here(data)
    except (RuntimeError, ValueError, ProfileError) as exc:  # TFLM refused this model
        result = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
