"""The arduino-cli wrapper, run against the stand-in executable in tests/fake_arduino_cli/."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinybench.deploy.arduino import ArduinoCli
from tinybench.deploy.arduino_argv import required_libraries
from tinybench.deploy.arduino_output import Diagnostic, parse_diagnostics
from tinybench.errors import (
    ArduinoCliError,
    BudgetError,
    CliNotFoundError,
    CompileError,
    ConfigError,
    CoreMissingError,
    PortBusyError,
    UploadError,
)

FAKE_SOURCE = Path(__file__).resolve().parent / "fake_arduino_cli" / "arduino-cli"


@dataclass
class FakeCli:
    """The stand-in installed in a temporary bin folder, with its state and argv log."""

    path: Path
    state_file: Path
    log_file: Path

    def install(self, cores=None, libraries=None, ports=None) -> None:
        state = {"cores": cores or {}, "libraries": libraries or {}, "ports": ports or []}
        self.state_file.write_text(json.dumps(state))

    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def calls(self) -> list[list[str]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line)["argv"] for line in self.log_file.read_text().splitlines()]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    """Install the stand-in as TINYBENCH_ARDUINO_CLI, run by this test's Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "arduino-cli"
    source = FAKE_SOURCE.read_text().splitlines(keepends=True)
    exe.write_text(f"#!{sys.executable}\n" + "".join(source[1:]))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    temp = tmp_path / "tmp"
    temp.mkdir()
    fake = FakeCli(exe, tmp_path / "state.json", tmp_path / "calls.jsonl")
    fake.install()
    monkeypatch.setenv("TINYBENCH_ARDUINO_CLI", str(exe))
    monkeypatch.setenv("FAKE_ARDUINO_CLI_STATE", str(fake.state_file))
    monkeypatch.setenv("FAKE_ARDUINO_CLI_LOG", str(fake.log_file))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.delenv("FAKE_ARDUINO_CLI_FAIL", raising=False)
    monkeypatch.delenv("FAKE_ARDUINO_CLI_VERSION", raising=False)
    return fake


def make_sketch(
    root: Path,
    name: str = "tinybench_inference",
    *,
    model: bytes = b"",
    arena: int | None = None,
    includes: tuple[str, ...] = (),
) -> Path:
    """A sketch folder shaped like tinybench's: .ino, model_data.cpp, model_settings.h."""
    sketch = root / name
    sketch.mkdir(parents=True)
    head = "".join(f"#include <{header}>\n" for header in includes)
    (sketch / f"{name}.ino").write_text(
        f'{head}#include "model_settings.h"\n\nvoid setup() {{}}\n\nvoid loop() {{\n}}\n'
    )
    rows = [", ".join(f"0x{b:02x}" for b in model[i : i + 12]) for i in range(0, len(model), 12)]
    (sketch / "model_data.cpp").write_text(
        '#include "model_data.h"\n'
        "alignas(16) const unsigned char g_model_data[] = {\n  "
        + ",\n  ".join(rows)
        + f"\n}};\nconst unsigned int g_model_data_len = {len(model)};\n"
    )
    settings = f"constexpr int kTensorArenaSize = {arena};\n" if arena is not None else ""
    (sketch / "model_settings.h").write_text(f"#pragma once\n{settings}")
    return sketch


MBED_READY = {
    "cores": {"arduino:mbed_nano": "4.1.5"},
    "libraries": {"Chirale_TensorFLowLite": "1.0.0"},
}


# --- finding the executable and its version --------------------------------------------------


def test_missing_cli_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYBENCH_ARDUINO_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CliNotFoundError) as err:
        ArduinoCli()
    message = str(err.value)
    assert "install.sh" in message
    assert "brew install arduino-cli" in message
    assert "TINYBENCH_ARDUINO_CLI=" in message
    assert "works without it" in message


def test_env_var_pointing_nowhere_names_the_path(tmp_path, monkeypatch):
    missing = tmp_path / "no" / "arduino-cli"
    monkeypatch.setenv("TINYBENCH_ARDUINO_CLI", str(missing))
    with pytest.raises(CliNotFoundError, match="does not exist") as err:
        ArduinoCli()
    assert str(missing) in str(err.value)
    assert "TINYBENCH_ARDUINO_CLI" in str(err.value)


