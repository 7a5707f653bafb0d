"""Shared fixtures: reference models, the opt-in hardware port, and a quiet TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reference_models import REFERENCE_MODELS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--port",
        default=None,
        help="serial port or URL of a real board for tests marked 'hardware' "
        "(e.g. /dev/ttyACM0); run them with: pytest -m hardware --port /dev/ttyACM0",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--port"):
        return
    skip = pytest.mark.skip(reason="needs a real board: pytest -m hardware --port /dev/ttyACM0")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def hardware_port(request: pytest.FixtureRequest) -> str:
    """The real board's port given with --port."""
    port = request.config.getoption("--port")
    if not port:
        pytest.skip("no --port given")
    return port


@pytest.fixture(scope="session")
def reference_models_dir() -> Path:
    """Folder of the real .tflite models from TFLM and MLPerf Tiny (shared/reference_models)."""
    if not REFERENCE_MODELS.is_dir():
        pytest.skip(f"reference models not found at {REFERENCE_MODELS}")
    return REFERENCE_MODELS


def reference_model_paths() -> list[Path]:
    """Every reference model, for parametrizing tests (empty when the folder is absent)."""
    return sorted(REFERENCE_MODELS.glob("*.tflite")) if REFERENCE_MODELS.is_dir() else []
