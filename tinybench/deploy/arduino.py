"""The arduino-cli wrapper: install cores and libraries, list boards, compile and upload.

arduino-cli is always run as an argv list (no shell) with ``--format json``
(:mod:`~tinybench.deploy.arduino_argv`), each command with its own timeout and its whole
process group killed when it runs over (:mod:`~tinybench.deploy.arduino_process`). Its JSON is
the only thing read, every field checked against the documented schema
(:mod:`~tinybench.deploy.arduino_output`): flash and RAM come from
``builder_result.executable_sections_size``, compiler diagnostics from the
``file:line:col: error: message`` lines of ``compiler_err``. Each way it can fail becomes one
error class from :mod:`tinybench.errors` whose message says what to do
(:mod:`~tinybench.deploy.arduino_errors`), quotes at most an excerpt of the output, and names
the file in ``<temp dir>/tinybench-arduino-cli/`` holding all of it.

Before compiling a model's sketch, :meth:`ArduinoCli.compile` refuses a model that cannot fit the
board (:func:`tinybench.measure.check_budget`) without calling arduino-cli at all. Where
arduino-cli is not installed, :meth:`ArduinoCli.planned_commands` still shows the commands it
would run.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinybench.boards import Board, board_for_usb_id, get_board
from tinybench.deploy.arduino_argv import (
    ENV_VAR,
    INSTALL_HINT,
    board_names,
    command_argv,
    compile_argv,
    find_arduino_cli,
    parse_version,
    platform_of,
    required_libraries,
    resolve_target,
    sketch_folder,
    upload_argv,
)
from tinybench.deploy.arduino_errors import compile_error, core_missing_error, upload_error
from tinybench.deploy.arduino_output import (
    CompileResult,
    DetectedBoard,
    InstalledCore,
    UploadResult,
    parse_compile_result,
    parse_core_list,
)
from tinybench.deploy.arduino_process import (
    DEFAULT_TIMEOUTS,
    LOG_DIR,
    CliRun,
    cli_error,
    command_name,
    command_timeout,
    run_cli,
)
from tinybench.deploy.arduino_schema import JsonFields
from tinybench.errors import ArduinoCliError, CompileError, ConfigError

__all__ = ["MIN_VERSION", "ArduinoCli"]

log = logging.getLogger(__name__)

MIN_VERSION = (1, 0, 0)
"""Oldest arduino-cli whose JSON output this wrapper reads (the 1.x schema)."""


class ArduinoCli:
    """One arduino-cli executable, found, version-checked and run as argv lists.

    Args:
        executable: Path or name of the executable. ``None`` searches the
            ``TINYBENCH_ARDUINO_CLI`` environment variable, then ``arduino-cli`` on ``PATH``.
        config_file: An arduino-cli configuration file passed as ``--config-file`` to every
            command (for example, one with a private data directory for a class).
        timeouts: Seconds per command, overriding
            :data:`~tinybench.deploy.arduino_process.DEFAULT_TIMEOUTS` (``"version"``: 10,
            ``"compile"``: 900, …). The first compile for a core builds the whole core.
        log_dir: Where the full output of a failed command is saved
            (``<temp dir>/tinybench-arduino-cli/`` by default).

    Raises:
        CliNotFoundError: No executable was found; the message says how to install one.
        ArduinoCliError: The executable is not arduino-cli, or older than 1.0.
        ConfigError: ``timeouts`` names an unknown command or a non-positive time.
    """

    def __init__(
        self,
        executable: str | os.PathLike[str] | None = None,
        *,
        config_file: str | os.PathLike[str] | None = None,
        timeouts: Mapping[str, float] | None = None,
        log_dir: str | os.PathLike[str] = LOG_DIR,
    ) -> None:
        self.timeouts = _check_timeouts(timeouts or {})
        self.executable = find_arduino_cli(executable)
        self.config_file = Path(config_file) if config_file is not None else None
        self.log_dir = Path(log_dir)
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
        :func:`~tinybench.deploy.arduino_argv.required_libraries`, ``compile``, and ``upload``
        when ``port`` is given.
        """
        fqbn, profile = resolve_target(board)
        config = Path(config_file) if config_file is not None else None
        sketch = Path(sketch_dir).resolve()
        commands = [command_argv(executable, config, ["core", "install", platform_of(fqbn)])]
        if profile is not None:
            commands += [
                command_argv(executable, config, ["lib", "install", library])
                for library in required_libraries(profile)
            ]
        commands.append(compile_argv(executable, config, sketch, fqbn, build_path))
        if port is not None:
            commands.append(upload_argv(executable, config, sketch, fqbn, port, build_path))
        return commands

    def core_install(self, platform: str | Board) -> None:
        """Install a core, e.g. ``"arduino:mbed_nano"``; a board or board name means its core.

        Raises:
            ArduinoCliError: arduino-cli could not install it; the message says what it said.
        """
        if isinstance(platform, Board) or ":" not in platform:
            platform = get_board(platform).platform
        self._install(
            ["core", "install", platform],
            f"the core {platform!r}",
            f"Check the id with `arduino-cli core search {platform.split(':')[0]}`; a "
            "third-party core also needs its index URL (--additional-urls), and the first "
            "install needs the network.",
        )

    def lib_install(self, name: str, version: str | None = None) -> None:
        """Install a Library Manager library, e.g. ``"Chirale_TensorFLowLite"``.

        Raises:
            ArduinoCliError: arduino-cli could not install it; the message says what it said.
        """
        spec = f"{name}@{version}" if version else name
        self._install(
            ["lib", "install", spec],
            f"the library {spec!r}",
            f"Check the exact name with `arduino-cli lib search {name}` (names are case "
            "sensitive); the first install needs the network.",
        )

    def _install(self, command: list[str], what: str, hint: str) -> None:
        run = self._command(command)
        if run.returncode != 0:
            raise cli_error(
                ArduinoCliError,
                f"arduino-cli could not install {what}: {run.error_text()}\n{hint}",
                run,
            )

    def install_board_support(self, board: str | Board) -> None:
        """Install what tinybench's sketches need for ``board``: its core and libraries."""
        profile = get_board(board)
        self.core_install(profile.platform)
        for library in required_libraries(profile):
            self.lib_install(library)

    def core_list(self) -> list[InstalledCore]:
        """Return the installed cores."""
        return parse_core_list(self._succeeded(["core", "list"]))

    def board_list(self) -> list[DetectedBoard]:
        """Return every port arduino-cli detects, with the board it recognised, if any."""
        run = self._succeeded(["board", "list"])
        fields = JsonFields(run)
        return [
            _detected_board(fields, path, item)
            for path, item in fields.objects(run.result or {}, "detected_ports")
        ]

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
            CompileError: The sketch did not compile (``diagnostics`` holds the compiler's
                messages), or arduino-cli's answer does not match its schema.
        """
        from tinybench.measure import check_budget

        sketch = sketch_folder(sketch_dir)
        fqbn, profile = resolve_target(board)
        if model is not None:
            if profile is None:
                raise ConfigError(
                    f"No tinybench board profile has the FQBN {fqbn!r}, so the model's budget "
                    f"cannot be checked. Pass a board name ({board_names()}) or leave model out."
                )
            check_budget(model, profile, arena_bytes=arena_bytes).require()
        run = self._run(compile_argv(self.executable, self.config_file, sketch, fqbn, build_path))
        if run.result is None or "success" not in run.result:
            raise core_missing_error(run) or cli_error(
                CompileError,
                f"arduino-cli could not compile {sketch} for {fqbn}: {run.error_text()}",
                run,
            )
        result = parse_compile_result(run, sketch, fqbn)
        if not result.success:
            raise core_missing_error(run) or compile_error(result.error, result, run)
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
        sketch = sketch_folder(sketch_dir)
        fqbn, _ = resolve_target(board)
        argv = upload_argv(self.executable, self.config_file, sketch, fqbn, port, build_path)
        run = self._run(argv)
        data = run.result
        if run.returncode != 0 or data is None or "error" in data:
            raise core_missing_error(run) or upload_error(run, port)
        fields = JsonFields(run)
        path, updated = fields.object(data, "updated_upload_port")
        output = "".join(fields.get(data, key, str) or "" for key in ("stdout", "stderr"))
        new_port = fields.get(updated, "address", str, path) or None
        return UploadResult(fqbn, port, output, new_port, run.argv)

    def _check_version(self) -> str:
        run = self._command(["version"])
        version = (run.result or {}).get("VersionString")
        if run.returncode != 0 or not isinstance(version, str):
            raise cli_error(
                ArduinoCliError,
                f"{self.executable} does not answer `version --format json` like arduino-cli "
                f"(exit {run.returncode}: {run.error_text()[:300]!r}). Point {ENV_VAR} at "
                f"arduino-cli 1.x. {INSTALL_HINT}",
                run,
            )
        parsed = parse_version(version)
        if parsed is None:
            if not any(tag in version for tag in ("nightly", "git", "snapshot")):
                raise ArduinoCliError(
                    f"Cannot read the arduino-cli version {version!r} from {self.executable}. "
                    f"Install a released arduino-cli 1.x. {INSTALL_HINT}"
                )
            log.warning("arduino-cli %s is a development build; assuming 1.x output", version)
        elif parsed < MIN_VERSION:
            raise ArduinoCliError(
                f"arduino-cli {version} at {self.executable} is too old: tinybench needs "
                f"{'.'.join(map(str, MIN_VERSION))} or newer, whose JSON output it reads. "
                f"Upgrade it (`arduino-cli upgrade` does not exist; reinstall). {INSTALL_HINT}"
            )
        return version

    def _succeeded(self, command: list[str]) -> CliRun:
        run = self._command(command)
        if run.returncode != 0 or run.result is None:
            raise cli_error(
                ArduinoCliError,
                f"`arduino-cli {' '.join(command)}` failed: {run.error_text()}",
                run,
            )
        return run

    def _command(self, command: list[str]) -> CliRun:
        return self._run(command_argv(self.executable, self.config_file, command))

    def _run(self, argv: list[str]) -> CliRun:
        timeout = command_timeout(command_name(argv), self.timeouts)
        log.info("running %s (timeout %g s)", shlex.join(argv), timeout)
        env = dict(os.environ, ARDUINO_UPDATER_ENABLE_NOTIFICATION="false")
        return run_cli(argv, timeout, env, self.log_dir)


def _check_timeouts(timeouts: Mapping[str, float]) -> dict[str, float]:
    bad = {
        name: seconds
        for name, seconds in timeouts.items()
        if name not in DEFAULT_TIMEOUTS
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not seconds > 0
    }
    if bad:
        raise ConfigError(
            f"Bad arduino-cli timeouts {bad!r}: give positive seconds for any of "
            f"{', '.join(DEFAULT_TIMEOUTS)}, e.g. timeouts={{'compile': 1800}}."
        )
    return dict(timeouts)


def _detected_board(fields: JsonFields, path: str, item: dict[str, Any]) -> DetectedBoard:
    """One ``detected_ports`` entry of ``board list``, matched to a tinybench profile."""
    port_path, port = fields.object(item, "port", path)
    props_path, properties = fields.object(port, "properties", port_path)
    matches = fields.objects(item, "matching_boards", path)
    match_path, first = matches[0] if matches else ("", {})
    address = fields.get(port, "address", str, port_path) or ""
    vid = _hex_id(fields.get(properties, "vid", str, props_path))
    pid = _hex_id(fields.get(properties, "pid", str, props_path))
    fqbn = fields.get(first, "fqbn", str, match_path) or None
    profile = board_for_usb_id(vid, pid) or (resolve_target(fqbn)[1] if fqbn else None)
    return DetectedBoard(
        address=address,
        protocol=fields.get(port, "protocol", str, port_path) or "",
        label=fields.get(port, "label", str, port_path) or address,
        fqbn=fqbn,
        name=fields.get(first, "name", str, match_path) or None,
        vid=vid,
        pid=pid,
        serial_number=fields.get(properties, "serialNumber", str, props_path) or None,
        board=profile.name if profile else None,
    )


def _hex_id(value: str | None) -> int | None:
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None