def test_found_on_path_when_env_var_unset(fake, monkeypatch):
    monkeypatch.delenv("TINYBENCH_ARDUINO_CLI")
    monkeypatch.setenv("PATH", str(fake.path.parent))
    cli = ArduinoCli()
    assert cli.executable == fake.path
    assert cli.version == "1.1.1"
    assert fake.calls() == [["version", "--format", "json"]]


def test_the_environment_check_finds_the_cli_the_same_way(fake, tmp_path, monkeypatch):
    from tinybench.lab.environment import check_environment

    monkeypatch.setenv("PATH", str(tmp_path))  # no arduino-cli on PATH: only the variable
    check = check_environment()["arduino-cli"]
    assert check.found and check.version == "1.1.1"
    missing = tmp_path / "no" / "arduino-cli"
    monkeypatch.setenv("TINYBENCH_ARDUINO_CLI", str(missing))
    check = check_environment()["arduino-cli"]
    assert not check.found and not check.required
    assert "TINYBENCH_ARDUINO_CLI" in check.hint and str(missing) in check.hint


@pytest.mark.parametrize("version", ["1.0.0", "1.1.1", "1.2.0-rc1", "nightly-20250101"])
def test_supported_versions_are_accepted(fake, monkeypatch, version):
    monkeypatch.setenv("FAKE_ARDUINO_CLI_VERSION", version)
    assert ArduinoCli().version == version


@pytest.mark.parametrize("version", ["0.35.3", "0.18.0"])
def test_versions_before_1_0_are_refused(fake, monkeypatch, version):
    monkeypatch.setenv("FAKE_ARDUINO_CLI_VERSION", version)
    with pytest.raises(ArduinoCliError, match="too old") as err:
        ArduinoCli()
    assert version in str(err.value)
    assert "1.0.0 or newer" in str(err.value)


def test_an_executable_that_is_not_arduino_cli_is_refused(tmp_path):
    impostor = tmp_path / "impostor"
    impostor.write_text("#!/bin/sh\necho 'hello, I am something else'\n")
    impostor.chmod(0o755)
    with pytest.raises(ArduinoCliError, match="does not answer"):
        ArduinoCli(impostor)


def test_a_hanging_command_times_out_with_a_clear_error(tmp_path):
    slow = tmp_path / "slow-cli"
    slow.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo \'{"VersionString": "1.1.1"}\'; exit 0; fi\n'
        "exec sleep 30\n"
    )
    slow.chmod(0o755)
    cli = ArduinoCli(slow, timeouts={"board list": 1.0})
    with pytest.raises(ArduinoCliError, match="did not finish within 1 s"):
        cli.board_list()


# --- every call is an argv list with --format json --------------------------------------------


def test_every_call_is_an_argv_list_with_format_json(fake, tmp_path, reference_models_dir):
    fake.install(
        **MBED_READY, ports=[{"address": "/dev/ttyACM0", "vid": "0x2341", "pid": "0x805A"}]
    )
    cli = ArduinoCli(config_file=tmp_path / "arduino-cli.yaml")
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    # A folder name with a space, a quote and a semicolon: a shell would split or run it.
    sketch = make_sketch(tmp_path / "my 'sketches'; rm -rf", "demo", model=model)
    build = tmp_path / "build dir"
    result = cli.compile(sketch, "nano33ble", build_path=build)
    cli.upload(sketch, "nano33ble", "/dev/ttyACM0", build_path=build)
    cli.board_list()
    calls = fake.calls()
    assert len(calls) == 4
    for argv in calls:
        i = argv.index("--format")
        assert argv[i + 1] == "json"
        assert argv[argv.index("--config-file") + 1] == str(tmp_path / "arduino-cli.yaml")
    assert calls[1] == list(result.argv[1:])
    assert calls[1][-1] == str(sketch)
    assert calls[1][calls[1].index("--build-path") + 1] == str(build)
    assert calls[2][:5] == [
        "upload",
        "--fqbn",
        "arduino:mbed_nano:nano33ble",
        "--port",
        "/dev/ttyACM0",
    ]


# --- compile ------------------------------------------------------------------------------------


def sizes_printed(compiler_out: str) -> tuple[int, int, int, int]:
    """The figures of arduino-cli's own two summary lines."""
    flash = re.search(r"Sketch uses (\d+) bytes .* Maximum is (\d+) bytes", compiler_out)
    ram = re.search(r"Global variables use (\d+) bytes .* Maximum is (\d+) bytes", compiler_out)
    assert flash and ram, compiler_out
    return int(flash[1]), int(flash[2]), int(ram[1]), int(ram[2])


