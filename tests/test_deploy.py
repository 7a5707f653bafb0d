"""deploy(): the budget check comes first, with or without arduino-cli."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.deploy.export import export_model
from tinybench.deploy.sketch import render_sketch
from tinybench.deploy.workflow import deploy
from tinybench.errors import BudgetError


@pytest.fixture
def no_arduino_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TINYBENCH_ARDUINO_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def test_a_model_too_big_is_refused_before_anything_runs(
    reference_models_dir: Path, tmp_path: Path, no_arduino_cli: None
) -> None:
    with pytest.raises(BudgetError) as info:
        deploy(tmp_path / "sketch", "uno", model=reference_models_dir / "vww_96_int8.tflite")
    message = str(info.value)
    assert "uno" in message.lower() and "333,288" in message


def test_without_arduino_cli_the_plan_comes_with_the_budget(
    reference_models_dir: Path, tmp_path: Path, no_arduino_cli: None
) -> None:
    exported = export_model(
        reference_models_dir / "hello_world_int8.tflite", tmp_path / "export", "hello"
    )
    sketch = render_sketch("nano33ble", exported, tmp_path / "sketches")
    result = deploy(sketch, "nano33ble", "sim://nano33ble", model=exported.out_dir)
    assert not result.ran
    assert result.budget is not None and result.budget.fits
    text = result.summary()
    assert "The model fits the board" in text
    assert any("compile" in command for command in result.commands)
    assert "nothing to upload" in text
