"""The arduino-cli wrapper: install cores and libraries, list boards, compile and upload.

arduino-cli is always run as an argv list (no shell) with ``--format json``, and its JSON is the
only thing read: flash and RAM come from ``builder_result.executable_sections_size``, compiler
diagnostics from the ``file:line:col: error: message`` lines of ``compiler_err``. Each way it
can fail becomes one error class from :mod:`tinybench.errors` whose message says what to do:
:class:`~tinybench.errors.CliNotFoundError` (with how to install it),
:class:`~tinybench.errors.CoreMissingError` (with the ``core install`` command),
:class:`~tinybench.errors.CompileError` (with the diagnostics) and
:class:`~tinybench.errors.PortBusyError` (close the serial monitor or ``LiveSession``).
Reading that output into results and errors is :mod:`tinybench.arduino_output`'s job.

Before compiling a model's sketch, :meth:`ArduinoCli.compile` refuses a model that cannot fit the
board (:func:`tinybench.budget.check_budget`) without calling arduino-cli at all. Where
arduino-cli is not installed, :meth:`ArduinoCli.planned_commands` still shows the commands it
would run.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tinybench.arduino_output import (
    IMU_LIBRARIES,
    CliRun,
    CompileResult,
    DetectedBoard,
    Diagnostic,
    InstalledCore,
    UploadResult,
    compile_error,
    core_missing_error,
    parse_compile_result,
    parse_diagnostics,
    upload_error,
)
from tinybench.boards import Board, board_for_usb_id, get_board, list_boards
from tinybench.budget import check_budget
from tinybench.errors import ArduinoCliError, CliNotFoundError, CompileError, ConfigError

__all__ = [
    "ENV_VAR",
    "MIN_VERSION",
    "ArduinoCli",
    "CompileResult",
    "DetectedBoard",
    "Diagnostic",
    "InstalledCore",
    "UploadResult",
    "find_arduino_cli",
    "parse_diagnostics",
    "required_libraries",
]

log = logging.getLogger(__name__)

ENV_VAR = "TINYBENCH_ARDUINO_CLI"
"""Environment variable naming the arduino-cli executable; it wins over ``PATH``."""

MIN_VERSION = (1, 0, 0)
"""Oldest arduino-cli whose JSON output this wrapper reads (the 1.x schema)."""

_INSTALL_HINT = (
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


class ArduinoCli:
    """One arduino-cli executable, found, version-checked and run as argv lists.

    Args:
        executable: Path or name of the executable. ``None`` searches the
            ``TINYBENCH_ARDUINO_CLI`` environment variable, then ``arduino-cli`` on ``PATH``.
        config_file: An arduino-cli configuration file passed as ``--config-file`` to every
            command (for example, one with a private data directory for a class).
        timeout: Seconds any one command may take. The first compile for a core builds the
            whole core and can take minutes.

    Raises:
        CliNotFoundError: No executable was found; the message says how to install one.
        ArduinoCliError: The executable is not arduino-cli, or older than 1.0.
    """

    def __init__(
        self,
        executable: str | os.PathLike[str] | None = None,
        *,
        config_file: str | os.PathLike[str] | None = None,
        timeout: float = 900.0,
    ) -> None:
        self.executable = find_arduino_cli(executable)
        self.config_file = Path(config_file) if config_file is not None else None
        self.timeout = timeout
        self.version = self._check_version()

    def __repr__(self) -> str:
        return f"ArduinoCli({str(self.executable)!r}, version={self.version!r})"

    @classmethod
    def planned_commands(
        cls,
        sketch_dir: str | os.PathLike[str],
        board: str | Board,
        port: str | None = None,
        *,
        build_path: str | os.PathLike[str] | None = None,
        executable: str = "arduino-cli",
        config_file: str | os.PathLike[str] | None = None,
    ) -> list[list[str]]:
        """Return the commands that would install, compile and upload a sketch.

        This needs no arduino-cli, so a notebook can show them where it is missing. The list
        is: ``core install`` for the board's core, ``lib install`` for each library from
        :func:`required_libraries`, ``compile``, and ``upload`` when ``port`` is given.

        Args:
            sketch_dir: The sketch folder.
            board: Board name, :class:`~tinybench.boards.Board` or FQBN.
            port: Upload port; no upload command without it.
            build_path: Build folder to pass to compile and upload.
            executable: Name shown as the program.
            config_file: An arduino-cli configuration file for every command.
        """
        fqbn, profile = _target(board)
        config = Path(config_file) if config_file is not None else None
        sketch = Path(sketch_dir).resolve()
        commands = [_argv(executable, config, ["core", "install", _platform(fqbn)])]
        if profile is not None:
            commands += [
                _argv(executable, config, ["lib", "install", library])
                for library in required_libraries(profile)
            ]
        commands.append(_compile_argv(executable, config, sketch, fqbn, build_path))
        if port is not None:
            commands.append(_upload_argv(executable, config, sketch, fqbn, port, build_path))
        return commands

    def core_install(self, platform: str | Board) -> None:
        """Install a core, e.g. ``"arduino:mbed_nano"``; a board or board name means its core.

        Raises:
            ArduinoCliError: arduino-cli could not install it; the message says what it said.
        """
        if isinstance(platform, Board) or ":" not in platform:
            platform = get_board(platform).platform
        run = self._command(["core", "install", platform])
        if run.returncode != 0:
            raise ArduinoCliError(
                f"arduino-cli could not install the core {platform!r}: {run.error_text()}\n"
                f"Check the id with `arduino-cli core search {platform.split(':')[0]}`; a "
                "third-party core also needs its index URL (--additional-urls), and the first "
                "install needs the network.",
                run.stdout,
                run.stderr,
            )

    def lib_install(self, name: str, version: str | None = None) -> None:
        """Install a Library Manager library, e.g. ``"Chirale_TensorFLowLite"``.

        Raises:
            ArduinoCliError: arduino-cli could not install it; the message says what it said.
        """
        spec = f"{name}@{version}" if version else name
        run = self._command(["lib", "install", spec])
        if run.returncode != 0:
            raise ArduinoCliError(
                f"arduino-cli could not install the library {spec!r}: {run.error_text()}\n"
                f"Check the exact name with `arduino-cli lib search {name}` (names are case "
                "sensitive); the first install needs the network.",
                run.stdout,
                run.stderr,
            )

    def install_board_support(self, board: str | Board) -> None:
        """Install what tinybench's sketches need for ``board``: its core and libraries."""
        profile = get_board(board)
        self.core_install(profile.platform)
        for library in required_libraries(profile):
            self.lib_install(library)

    def core_list(self) -> list[InstalledCore]:
        """Return the installed cores."""
        data = self._json(["core", "list"])
        cores = []
        for item in data.get("platforms") or []:
            installed = str(item.get("installed_version", ""))
            release = (item.get("releases") or {}).get(installed) or {}
            cores.append(
                InstalledCore(
                    id=str(item.get("id", "")),
                    installed_version=installed,
                    latest_version=item.get("latest_version") or None,
                    name=str(release.get("name") or item.get("name") or ""),
                )
            )
        return cores

    def board_list(self) -> list[DetectedBoard]:
        """Return every port arduino-cli detects, with the board it recognised, if any."""
        data = self._json(["board", "list"])
        found = []
        for detected in data.get("detected_ports") or []:
            port = detected.get("port") or {}
            properties = port.get("properties") or {}
            matches = detected.get("matching_boards") or []
            first = matches[0] if matches else {}
            vid, pid = _hex_id(properties.get("vid")), _hex_id(properties.get("pid"))
            fqbn = first.get("fqbn") or None
            profile = board_for_usb_id(vid, pid) or (_target(fqbn)[1] if fqbn else None)
            found.append(
                DetectedBoard(
                    address=str(port.get("address", "")),
                    protocol=str(port.get("protocol", "")),
                    label=str(port.get("label") or port.get("address", "")),
                    fqbn=fqbn,
                    name=first.get("name") or None,
                    vid=vid,
                    pid=pid,
                    serial_number=properties.get("serialNumber") or None,
                    board=profile.name if profile else None,
                )
            )
        return found

    def compile(
        self,
        sketch_dir: str | os.PathLike[str],
        board: str | Board,
        *,
        build_path: str | os.PathLike[str] | None = None,
        model: Any = None,
        arena_bytes: int | None = None,
    ) -> CompileResult:
        """Compile a sketch and return the flash and RAM it really uses.

        Args:
            sketch_dir: The sketch folder; it must hold ``<folder name>.ino``.
            board: Board name, :class:`~tinybench.boards.Board` or FQBN.
            build_path: Build folder; ``None`` lets arduino-cli pick its own.
            model: The model the sketch carries (``.tflite`` bytes or path, export folder,
                ``Variant`` or ``Profile``). If given, it is checked against the board's flash
                and RAM first, and a model that cannot fit is refused without calling
                arduino-cli.
            arena_bytes: The model's measured arena, if known, for the budget check.

        Raises:
            BudgetError: ``model`` cannot fit the board; nothing was compiled.
            CoreMissingError: The board's core is not installed.
            CompileError: The sketch did not compile; ``diagnostics`` holds the compiler's
                messages.
        """
        sketch = _sketch_folder(sketch_dir)
        fqbn, profile = _target(board)
        if model is not None:
            if profile is None:
                raise ConfigError(
                    f"No tinybench board profile has the FQBN {fqbn!r}, so the model's budget "
                    f"cannot be checked. Pass a board name ({_board_names()}) or leave model out."
                )
            check_budget(model, profile, arena_bytes=arena_bytes)
        run = self._run(_compile_argv(self.executable, self.config_file, sketch, fqbn, build_path))
        data = run.result
        if data is None or "success" not in data:
            raise core_missing_error(run) or CompileError(
                f"arduino-cli could not compile {sketch} for {fqbn}: {run.error_text()}",
                run.stdout,
                run.stderr,
            )
        result = parse_compile_result(data, sketch, fqbn, run.argv)
        if not result.success:
            raise core_missing_error(run) or compile_error(data, result, run)
        log.info("compiled %s", result.summary())
        return result

    def upload(
        self,
        sketch_dir: str | os.PathLike[str],
        board: str | Board,
        port: str,
        *,
        build_path: str | os.PathLike[str] | None = None,
    ) -> UploadResult:
        """Upload a compiled sketch to the board on ``port``.

        Args:
            sketch_dir: The sketch folder that was compiled.
            board: Board name, :class:`~tinybench.boards.Board` or FQBN.
            port: Serial port, e.g. ``/dev/ttyACM0`` or ``COM5``.
            build_path: The build folder given to :meth:`compile`, if any.

        Raises:
            CoreMissingError: The board's core is not installed.
            PortBusyError: Another program (a serial monitor, a ``LiveSession``) holds the port.
            UploadError: Any other upload failure: port missing, nothing compiled yet, tool error.
        """
        sketch = _sketch_folder(sketch_dir)
        fqbn, _ = _target(board)
        argv = _upload_argv(self.executable, self.config_file, sketch, fqbn, port, build_path)
        run = self._run(argv)
        data = run.result
        if run.returncode == 0 and data is not None and "error" not in data:
            new_port = (data.get("updated_upload_port") or {}).get("address") or None
            output = "".join(str(data.get(key) or "") for key in ("stdout", "stderr"))
            return UploadResult(fqbn, port, output, new_port, run.argv)
        raise core_missing_error(run) or upload_error(run, port)

    def _check_version(self) -> str:
        run = self._command(["version"])
        data = run.result or {}
        version = data.get("VersionString")
        if run.returncode != 0 or not isinstance(version, str):
            raise ArduinoCliError(
                f"{self.executable} does not answer `version --format json` like arduino-cli "
                f"(exit {run.returncode}: {run.error_text()[:300]!r}). Point {ENV_VAR} at "
                f"arduino-cli 1.x. {_INSTALL_HINT}",
                run.stdout,
                run.stderr,
            )
        parsed = _parse_version(version)
        if parsed is None:
            if not any(tag in version for tag in ("nightly", "git", "snapshot")):
                raise ArduinoCliError(
                    f"Cannot read the arduino-cli version {version!r} from {self.executable}. "
                    f"Install a released arduino-cli 1.x. {_INSTALL_HINT}"
                )
            log.warning("arduino-cli %s is a development build; assuming 1.x output", version)
        elif parsed < MIN_VERSION:
            raise ArduinoCliError(
                f"arduino-cli {version} at {self.executable} is too old: tinybench needs "
                f"{'.'.join(map(str, MIN_VERSION))} or newer, whose JSON output it reads. "
                f"Upgrade it (`arduino-cli upgrade` does not exist; reinstall). {_INSTALL_HINT}"
            )
        return version

    def _json(self, command: list[str]) -> dict[str, Any]:
        run = self._command(command)
        data = run.result
        if run.returncode != 0 or data is None:
            raise ArduinoCliError(
                f"`arduino-cli {' '.join(command)}` failed: {run.error_text()}",
                run.stdout,
                run.stderr,
            )
        return data

    def _command(self, command: list[str]) -> CliRun:
        return self._run(_argv(self.executable, self.config_file, command))

    def _run(self, argv: list[str]) -> CliRun:
        log.info("running %s", shlex.join(argv))
        env = dict(os.environ, ARDUINO_UPDATER_ENABLE_NOTIFICATION="false")
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except OSError as exc:
            raise CliNotFoundError(
                f"Cannot run arduino-cli at {self.executable}: {exc}. {_INSTALL_HINT}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise ArduinoCliError(
                f"`{shlex.join(argv)}` did not finish within {self.timeout:g} s. A first compile "
                "builds the whole core: retry with ArduinoCli(timeout=...) set higher.",
                _text(exc.stdout),
                _text(exc.stderr),
            ) from exc
        return CliRun(tuple(argv), done.returncode, done.stdout, done.stderr)


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
                f"on PATH. {_INSTALL_HINT}"
            )
        return Path(found)
    path = Path(wanted).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return path
    found = shutil.which(wanted) if os.sep not in wanted else None
    if found is not None:
        return Path(found)
    problem = "is not executable" if path.is_file() else "does not exist"
    raise CliNotFoundError(f"arduino-cli {wanted!r} from {source} {problem}. {_INSTALL_HINT}")