def test_compile_reads_flash_and_ram_exactly_as_printed(fake, tmp_path, reference_models_dir):
    fake.install(**MBED_READY)
    cli = ArduinoCli()
    small = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    large = (reference_models_dir / "micro_speech_quantized.tflite").read_bytes()
    a = cli.compile(make_sketch(tmp_path / "a", model=small, arena=1504), "nano33ble")
    b = cli.compile(
        make_sketch(
            tmp_path / "b", model=large, arena=7584, includes=("Chirale_TensorFlowLite.h",)
        ),
        "nano33ble",
    )
    for result in (a, b):
        assert result.success
        assert (result.flash_used, result.flash_max, result.ram_used, result.ram_max) == (
            sizes_printed(result.compiler_out)
        )
        assert result.flash_fraction == result.flash_used / result.flash_max
        assert result.ram_fraction == result.ram_used / result.ram_max
        assert result.fqbn == "arduino:mbed_nano:nano33ble"
        assert result.platform == "arduino:mbed_nano@4.1.5"
    # The model array lands in flash byte for byte; the arena lands in RAM.
    assert b.flash_used - a.flash_used == len(large) - len(small)
    assert b.ram_used - a.ram_used == 7584 - 1504
    assert a.flash_max == 983_040 and a.ram_max == 262_144
    assert b.used_libraries == ("Chirale_TensorFLowLite@1.0.0",)
    assert a.used_libraries == ()
    assert f"{b.flash_used:,} / 983,040 B" in b.summary()


def test_compile_uses_the_build_path_given(fake, tmp_path):
    fake.install(cores={"arduino:avr": "1.8.6"})
    build = tmp_path / "build"
    result = ArduinoCli().compile(make_sketch(tmp_path, "capture"), "uno", build_path=build)
    assert result.build_path == build
    assert (build / "capture.ino.hex").exists()


def test_compile_without_build_path_reports_arduino_cli_own(fake, tmp_path):
    fake.install(cores={"arduino:avr": "1.8.6"})
    result = ArduinoCli().compile(make_sketch(tmp_path, "capture"), "arduino:avr:uno")
    assert result.build_path is not None
    assert result.build_path.name.startswith("arduino-sketch-")
    assert "--build-path" not in result.argv


def test_compile_error_carries_parsed_diagnostics(fake, tmp_path, monkeypatch):
    fake.install(**MBED_READY)
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", "compile-error")
    sketch = make_sketch(tmp_path, "broken")
    ino = sketch / "broken.ino"
    loop_line = ino.read_text().splitlines().index("void loop() {") + 1
    with pytest.raises(CompileError) as err:
        ArduinoCli().compile(sketch, "nano33ble")
    error = Diagnostic(
        str(ino), loop_line, 3, "error", "'undeclared_thing' was not declared in this scope"
    )
    assert error in err.value.diagnostics
    assert any(d.severity == "note" for d in err.value.diagnostics)
    assert f"{ino}:{loop_line}:3: error: 'undeclared_thing'" in str(err.value)
    assert "compiler_err" in err.value.stdout


def test_missing_library_says_which_to_install(fake, tmp_path):
    fake.install(cores={"arduino:mbed_nano": "4.2.1"})
    sketch = make_sketch(tmp_path, includes=("Chirale_TensorFlowLite.h",))
    with pytest.raises(CompileError) as err:
        ArduinoCli().compile(sketch, "nano33ble")
    assert "arduino-cli lib install Chirale_TensorFLowLite" in str(err.value)
    (diagnostic,) = err.value.diagnostics
    assert diagnostic.severity == "fatal error"
    assert diagnostic.line == 1


def test_sketch_too_big_for_the_board_reports_the_sizes(fake, tmp_path, reference_models_dir):
    fake.install(cores={"arduino:avr": "1.8.6"})
    model = (reference_models_dir / "ad01_int8.tflite").read_bytes()
    with pytest.raises(CompileError, match="too big") as err:
        ArduinoCli().compile(make_sketch(tmp_path, model=model), "uno")
    flash_used = sizes_printed(json.loads(err.value.stdout)["compiler_out"])[0]
    assert f"flash {flash_used:,} / 32,256 B" in str(err.value)


