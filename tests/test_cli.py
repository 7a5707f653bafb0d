"""The command line: each subcommand is a thin layer over a library function."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tinybench.cli import build_parser, main
from tinybench.wire.link import open_link


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinybench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_help_lists_every_command_and_does_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from tinybench.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for command in ("ports", "boards", "simulate", "capture", "profile", "export", "demo"):
        assert command in out.stdout
    assert out.stdout.strip().endswith("False")


def test_boards_lists_flash_ram_and_tflm(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "nano33ble" in out and "arduino:mbed_nano:nano33ble" in out
    uno = next(line for line in out.splitlines() if line.startswith("uno"))
    assert "no" in uno.split()


def test_ports_suggests_the_virtual_board_when_no_board_is_seen(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [])
    assert main(["ports"]) == 0
    assert "sim://nano33ble?seed=1" in capsys.readouterr().out


def test_capture_writes_a_session_from_the_virtual_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "capture",
            "--port",
            "sim://nano33ble?seed=3&speed=0",
            "--label",
            "wave",
            "--samples",
            "150",
            "--sessions",
            "2",
            "--dataset",
            "cli",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert status == 0
    sessions = sorted((tmp_path / "cli" / "wave").glob("*.json"))
    assert [p.stem for p in sessions] == ["wave-0001", "wave-0002"]
    meta = json.loads(sessions[0].read_text())
    assert meta["samples"] == 150 and meta["virtual"] is True
    assert "150 samples, 0 lost" in capsys.readouterr().out


def test_capture_refuses_a_label_that_escapes_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "capture",
            "--port",
            "sim://nano33ble?speed=0",
            "--label",
            "../x",
            "--samples",
            "10",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "'../x'" in err
    assert not any(tmp_path.rglob("*.csv"))


def test_capture_from_a_missing_port_names_it_and_suggests_sim(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["capture", "--port", "/dev/tinybench-missing", "--label", "wave"])
    assert status == 2
    err = capsys.readouterr().err
    assert "/dev/tinybench-missing" in err and "sim://" in err


def test_profile_and_export_a_reference_model(reference_models_dir: Path, tmp_path: Path) -> None:
    model = reference_models_dir / "hello_world_int8.tflite"
    profiled = run_cli("profile", str(model), "--board", "nano33ble")
    assert profiled.returncode == 0, profiled.stderr
    assert "2,704" in profiled.stdout
    exported = run_cli("export", str(model), "--out", str(tmp_path / "hw"), "--name", "hello")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "hw" / "model_data.cpp").is_file()
    assert "model_settings.h" in exported.stdout


def test_profile_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("not a flatbuffer")
    result = run_cli("profile", str(bogus))
    assert result.returncode == 2
    assert "notes.tflite" in result.stderr


def test_simulate_serves_a_pty_that_speaks_the_protocol() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinybench", "simulate", "--seed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/"), path
        with open_link(path) as link:
            hello = link.request_hello(timeout=5)
        assert hello.virtual and hello.board == "nano33ble"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        assert sub.format_help().strip(), name