def _argv(executable: str | Path, config_file: Path | None, command: list[str]) -> list[str]:
    """Build an argv: program, command words and flags, JSON output, config, positionals last."""
    words = [str(executable), *command, "--format", "json"]
    if config_file is not None:
        words += ["--config-file", str(config_file)]
    return words


def _compile_argv(
    executable: str | Path,
    config_file: Path | None,
    sketch: Path,
    fqbn: str,
    build_path: str | os.PathLike[str] | None,
) -> list[str]:
    command = ["compile", "--fqbn", fqbn]
    if build_path is not None:
        command += ["--build-path", str(Path(build_path).resolve())]
    return [*_argv(executable, config_file, command), str(sketch)]


def _upload_argv(
    executable: str | Path,
    config_file: Path | None,
    sketch: Path,
    fqbn: str,
    port: str,
    build_path: str | os.PathLike[str] | None,
) -> list[str]:
    command = ["upload", "--fqbn", fqbn, "--port", port]
    if build_path is not None:
        command += ["--input-dir", str(Path(build_path).resolve())]
    return [*_argv(executable, config_file, command), str(sketch)]


def _target(board: str | Board) -> tuple[str, Board | None]:
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
            f"Pass an FQBN or a board name: {_board_names()}."
        )
    base = ":".join(parts[:3])
    return board, next((b for b in list_boards() if b.fqbn == base), None)


def _platform(fqbn: str) -> str:
    return ":".join(fqbn.split(":")[:2])


def _board_names() -> str:
    return ", ".join(board.name for board in list_boards())


def _sketch_folder(sketch_dir: str | os.PathLike[str]) -> Path:
    sketch = Path(sketch_dir).resolve()
    if not (sketch / f"{sketch.name}.ino").is_file():
        raise CompileError(
            f"No sketch at {sketch}: arduino-cli needs a folder holding {sketch.name}.ino (the "
            "folder and the .ino must have the same name). Render one with "
            "tinybench.sketch.render_sketch()."
        )
    return sketch


def _parse_version(version: str) -> tuple[int, int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _hex_id(value: Any) -> int | None:
    try:
        return int(str(value), 16) if value else None
    except ValueError:
        return None


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""