def test_core_missing_gives_the_install_command(fake, tmp_path):
    with pytest.raises(CoreMissingError) as err:
        ArduinoCli().compile(make_sketch(tmp_path), "nano33ble")
    assert "`arduino-cli core install arduino:mbed_nano`" in str(err.value)


def test_a_folder_without_its_ino_is_refused_before_calling(fake, tmp_path):
    sketch = make_sketch(tmp_path, "right")
    renamed = sketch.rename(tmp_path / "wrong")
    with pytest.raises(CompileError, match=r"wrong\.ino"):
        ArduinoCli().compile(renamed, "nano33ble")
    assert [argv[0] for argv in fake.calls()] == ["version"]


def test_unknown_boards_and_bad_fqbns_are_config_errors(fake, tmp_path):
    cli = ArduinoCli()
    sketch = make_sketch(tmp_path)
    with pytest.raises(ConfigError, match="nano33ble"):
        cli.compile(sketch, "nano34")
    with pytest.raises(ConfigError, match="not an FQBN"):
        cli.compile(sketch, "arduino:avr")


# --- the budget check before compiling ----------------------------------------------------------


def test_budget_refuses_vww_on_the_uno_without_calling_the_cli(
    fake, tmp_path, reference_models_dir
):
    fake.install(cores={"arduino:avr": "1.8.6"})
    cli = ArduinoCli()
    model = reference_models_dir / "vww_96_int8.tflite"
    size = model.stat().st_size
    with pytest.raises(BudgetError) as err:
        cli.compile(make_sketch(tmp_path, model=model.read_bytes()), "uno", model=model)
    message = str(err.value)
    assert f"{size:,} B" in message
    assert "32,256 B" in message
    assert "cannot run TensorFlow Lite Micro" in message
    assert "nano33ble" in message
    assert [argv[0] for argv in fake.calls()] == ["version"]


def test_budget_refuses_an_arena_too_big_for_ram(fake, tmp_path, reference_models_dir):
    fake.install(**MBED_READY)
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    with pytest.raises(BudgetError, match="RAM") as err:
        ArduinoCli().compile(make_sketch(tmp_path), "nano33ble", model=model, arena_bytes=300_000)
    assert "262,144 B" in str(err.value)
    assert "portenta_h7" in str(err.value)
    assert [argv[0] for argv in fake.calls()] == ["version"]


def test_a_model_that_fits_is_compiled(fake, tmp_path, reference_models_dir):
    fake.install(**MBED_READY)
    model = (reference_models_dir / "hello_world_int8.tflite").read_bytes()
    sketch = make_sketch(tmp_path, model=model, arena=1504)
    result = ArduinoCli().compile(sketch, "nano33ble", model=model, arena_bytes=1504)
    assert result.success
    assert [argv[0] for argv in fake.calls()] == ["version", "compile"]


def test_budget_needs_a_board_profile(fake, tmp_path):
    with pytest.raises(ConfigError, match="board profile"):
        ArduinoCli().compile(make_sketch(tmp_path), "vendor:arch:custom", model=b"\x00" * 10)


# --- upload -------------------------------------------------------------------------------------

PORTS = [
    {"address": "/dev/ttyACM0", "vid": "0x2341", "pid": "0x805A", "serial_number": "ABC123"},
    {"address": "/dev/ttyACM1", "vid": "0x2341", "pid": "0x0043", "serial_number": "7563"},
]


def compiled(fake: FakeCli, tmp_path: Path, board: str) -> tuple[ArduinoCli, Path, Path]:
    fake.install(
        cores={"arduino:mbed_nano": "4.2.1", "arduino:avr": "1.8.6"},
        libraries={"Chirale_TensorFLowLite": "2.0.0"},
        ports=PORTS,
    )
    cli = ArduinoCli()
    sketch, build = make_sketch(tmp_path), tmp_path / "build"
    cli.compile(sketch, board, build_path=build)
    return cli, sketch, build


def test_upload_after_compile(fake, tmp_path):
    cli, sketch, build = compiled(fake, tmp_path, "nano33ble")
    result = cli.upload(sketch, "nano33ble", "/dev/ttyACM0", build_path=build)
    assert result.port == "/dev/ttyACM0"
    assert result.fqbn == "arduino:mbed_nano:nano33ble"
    assert "/dev/ttyACM0" in result.output
    assert result.argv[-1] == str(sketch)


