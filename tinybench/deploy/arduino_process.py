"""Running one arduino-cli command: a timeout per command, the whole process group, the full log.

:func:`run_cli` starts arduino-cli in a session of its own (``start_new_session=True``), with
its output going to temporary files rather than pipes, and waits at most the command's timeout
(:data:`DEFAULT_TIMEOUTS`: seconds for ``version``, minutes for a compile). On a timeout or an
interrupt it kills the whole process group with ``os.killpg``, so the compilers and uploaders
arduino-cli started die with it.

What a command printed is kept whole in a :class:`CliRun`, up to :data:`MAX_OUTPUT_BYTES`.
Error messages only ever quote an excerpt (:func:`excerpt`, at most :data:`EXCERPT_CHARS`
characters); :meth:`CliRun.save_log` writes the full output to a file in :data:`LOG_DIR`
(``<temp dir>/tinybench-arduino-cli/``) and every error built by :func:`cli_error` names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from tinybench.errors import ArduinoCliError, CliNotFoundError
from tinybench.processes import stop_process

__all__ = [
    "DEFAULT_TIMEOUTS",
    "EXCERPT_CHARS",
    "LOG_DIR",
    "MAX_OUTPUT_BYTES",
    "CliRun",
    "cli_error",
    "command_name",
    "command_timeout",
    "excerpt",
    "run_cli",
]

DEFAULT_TIMEOUTS: dict[str, float] = {
    "version": 10.0,
    "core list": 60.0,
    "board list": 60.0,
    "core install": 900.0,
    "lib install": 600.0,
    "compile": 900.0,
    "upload": 300.0,
}
"""Seconds each command may take. A first compile for a core builds the whole core (minutes);
installs download (minutes); ``version`` answers at once."""

MAX_OUTPUT_BYTES = 64 * 1024 * 1024
"""Most output read back from one command; anything longer is refused, the log kept."""
EXCERPT_CHARS = 2000
"""Most characters of arduino-cli's output quoted in an error message."""
LOG_DIR = Path(tempfile.gettempdir()) / "tinybench-arduino-cli"
"""Where full logs of failed commands go: ``<temp dir>/tinybench-arduino-cli/``."""

E = TypeVar("E", bound=ArduinoCliError)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return ``text``, or its start and end with the number of characters left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half:,} characters left out …]\n{text[-half:]}"


@dataclass(frozen=True)
class CliRun:
    """One finished arduino-cli command: its argv, exit code and output.

    Attributes:
        argv: The exact command that was run.
        returncode: Its exit code.
        stdout: What it printed on stdout (JSON, with ``--format json``).
        stderr: What it printed on stderr.
        log_dir: Where :meth:`save_log` writes.
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    log_dir: Path = field(default=LOG_DIR, compare=False)

    @property
    def result(self) -> dict[str, Any] | None:
        """The JSON object on stdout, or ``None``."""
        return _json_object(self.stdout)

    @property
    def failure(self) -> dict[str, Any] | None:
        """The JSON object describing a failure (stderr first, then stdout), or ``None``."""
        return _json_object(self.stderr) or _json_object(self.stdout)

    @property
    def command(self) -> str:
        """The command words, e.g. ``"core install"`` (see :func:`command_name`)."""
        return command_name(self.argv)

    def error_text(self) -> str:
        """What arduino-cli said about a failure, as plain text, at most :data:`EXCERPT_CHARS`."""
        parts: list[str] = []
        for data in (self.failure, self.result):
            if data:
                parts.append(_text(data.get("error")))
                output = data.get("output")
                if isinstance(output, Mapping):
                    parts += [_text(output.get("stdout")), _text(output.get("stderr"))]
        if not any(p.strip() for p in parts):
            parts = [self.stderr, self.stdout]
        return excerpt("\n".join(p.strip() for p in parts if p.strip()))

    def save_log(self) -> Path | None:
        """Write the command, its exit code and its full output to a file; return its path."""
        body = (
            f"$ {shlex.join(self.argv)}\nexit code: {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}\n"
        )
        digest = hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()[:12]
        path = self.log_dir / f"arduino-cli-{self.command.replace(' ', '-')}-{digest}.log"
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8", errors="replace")
        except OSError:
            return None
        return path


def cli_error(kind: type[E], message: str, run: CliRun, **extra: Any) -> E:
    """Return ``kind(message)`` with an excerpt of ``run``'s output and its saved full log."""
    log = run.save_log()
    where = f"\nThe full output of arduino-cli is in {log}." if log else ""
    return kind(
        f"{message}{where}", excerpt(run.stdout), excerpt(run.stderr), log_path=log, **extra
    )


def command_name(argv: list[str] | tuple[str, ...]) -> str:
    """Return the command words of an argv, e.g. ``"core install"`` or ``"compile"``."""
    words = [w for w in argv[1:] if not w.startswith("-")] or ["?"]
    return " ".join(words[:2]) if words[0] in ("core", "lib", "board") else words[0]


def command_timeout(command: str, timeouts: Mapping[str, float] | None = None) -> float:
    """Return the seconds ``command`` may take: ``timeouts`` first, then the defaults."""
    merged = {**DEFAULT_TIMEOUTS, **(timeouts or {})}
    return float(merged.get(command, merged["compile"]))


def run_cli(
    argv: list[str], timeout: float, env: Mapping[str, str], log_dir: Path = LOG_DIR
) -> CliRun:
    """Run ``argv`` in its own process group; kill the whole group on a timeout or interrupt.

    Raises:
        CliNotFoundError: The executable cannot be started.
        ArduinoCliError: It did not finish within ``timeout`` seconds (the group was killed),
            or printed more than :data:`MAX_OUTPUT_BYTES`.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            raise CliNotFoundError(f"Cannot run arduino-cli at {argv[0]}: {exc}.") from exc
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(process, grace=0)
            run = CliRun(tuple(argv), -9, _read(out), _read(err), log_dir)
            raise cli_error(
                ArduinoCliError,
                f"`{shlex.join(argv)}` did not finish within {timeout:g} s, so it and every "
                f"process it started were killed. A first compile builds the whole core: retry "
                f"with ArduinoCli(timeouts={{{run.command!r}: …}}) set higher.",
                run,
            ) from None
        except BaseException:
            stop_process(process, grace=0)
            raise
        stop_process(process, grace=0)  # helpers it left behind in its group
        return CliRun(tuple(argv), returncode, _read(out), _read(err), log_dir)


def _read(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    if size > MAX_OUTPUT_BYTES:
        head = file.read(EXCERPT_CHARS).decode("utf-8", "replace")
        raise ArduinoCliError(
            f"arduino-cli printed {size:,} bytes, more than the {MAX_OUTPUT_BYTES:,} tinybench "
            f"reads. It began: {head!r}. Run the command by hand to see why."
        )
    return file.read().decode("utf-8", "replace")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _json_object(text: str) -> dict[str, Any] | None:
    """Return the JSON object in ``text``, skipping any plain-text lines before it."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
