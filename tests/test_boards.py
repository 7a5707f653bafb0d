"""The board table: boards.json read into frozen Board objects, unknown keys refused."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from tinybench import boards
from tinybench.boards import Board, board_for_usb_id, get_board, list_boards
from tinybench.errors import ConfigError
from tinybench.sweep import cache

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinybench"


def _rows() -> list[dict]:
    return json.loads((PACKAGE / boards.BOARDS_FILE).read_text(encoding="utf-8"))


def test_every_row_becomes_a_frozen_board_in_file_order() -> None:
    names = [row["name"] for row in _rows()]
    assert [board.name for board in list_boards()] == names
    assert len(set(names)) == len(names)
    nano = get_board("nano33ble")
    with pytest.raises(dataclasses.FrozenInstanceError):
        nano.ram_bytes = 1  # type: ignore[misc]


def test_left_out_keys_take_the_defaults_and_usb_ids_are_hex_pairs() -> None:
    nano = get_board("nano33ble")
    assert nano.flash_bytes == 983_040 and nano.ram_bytes == 262_144
    assert nano.sensors[:2] == ("imu", "microphone")
    assert nano.usb_ids[0] == (0x2341, 0x805A)
    assert nano.tflm and nano.tflm_library == "Chirale_TensorFLowLite"
    assert nano.cycles_per_mac_int8 == 2.0 and nano.runtime_ram_bytes == 48_000
    uno = get_board("uno")
    assert not uno.tflm and uno.tflm_library is None and uno.ram_bytes == 2_048
    assert board_for_usb_id(0x2A03, 0x0043) is uno
    assert board_for_usb_id(0x2341, 0x805A) is nano  # rev1 comes first
    assert board_for_usb_id(0x0000, 0x0000) is None


def test_an_unknown_key_is_refused_with_the_valid_keys() -> None:
    row = dict(_rows()[0], ram_kb=256)
    with pytest.raises(ConfigError, match=r"'nano33ble'.*unknown keys \['ram_kb'\].*flash_bytes"):
        boards._board_from_row(row)


def test_a_missing_required_key_is_refused() -> None:
    row = {k: v for k, v in _rows()[0].items() if k != "fqbn"}
    with pytest.raises(ConfigError, match=r"lacks \['fqbn'\]"):
        boards._board_from_row(row)


def test_the_table_ships_with_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert boards.BOARDS_FILE in pyproject["tool"]["setuptools"]["package-data"]["tinybench"]


def test_editing_the_board_table_invalidates_the_sweep_cache(tmp_path: Path) -> None:
    copy = tmp_path / "tinybench"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.package_fingerprint(copy)
    table = copy / boards.BOARDS_FILE
    table.write_text(table.read_text(encoding="utf-8").replace("262144", "262143", 1))
    assert cache.package_fingerprint(copy) != before


def test_unknown_board_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown board 'nano34'.*nano33ble.*boards.json"):
        get_board("nano34")
    assert get_board(get_board("uno")) == Board(**dataclasses.asdict(get_board("uno")))