@pytest.mark.parametrize(
    ("board", "port"), [("nano33ble", "/dev/ttyACM0"), ("uno", "/dev/ttyACM1")]
)
def test_port_busy_names_the_port_and_what_to_close(fake, tmp_path, monkeypatch, board, port):
    cli, sketch, build = compiled(fake, tmp_path, board)
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", "port-busy")
    with pytest.raises(PortBusyError) as err:
        cli.upload(sketch, board, port, build_path=build)
    message = str(err.value)
    assert repr(port) in message
    assert "serial monitor" in message
    assert "LiveSession" in message


def test_upload_to_a_port_with_no_board(fake, tmp_path):
    cli, sketch, build = compiled(fake, tmp_path, "uno")
    with pytest.raises(UploadError, match="No board on port '/dev/ttyUSB9'") as err:
        cli.upload(sketch, "uno", "/dev/ttyUSB9", build_path=build)
    assert not isinstance(err.value, PortBusyError)


def test_upload_before_compiling(fake, tmp_path):
    fake.install(cores={"arduino:avr": "1.8.6"}, ports=PORTS)
    with pytest.raises(UploadError, match="Compile the sketch first"):
        ArduinoCli().upload(make_sketch(tmp_path), "uno", "/dev/ttyACM1", build_path=tmp_path / "b")


def test_upload_with_core_missing(fake, tmp_path):
    fake.install(ports=PORTS)
    with pytest.raises(CoreMissingError, match="arduino-cli core install arduino:avr"):
        ArduinoCli().upload(make_sketch(tmp_path), "uno", "/dev/ttyACM1")


# --- cores, libraries, boards -------------------------------------------------------------------


def test_core_install_then_core_list(fake):
    cli = ArduinoCli()
    assert cli.core_list() == []
    cli.core_install("nano33ble")
    cli.core_install("arduino:avr@1.8.5")
    cores = {core.id: core for core in cli.core_list()}
    assert set(cores) == {"arduino:mbed_nano", "arduino:avr"}
    assert cores["arduino:avr"].installed_version == "1.8.5"
    assert cores["arduino:avr"].latest_version == "1.8.6"
    assert cores["arduino:mbed_nano"].name == "Arduino Mbed OS Nano Boards"
    assert fake.state()["cores"] == {"arduino:mbed_nano": "4.2.1", "arduino:avr": "1.8.5"}


def test_core_install_of_an_unknown_core(fake):
    with pytest.raises(ArduinoCliError, match="arduino-cli core search acme") as err:
        ArduinoCli().core_install("acme:rocket")
    assert not isinstance(err.value, CoreMissingError)
    assert "acme:rocket" in str(err.value)


def test_lib_install_with_and_without_version(fake):
    cli = ArduinoCli()
    cli.lib_install("Chirale_TensorFLowLite", "1.0.0")
    cli.lib_install("Arduino_LSM9DS1")
    assert fake.state()["libraries"] == {
        "Chirale_TensorFLowLite": "1.0.0",
        "Arduino_LSM9DS1": "1.1.1",
    }
    with pytest.raises(ArduinoCliError, match="lib search chirale_tensorflowlite"):
        cli.lib_install("chirale_tensorflowlite")


def test_install_board_support_runs_the_planned_commands(fake, tmp_path):
    cli = ArduinoCli()
    cli.install_board_support("nano33ble_rev2")
    planned = ArduinoCli.planned_commands(tmp_path, "nano33ble_rev2")
    assert fake.calls()[1:] == [argv[1:] for argv in planned[:-1]]
    assert fake.state()["libraries"].keys() == {"Chirale_TensorFLowLite", "Arduino_BMI270_BMM150"}


def test_board_list_parses_detected_ports(fake):
    unknown = {"address": "/dev/ttyUSB0", "vid": "0x0403", "pid": "0x6001", "serial_number": "FT1"}
    fake.install(ports=[*PORTS, unknown, {"address": "/dev/ttyS0"}])
    boards = ArduinoCli().board_list()
    assert [b.address for b in boards] == [
        "/dev/ttyACM0",
        "/dev/ttyACM1",
        "/dev/ttyUSB0",
        "/dev/ttyS0",
    ]
    nano, uno, ftdi, plain = boards
    assert (nano.fqbn, nano.name, nano.board) == (
        "arduino:mbed_nano:nano33ble",
        "Arduino Nano 33 BLE",
        "nano33ble",
    )
    assert (nano.vid, nano.pid, nano.serial_number) == (0x2341, 0x805A, "ABC123")
    assert (uno.fqbn, uno.board) == ("arduino:avr:uno", "uno")
    assert (ftdi.fqbn, ftdi.name, ftdi.board, ftdi.vid) == (None, None, None, 0x0403)
    assert (plain.vid, plain.serial_number, plain.protocol) == (None, None, "serial")


