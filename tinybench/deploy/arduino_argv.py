"""Finding arduino-cli and building its command lines: argv lists, never a shell.

:func:`find_arduino_cli` finds the executable (the argument, ``TINYBENCH_ARDUINO_CLI``, then
``PATH``). :func:`command_argv`, :func:`compile_argv` and :func:`upload_argv` build argv lists
that always ask for ``--format json``; :func:`resolve_target` turns a board name, profile or
FQBN into the FQBN and tinybench's profile; :func:`required_libraries` names the libraries the
sketches need on a board.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tinybench.boards import Board, get_board, list_boards
from tinybench.deploy.arduino_output import IMU_LIBRARIES
from tinybench.errors import CliNotFoundError, CompileError, ConfigError

__all__ = [
    "ENV_VAR",
    "INSTALL_HINT",
    "board_names",
    "command_argv",
    "compile_argv",
    "find_arduino_cli",
    "parse_version",
    "platform_of",
    "required_libraries",
    "resolve_target",
    "sketch_folder",
    "upload_argv",
]

ENV_VAR = "TINYBENCH_ARDUINO_CLI"
"""Environment variable naming the arduino-cli executable; it wins over ``PATH``."""

INSTALL_HINT = (
    "Install arduino-cli 1.x (https://arduino.github.io/arduino-cli/latest/installation/): "
    "run the official script `curl -fsSL "
    "https://raw.githubusercontent.com/arduino/arduino-cli/master/install.sh | sh`, unpack a "
    "release archive from https://github.com/arduino/arduino-cli/releases, or "
    "`brew install arduino-cli`. Then put it on PATH or set "
    f"{ENV_VAR}=/path/to/arduino-cli. Everything else in tinybench (capture, training, export, "
    "the virtual board) works without it, and ArduinoCli.planned_commands() shows the commands "
    "it would run."
)


def required_libraries(board: str | Board) -> list[str]:
    """Return the Library Manager libraries tinybench's sketches need on ``board``.

    These are the TFLM library for the board's core (``Chirale_TensorFLowLite``) and the
    library of its IMU, when it has them.
    """
    profile = get_board(board)
    libraries = [profile.tflm_library] if profile.tflm_library else []
    if profile.imu in IMU_LIBRARIES:
        libraries.append(IMU_LIBRARIES[profile.imu])
    return libraries


def find_arduino_cli(executable: str | os.PathLike[str] | None = None) -> Path:
    """Find the arduino-cli executable: the argument, then ``TINYBENCH_ARDUINO_CLI``, then ``PATH``.

    Args:
        executable: Path or name of the executable; ``None`` searches the environment variable,
            then ``PATH``.

    Raises:
        CliNotFoundError: Nothing executable was found; the message says how to install it.
    """
    if executable is not None:
        source, wanted = "the executable argument", os.fspath(executable)
    elif os.environ.get(ENV_VAR):
        source, wanted = ENV_VAR, os.environ[ENV_VAR]
    else:
        found = shutil.which("arduino-cli")
        if found is None:
            raise CliNotFoundError(
                f"arduino-cli was not found: {ENV_VAR} is not set and there is no arduino-cli "
                f"on PATH. {INSTALL_HINT}"
            )
        return Path(found)
    path = Path(wanted).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return path
    found = shutil.which(wanted) if os.sep not in wanted else None
    if found is not None:
        return Path(found)
    problem = "is not executable" if path.is_file() else "does not exist"
    raise CliNotFoundError(f"arduino-cli {wanted!r} from {source} {problem}. {INSTALL_HINT}")


def command_argv(executable: str | Path, config_file: Path | None, command: list[str]) -> list[str]:
    """Build an argv: program, command words and flags, JSON output, config, positionals last."""
    words = [str(executable), *command, "--format", "json"]
    if config_file is not None:
        words += ["--config-file", str(config_file)]
    return words


def compile_argv(
    executable: str | Path,
    config_file: Path | None,
    sketch: Path,
    fqbn: str,
    build_path: str | os.PathLike[str] | None,
) -> list[str]:
    """Return the ``compile`` argv for ``sketch`` on ``fqbn``."""
    command = ["compile", "--fqbn", fqbn]
    if build_path is not None:
        command += ["--build-path", str(Path(build_path).resolve())]
    return [*command_argv(executable, config_file, command), str(sketch)]


def upload_argv(
    executable: str | Path,
    config_file: Path | None,
    sketch: Path,
    fqbn: str,
    port: str,
    build_path: str | os.PathLike[str] | None,
) -> list[str]:
    """Return the ``upload`` argv for ``sketch`` on ``fqbn`` through ``port``."""
    command = ["upload", "--fqbn", fqbn, "--port", port]
    if build_path is not None:
        command += ["--input-dir", str(Path(build_path).resolve())]
    return [*command_argv(executable, config_file, command), str(sketch)]


def resolve_target(board: str | Board) -> tuple[str, Board | None]:
    """Return (FQBN, tinybench profile or None) for a board, board name or FQBN."""
    if isinstance(board, Board):
        return board.fqbn, board
    if ":" not in board:
        profile = get_board(board)
        return profile.fqbn, profile
    parts = board.split(":")
    if len(parts) < 3 or not all(parts[:3]):
        raise ConfigError(
            f"{board!r} is not an FQBN (vendor:architecture:board, e.g. arduino:avr:uno). "
            f"Pass an FQBN or a board name: {board_names()}."
        )
    base = ":".join(parts[:3])
    return board, next((b for b in list_boards() if b.fqbn == base), None)


def platform_of(fqbn: str) -> str:
    """Return the platform (core) of an FQBN, e.g. ``arduino:avr``."""
    return ":".join(fqbn.split(":")[:2])


def board_names() -> str:
    """Return the names of tinybench's board profiles, comma-separated."""
    return ", ".join(board.name for board in list_boards())


def sketch_folder(sketch_dir: str | os.PathLike[str]) -> Path:
    """Return the sketch folder, resolved; it must hold ``<folder name>.ino``."""
    sketch = Path(sketch_dir).resolve()
    if not (sketch / f"{sketch.name}.ino").is_file():
        raise CompileError(
            f"No sketch at {sketch}: arduino-cli needs a folder holding {sketch.name}.ino (the "
            "folder and the .ino must have the same name). Render one with "
            "tinybench.deploy.sketch.render_sketch()."
        )
    return sketch


def parse_version(version: str) -> tuple[int, int, int] | None:
    """Return ``(major, minor, patch)`` from a version string, or ``None``."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None