# --- planned commands, no executable needed ----------------------------------------------------


def test_planned_commands_work_without_arduino_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYBENCH_ARDUINO_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    sketch = tmp_path / "tinybench_inference"
    commands = ArduinoCli.planned_commands(sketch, "nano33ble", "/dev/ttyACM0", build_path="b")
    fmt = ["--format", "json"]
    assert commands == [
        ["arduino-cli", "core", "install", "arduino:mbed_nano", *fmt],
        ["arduino-cli", "lib", "install", "Chirale_TensorFLowLite", *fmt],
        ["arduino-cli", "lib", "install", "Arduino_LSM9DS1", *fmt],
        ["arduino-cli", "compile", "--fqbn", "arduino:mbed_nano:nano33ble", "--build-path",
         str(Path("b").resolve()), *fmt, str(sketch)],
        ["arduino-cli", "upload", "--fqbn", "arduino:mbed_nano:nano33ble", "--port", "/dev/ttyACM0",
         "--input-dir", str(Path("b").resolve()), *fmt, str(sketch)],
    ]  # fmt: skip


def test_planned_commands_for_an_fqbn_and_a_board_without_libraries(tmp_path):
    uno = ArduinoCli.planned_commands(tmp_path / "capture", "uno")
    assert [argv[1:3] for argv in uno] == [["core", "install"], ["compile", "--fqbn"]]
    custom = ArduinoCli.planned_commands(tmp_path / "s", "esp32:esp32:esp32s3:PSRAM=opi", "COM5")
    assert custom[0][3] == "esp32:esp32"
    assert custom[-1][custom[-1].index("--port") + 1] == "COM5"


def test_planned_compile_is_the_command_really_run(fake, tmp_path):
    fake.install(cores={"arduino:avr": "1.8.6"})
    sketch = make_sketch(tmp_path, "capture")
    result = ArduinoCli().compile(sketch, "uno", build_path=tmp_path / "build")
    planned = ArduinoCli.planned_commands(
        sketch, "uno", build_path=tmp_path / "build", executable=str(fake.path)
    )
    assert list(result.argv) == planned[-1]


def test_required_libraries_follow_the_board():
    assert required_libraries("nano33ble") == ["Chirale_TensorFLowLite", "Arduino_LSM9DS1"]
    assert required_libraries("nano_rp2040_connect") == [
        "Chirale_TensorFLowLite",
        "Arduino_LSM6DSOX",
    ]
    assert required_libraries("uno") == []


# --- diagnostics ----------------------------------------------------------------------------------


def test_parse_diagnostics_handles_real_gcc_output():
    text = (
        "In file included from /home/u/sk/sk.ino:2:0:\n"
        "/home/u/libraries/Audio/src/DAC.h:21:16: error: expected ')' before '*' token\n"
        "  DACClass(Dacc *_dac, uint32_t _dacId, IRQn_Type _isrId) :\n"
        "                ^\n"
        "C:\\Users\\g\\Test\\Test.ino:1:10: fatal error: Dummy.h: No such file or directory\n"
        "/home/u/sk/sk.ino: In function 'void loop()':\n"
        "/home/u/sk/sk.ino:7:3: warning: unused variable 'x' [-Wunused-variable]\n"
        "/home/u/sk/model.cpp:12: error: old-style message without a column\n"
        "compilation terminated.\n"
    )
    dac, test_ino = "/home/u/libraries/Audio/src/DAC.h", "C:\\Users\\g\\Test\\Test.ino"
    assert parse_diagnostics(text) == (
        Diagnostic(dac, 21, 16, "error", "expected ')' before '*' token"),
        Diagnostic(test_ino, 1, 10, "fatal error", "Dummy.h: No such file or directory"),
        Diagnostic("/home/u/sk/sk.ino", 7, 3, "warning", "unused variable 'x' [-Wunused-variable]"),
        Diagnostic("/home/u/sk/model.cpp", 12, None, "error", "old-style message without a column"),
    )
    assert str(parse_diagnostics(text)[3]) == (
        "/home/u/sk/model.cpp:12: error: old-style message without a column"
    )


def test_fake_refuses_text_output(fake):
    """The stand-in only answers --format json, so the log test above cannot pass by accident."""
    import subprocess

    done = subprocess.run(
        [str(fake.path), "board", "list"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert done.returncode == 2
    assert "--format json" in done.stderr


# --- surviving any output: schema, size, timeouts, process groups ---------------------------


@pytest.mark.parametrize(
    ("fault", "field", "shown"),
    [
        ("bad-builder-result", "builder_result", "'oops' (str), expected an object"),
        ("library-without-name", "builder_result.used_libraries[0].name", "missing"),
    ],
)
def test_a_compile_answer_off_schema_names_the_field(
    fake, tmp_path, monkeypatch, fault, field, shown
):
    fake.install(**MBED_READY)
    cli = ArduinoCli(log_dir=tmp_path / "logs")
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", fault)
    with pytest.raises(CompileError) as err:
        cli.compile(make_sketch(tmp_path), "nano33ble")
    message = str(err.value)
    assert f"{field} is {shown}" in message
    assert str(err.value.log_path) in message and err.value.log_path.is_file()
    assert "builder_result" in err.value.log_path.read_text()


@pytest.mark.parametrize(
    ("fault", "call", "field"),
    [
        ("bad-board-list", "board_list", "detected_ports[0].port is 'oops' (str)"),
        ("bad-core-list", "core_list", "platforms[0].id is 5 (int), expected a string"),
    ],
)
def test_other_answers_off_schema_name_the_field(fake, tmp_path, monkeypatch, fault, call, field):
    cli = ArduinoCli(log_dir=tmp_path / "logs")
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", fault)
    with pytest.raises(ArduinoCliError, match=re.escape(field)) as err:
        getattr(cli, call)()
    assert not isinstance(err.value, CompileError)


def test_huge_output_is_cut_in_the_error_and_kept_whole_in_the_log(fake, tmp_path, monkeypatch):
    from tinybench.deploy.arduino_process import EXCERPT_CHARS

    fake.install(**MBED_READY)
    cli = ArduinoCli(log_dir=tmp_path / "logs")
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", "huge-output")
    with pytest.raises(CompileError) as err:
        cli.compile(make_sketch(tmp_path), "nano33ble")
    error = err.value
    assert len(str(error)) < 4 * EXCERPT_CHARS, len(str(error))
    assert len(error.stdout) < 2 * EXCERPT_CHARS and "characters left out" in error.stdout
    assert len(error.diagnostics) == 300_000  # every diagnostic is still there
    assert "… and 299990 more" in str(error)
    log = error.log_path
    assert log.parent == tmp_path / "logs" and str(log) in str(error)
    assert log.stat().st_size > 30_000_000


def test_timeouts_are_per_command():
    from tinybench.deploy.arduino_process import DEFAULT_TIMEOUTS

    assert DEFAULT_TIMEOUTS["version"] <= 30  # seconds: it answers at once
    assert DEFAULT_TIMEOUTS["compile"] >= 300  # minutes: a first compile builds the core
    with pytest.raises(ConfigError, match="Bad arduino-cli timeouts"):
        ArduinoCli(timeouts={"compiel": 5})
    with pytest.raises(ConfigError, match="Bad arduino-cli timeouts"):
        ArduinoCli(timeouts={"compile": 0})


def test_a_hanging_version_times_out_in_seconds(fake, monkeypatch):
    import time

    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", "hang-version")
    start = time.monotonic()
    with pytest.raises(ArduinoCliError, match=r"version --format json.*did not finish within 1 s"):
        ArduinoCli(timeouts={"version": 1})
    assert time.monotonic() - start < 10


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_timeout_kills_the_whole_process_group(fake, tmp_path, monkeypatch):
    import time

    fake.install(**MBED_READY)
    cli = ArduinoCli(timeouts={"compile": 2}, log_dir=tmp_path / "logs")
    pid_file = tmp_path / "child.pid"
    monkeypatch.setenv("FAKE_ARDUINO_CLI_FAIL", "hang-compile")
    monkeypatch.setenv("FAKE_ARDUINO_CLI_CHILD_PID", str(pid_file))
    with pytest.raises(ArduinoCliError, match="did not finish within 2 s") as err:
        cli.compile(make_sketch(tmp_path), "nano33ble")
    assert "every process it started were killed" in str(err.value)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"the compile's child process {child} outlived the timeout"


# ---- an op the Arduino library's TFLM lacks, as the real cross-compiler reports it ----


@pytest.fixture(scope="module")
def reduce_min_export(tmp_path_factory):
    """A real model with REDUCE_MIN, exported (TFLM on the host runs it)."""
    from model_factories import reduce_min_classifier

    from tinybench.deploy.export import export_model

    out = tmp_path_factory.mktemp("reduce-min") / "export"
    return export_model(reduce_min_classifier(), out, "lowest", labels=["a", "b", "c"], window=8)


def _compile_op_resolver(exported, library, tmp_path: Path) -> subprocess.CompletedProcess:
    """Compile what the sketch compiles of op_resolver.h with arm-none-eabi-g++, syntax only."""
    from tinybench.emulate.firmware import compile_flags
    from tinybench.emulate.toolchain import find_arm_toolchain

    unit = tmp_path / "registers.cpp"
    unit.write_text(
        '#include "op_resolver.h"\n'
        "TfLiteStatus Register(ModelOpResolver& resolver) { return RegisterModelOps(resolver); }\n"
    )
    flags = compile_flags(library, "c++", (exported.out_dir,))
    argv = [str(find_arm_toolchain().gxx), *flags, "-fsyntax-only", str(unit)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_an_op_the_arduino_library_lacks_is_named_when_the_sketch_fails_to_compile(
    fake, tmp_path, monkeypatch, reduce_min_export
):
    from firmware_support import library_or_skip, toolchain_or_skip

    from tinybench.deploy.arduino_output import IMU_LIBRARIES
    from tinybench.deploy.sketch import render_sketch
    from tinybench.measure.tflm_ops import ARDUINO_LIBRARY

    toolchain_or_skip()
    compiled = _compile_op_resolver(reduce_min_export, library_or_skip(), tmp_path)
    assert compiled.returncode != 0
    assert "has no member named 'AddReduceMin'" in compiled.stderr  # the real compiler's words
    (tmp_path / "compiler_err.txt").write_text(compiled.stderr)
    monkeypatch.setenv("FAKE_ARDUINO_CLI_COMPILER_ERR", str(tmp_path / "compiler_err.txt"))
    libraries = {name: "1.0.0" for name in IMU_LIBRARIES.values()}  # the sketch names each
    libraries["Chirale_TensorFLowLite"] = "2.0.0"
    fake.install(cores={"arduino:mbed_nano": "4.2.1"}, libraries=libraries)
    sketch = render_sketch("nano33ble", reduce_min_export, tmp_path / "sketches")
    with pytest.raises(CompileError) as err:
        ArduinoCli().compile(sketch, "nano33ble")
    message = str(err.value)
    assert "REDUCE_MIN (AddReduceMin)" in message and ARDUINO_LIBRARY in message
    assert "Re-train without that op" in message
    assert any("AddReduceMin" in d.message for d in err.value.diagnostics)


def test_the_emulated_build_names_the_op_before_compiling_anything(reduce_min_export, tmp_path):
    from firmware_support import library_or_skip, toolchain_or_skip

    from tinybench.emulate.firmware import build_firmware
    from tinybench.errors import UnsupportedOpError

    toolchain_or_skip()
    with pytest.raises(UnsupportedOpError, match=r"REDUCE_MIN \(AddReduceMin\)") as err:
        build_firmware(reduce_min_export.out_dir, tmp_path / "build",
                       cache_dir=tmp_path / "cache", library=library_or_skip())  # fmt: skip
    assert err.value.ops == ("REDUCE_MIN",)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_the_export_summary_warns_that_the_sketch_will_not_compile(reduce_min_export):
    from tinybench.deploy.workflow import export_summary

    summary = export_summary(reduce_min_export, "nano33ble").summary()
    assert "WILL NOT COMPILE for a board" in summary and "REDUCE_MIN" in summary
    fine = export_summary(reduce_min_export, "nano33ble", measure_target=False)
    assert "WILL NOT COMPILE" in fine.summary()
